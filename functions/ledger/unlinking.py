"""Unlinking an erased farmer's account from the ledger (docs/decisions/0022): the writer's
``unlink_owner`` command, asked by the farmers domain's erasure (its ``ledger_owner`` eraser).

A record keeps the account id of the farmer who owns its credits beside its sealed body (the
``g_owner`` attribute, the key of the ``by_owner`` index: a farmer's own records), and a credit block
in ``owner_user_id`` (who may move it). Neither is hashed, so taking them off changes no body, hash,
Merkle root or anchor: every record still verifies. After it the farmer's records and blocks are
reached by their FPO (``g_fpo``), their project and their ``farmer_ref`` as before, and only an admin
can move the credits (as for a farmer without an account).

How: the records of the owner index, one page at a time; for each page first the blocks descended
from its issuance records that still name the account (a block gets its owner only at issuance, and
keeps it or loses it when moved), then the page's records, each group in transactions of at most
100 writes. Blocks before records: the records are how the blocks are found, so a crash in between
leaves nothing unreachable, and a retry does the rest (each write is conditional and idempotent).
"""

from __future__ import annotations

from functions.ledger import models as m
from functions.ledger.ports import LedgerStore

UNLINK_PAGE = 100  # records per page of the owner index
MAX_UNLINK_RECORDS = 2_000  # per call (a Lambda invocation); beyond it the answer says done: false


class OwnerUnlinker:
    def __init__(self, store: LedgerStore):
        self.store = store

    def unlink(self, cmd: m.UnlinkOwnerCommand) -> m.WriterResult:
        user_id = cmd.user_id
        records = blocks = 0
        cursor = None
        while True:
            page, cursor = self.store.query_records("owner_user_id", user_id, UNLINK_PAGE, cursor, {})
            owned = self._blocks(page, user_id)
            self.store.unlink_owner(user_id, [r.record_id for r in page], owned)
            records, blocks = records + len(page), blocks + len(owned)
            if not cursor or records >= MAX_UNLINK_RECORDS:
                break
        return m.WriterResult(
            command="unlink_owner", unlinked=m.Unlinked(records=records, blocks=blocks, done=not cursor)
        )

    def _blocks(self, page: list[m.StoredRecord], user_id: str) -> list[m.CreditBlock]:
        """The blocks still naming ``user_id`` within the serial ranges of ``page``'s issuance records
        (every block splits off inside its issued range, so it starts within it)."""
        found: dict[tuple[str, int], m.CreditBlock] = {}
        for record in page:
            body = record.body
            if body.get("kind") != "issuance":
                continue
            for block in self.store.blocks_between(str(body["series"]), int(body["start"]), int(body["end"])):
                if block.owner_user_id == user_id:
                    found[(block.series, block.start)] = block
        return list(found.values())
