"""Appending to the hash chain: drafts of records are numbered, linked to the head and sealed, then
stored in chunks, each chunk one transaction that moves the head from the seq it was chained on.
Shared by issuance and moves; the only code that seals records.

Why it is fork-proof: every record id derives from its cause, and the store writes a record only if
its id is new, in the same transaction that moves the chain head from the expected seq. Two
concurrent writers cannot both extend the same head (one transaction fails and re-reads the head).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agri_common.ledger_crypto import seal
from agri_common.platform.errors import DependencyError
from functions.ledger import models as m
from functions.ledger.ports import MAX_TRANSACTION_ITEMS, Append, HeadMoved, LedgerStore

APPEND_CHUNK = 30  # records per DynamoDB transaction at most (an issuance's need 2-3 items each, + head: <= 91)
HEAD_RETRIES = 8


@dataclass
class Draft:
    """A record before it is chained: its body without ``seq``/``prev_hash``/``record_hash``, the
    access metadata stored beside it, and the writes that must commit with it."""

    body: dict[str, Any]
    owner_user_id: str | None
    fpo_id: str | None
    blocks: list[tuple[m.CreditBlock, int | None]]  # (block, expected version or None = new)
    salt: tuple[str, str] | None = None  # (farmer id, new salt): the farmer's first record
    request_sha256: str | None = None  # moves: what the client token stands for
    answer: dict[str, Any] | None = None  # moves: the answer a retry gets
    absent: list[str] = field(default_factory=list)  # moves: ids of the same token's other kinds


def transaction_items(draft: Draft) -> int:
    """The items one draft's record takes in its append's transaction (dal.py): the record, its
    farmer's new salt, the ids that must be absent and its credit blocks."""
    return 1 + (draft.salt is not None) + len(draft.absent) + len(draft.blocks)


def chunks(drafts: Sequence[Draft]) -> list[Sequence[Draft]]:
    """``drafts`` in consecutive chunks of at most :data:`APPEND_CHUNK` records whose transaction
    (the head, each record's items, and one summary update per project touched) stays within
    :data:`~functions.ledger.ports.MAX_TRANSACTION_ITEMS`."""
    out: list[Sequence[Draft]] = []
    start, used, projects = 0, 1, set[str]()  # 1: the head
    for i, draft in enumerate(drafts):
        project = str(draft.body["project_id"])
        cost = transaction_items(draft) + (project not in projects)
        if i > start and (i - start >= APPEND_CHUNK or used + cost > MAX_TRANSACTION_ITEMS):
            out.append(drafts[start:i])
            start, used, projects = i, 1, set()
            cost = transaction_items(draft) + 1
        if 1 + cost > MAX_TRANSACTION_ITEMS:
            raise ValueError(f"a record needing {cost} transaction items cannot be appended")
        used += cost
        projects.add(project)
    if start < len(drafts):
        out.append(drafts[start:])
    return out


def append_drafts(store: LedgerStore, drafts: Sequence[Draft]) -> int:
    """Chain and store ``drafts`` in order, in the transactions of :func:`chunks`; re-chain a chunk
    on :class:`HeadMoved` (at most :data:`HEAD_RETRIES` times). :class:`RecordExists` and
    :class:`BlockChanged` go to the caller. Returns how many records were stored."""
    for chunk in chunks(drafts):
        for _attempt in range(HEAD_RETRIES):
            seq, prev = store.head()
            entries = []
            for draft in chunk:
                seq += 1
                sealed = seal({**draft.body, "seq": seq, "prev_hash": prev})
                prev = sealed["record_hash"]
                record = m.StoredRecord(
                    body=sealed,
                    owner_user_id=draft.owner_user_id,
                    fpo_id=draft.fpo_id,
                    request_sha256=draft.request_sha256,
                    answer=draft.answer,
                )
                entries.append(Append(record, draft.blocks, draft.salt, absent=draft.absent))
            try:
                store.append(entries, expected_seq=seq - len(entries))
                break
            except HeadMoved:
                continue
        else:
            raise DependencyError("The ledger head kept moving; try again")
    return len(drafts)
