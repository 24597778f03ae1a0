"""The ledger table's keys and index names that a domain other than the ledger reads (the farmers
domain's credit statement reads a farmer's salt and their records by farmer reference). The ledger
(functions/ledger/items.py, which re-exports these) stays the only writer; the spelling of each key
lives here once, so the reader and the writer cannot drift apart.

- ``SALT#<farmer_id>/S``: the farmer's salt (never leaves the table): their ledger reference is
  ``agri_common.ledger_crypto.farmer_ref(salt, farmer_id)``. After the farmer's erasure the item
  holds ``erased_at`` and no salt (the farmers domain's eraser shreds it): the ledger then issues the
  farmer's later credits under a salt it never stores and without their account (decision 0022);
- ``REC#<record_id>/R``: a record; ``body`` is its canonical JSON, ``kind`` its kind, and the sparse
  index attributes of :data:`INDEXES` (``g_seq``, the seq zero-padded, is every index's sort key).
"""

from __future__ import annotations

from typing import TypedDict


class ItemKey(TypedDict):
    pk: str
    sk: str


INDEXES = {  # logical list -> (GSI name, partition attribute); every index sorts by SEQ_ATTR
    "chain": ("by_chain", "g_chain"),
    "project_id": ("by_project", "g_project"),
    "farmer_ref": ("by_farmer", "g_farmer"),
    "owner_user_id": ("by_owner", "g_owner"),
    "fpo_id": ("by_fpo", "g_fpo"),
}
FILTER_ATTRS = {"project_id": "g_project", "farmer_ref": "g_farmer"}
SEQ_ATTR = "g_seq"
KIND_ATTR = "kind"  # a record item's kind (``issuance``, ``transfer``, ...), beside its body
BODY_ATTR = "body"  # a record item's sealed record, canonical JSON

SALT_PREFIX = "SALT#"
SALT_ATTR = "salt"
SALT_ERASED_ATTR = "erased_at"  # on a salt item whose salt was shredded at the farmer's erasure


def salt_key(farmer_id: str) -> ItemKey:
    return ItemKey(pk=f"{SALT_PREFIX}{farmer_id}", sk="S")
