"""One-off migration for docs/decisions/0007 (FPO membership needs the FPO's consent).

    FARM_TABLE=<table> python -m functions.farmers.migrate_membership FPO-1 FPO-2 ...

Per FPO: profiles registered by a manager or an admin become ``approved`` members (as they were);
profiles a farmer registered themselves become ``pending`` requests for the FPO's manager, and
leave the FPO's totals in the same transaction. Idempotent (profiles with a status are skipped).
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    from agri_common.single_table import DynamoTableStore
    from functions.farmers.context import FarmContext
    from functions.farmers.membership import migrate_fpo

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
