"""One-off migration for docs/decisions/0007 (FPO membership needs the FPO's consent).

    FARM_TABLE=<table> python -m functions.farmers.migrate_membership FPO-1 FPO-2 ...

Per FPO: profiles registered by a manager or an admin become ``approved`` members (as they were);
profiles a farmer registered themselves become ``pending`` requests for the FPO's manager, and
leave the FPO's totals in the same transaction. Idempotent (profiles with a status are skipped).
"""

from __future__ import annotations

import os
import sys

from agri_common.farm_table import keys
from agri_common.farm_table.records import FarmerRecord, MembershipStatus
from agri_common.platform.principal import Role
from agri_common.single_table import Txn, Update, commit
from functions.farmers.context import FarmContext, not_found
from functions.farmers.membership_gate import contribution


def migrate_fpo(ctx: FarmContext, fpo_id: str) -> dict[str, int]:
    """Give every profile of ``fpo_id`` registered before the consent rule an explicit status:
    registered by the FPO's manager or an admin (or imported) -> ``approved``, as they were;
    self-registered by a farmer -> ``pending`` (a membership request the manager decides), its
    contribution taken out of the FPO's totals in the same transaction. Idempotent: profiles with
    a status are left alone. Run it in a quiet window: a write to a self-registered farmer's data
    landing between its reads and its transaction could be left counted (the transaction expects
    the farmer's version and counters, which catches plots and new seasons, not season edits or
    evidence)."""
    done = {"approved": 0, "pending": 0}
    start = None
    while True:
        items, start = ctx.store.query(keys.fpo_farmers_index(fpo_id), index=True, limit=100, start=start)
        for item in items:
            if item.get("kind") != "farmer" or item.get("membership"):
                continue
            farmer: FarmerRecord = FarmerRecord.from_item(item)
            self_registered = farmer.created_by.startswith(f"{Role.FARMER.value}:")
            status: MembershipStatus = "pending" if self_registered else "approved"

            def build(farmer: FarmerRecord = farmer, status: MembershipStatus = status) -> tuple[Txn, MembershipStatus]:
                fresh = FarmerRecord.from_item(ctx.store.get(farmer.key()))
                if fresh is None:  # profiles are never deleted: a missing one is the 404 of a farmer not seen
                    raise not_found("farmer")
                updated = fresh.model_copy(update={"membership": status})
                txn = Txn().add(
                    Update(
                        fresh.key(),
                        set={"membership": status, **updated.index()},
                        expect={
                            "membership": 0,
                            "version": fresh.version,  # 0: absent
                            "plot_count": fresh.plot_count,
                            "season_count": fresh.season_count,
                        },
                    ),
                    race=True,
                )
                if status == "pending":
                    for op in contribution(ctx, fresh, sign=-1):
                        txn.add(op)
                return txn, status

            done[commit(ctx.store, build)] += 1
        if not start:
            return done


def main(argv: list[str]) -> int:
    from agri_common.single_table import DynamoTableStore

    if not argv or "FARM_TABLE" not in os.environ:
        print(__doc__, file=sys.stderr)
        return 2

    def no_key() -> bytes:  # the migration never reads Aadhaar numbers
        raise RuntimeError("not needed")

    ctx = FarmContext(store=DynamoTableStore(os.environ["FARM_TABLE"]), aadhaar_key=no_key)
    for fpo_id in argv:
        print(fpo_id, migrate_fpo(ctx, fpo_id))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
