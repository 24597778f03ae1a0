"""The ledger's read side, scoped by role: records, credit blocks, Merkle proofs (what the outside
verifier checks) and, for admins, the anchoring batches. Reads only: moves are asked for in
moves.py, issuances in issuance.py.

Who sees what: farmers their own records and credits, FPO managers their FPO's, auditors the
records of the projects they are assigned to (never by FPO), admins everything. What a caller may
not see answers exactly like what does not exist (404 ``not_found``).
"""

from __future__ import annotations

import json
from typing import Any

from agri_common.ledger_crypto import HASH_SCHEME, batch_key, merkle_proof, merkle_root, record_hash, sha256_hex
from agri_common.platform.errors import ConflictError, DependencyError, UnprocessableError
from agri_common.platform.principal import Owned, Principal, can_access, ensure_can_access, list_scope
from functions.ledger import models as m
from functions.ledger.ports import ArtifactStore, LedgerStore


def owned(item: m.StoredRecord | m.CreditBlock) -> Owned:
    """A record or credit block for the policy: farmers by owner, FPO managers by FPO, auditors by
    project (the records of the projects they are assigned to, never by FPO)."""
    return Owned(owner_user_id=item.owner_user_id, fpo_id=item.fpo_id, project_id=item.project_id)


def visible_record(store: LedgerStore, principal: Principal, record_id: str) -> m.StoredRecord:
    """The record, or 404 if it does not exist or the caller may not see it."""
    record = store.get_record(record_id)
    ensure_can_access(principal, owned(record) if record else None, what="record")
    assert record is not None  # ensure_can_access refused a missing one
    return record


def block_holding(store: LedgerStore, serial: str, field: str) -> m.CreditBlock | None:
    """The credit block holding the range ``serial`` names (or a unit serial), None if no one block
    holds it; a malformed serial is a 422 naming ``field``. No access rule: callers apply theirs
    (:func:`visible_block` for account holders, the public registry view its own fields)."""
    series_id, start, end = m.serial_field(serial, field)
    block = store.find_block(series_id, start)
    if block is not None and block.end < end:
        return None  # the range asked for is not one block
    return block


def visible_block(store: LedgerStore, principal: Principal, serial: str, field: str) -> m.CreditBlock:
    """The credit block that is exactly the range ``serial`` names (or holds a unit serial), or 404
    if there is none or the caller may not see it; a malformed serial is a 422 naming ``field``."""
    block = block_holding(store, serial, field)
    ensure_can_access(principal, owned(block) if block else None, what="credit")
    assert block is not None  # ensure_can_access refused a missing one
    return block


class LedgerReader:
    """The API's reads of the ledger."""

    def __init__(self, store: LedgerStore, artifacts: ArtifactStore):
        self.store = store
        self.artifacts = artifacts

    def _out(self, record: m.StoredRecord) -> m.RecordOut:
        batch = self.store.find_batch(record.seq)
        return m.RecordOut(
            record=record.body,
            batch_id=batch.batch_id if batch else None,
            anchored=bool(batch and batch.status == "anchored"),
        )

    def get_record(self, principal: Principal, record_id: str) -> m.RecordOut:
        return self._out(visible_record(self.store, principal, record_id))

    def list_records(
        self,
        principal: Principal,
        *,
        project_id: str | None,
        farmer_ref: str | None,
        serial: str | None,
        limit: int,
        cursor: Any,
    ) -> tuple[list[m.RecordOut], Any]:
        scope = list_scope(principal)
        if serial is not None:
            series_id, start, end = m.serial_field(serial, "query.serial")
            block = self.store.find_block(series_id, start)
            if block is None or block.end < end:  # the range asked for is not within one block
                return [], None
            found = self.store.get_records(block.record_ids)
            records = [found[i] for i in block.record_ids if i in found]
            return [self._out(r) for r in records if can_access(principal, owned(r))], None
        filters = {k: v for k, v in (("project_id", project_id), ("farmer_ref", farmer_ref)) if v}
        index: str
        value: str | None
        if scope.auditor_id is not None:  # the records of their projects, one project at a time
            if project_id is None and len(scope.project_ids) > 1:
                raise UnprocessableError(
                    "Your assignments cover several projects: give project_id",
                    details=[
                        {
                            "field": "query.project_id",
                            "issue": f"one of {', '.join(sorted(scope.project_ids))}",
                            "type": "missing",
                        }
                    ],
                )
            project_id = project_id or next(iter(scope.project_ids), None)
            if project_id is None or project_id not in scope.project_ids:
                return [], None
            filters.pop("project_id", None)
            index, value = "project_id", project_id
        elif scope.everything:
            if project_id:
                index, value = "project_id", filters.pop("project_id")
            elif farmer_ref:
                index, value = "farmer_ref", filters.pop("farmer_ref")
            else:
                index, value = "chain", "LEDGER"
        elif scope.owner_user_id:
            index, value = "owner_user_id", scope.owner_user_id
        else:
            index, value = "fpo_id", scope.fpo_id
        if value is None:  # a scope without its key (list_scope never gives one): nothing to list
            return [], None
        records, nxt = self.store.query_records(index, value, limit, cursor, filters)
        return [self._out(r) for r in records], nxt

    def get_credit(self, principal: Principal, serial: str) -> m.CreditOut:
        return m.CreditOut.of(visible_block(self.store, principal, serial, "path.serial"))

    def proof(self, principal: Principal, record_id: str) -> m.ProofOut:
        return self.anchored_proof(visible_record(self.store, principal, record_id))

    def anchored_proof(self, record: m.StoredRecord, batch: m.Batch | None = None) -> m.ProofOut:
        """The Merkle proof of a record the caller may see (or whose body the caller will not show):
        its hash, its path to the batch root, checked against the batch artifact, and the anchor.
        ``batch``: the record's batch when the caller already found it. 409 ``not_anchored`` while
        its batch is pending."""
        batch = batch if batch is not None else self.store.find_batch(record.seq)
        if batch is None or batch.status != "anchored":
            raise ConflictError("The record is not anchored yet; its batch is pending", code="not_anchored")
        if batch.artifact_key is None or batch.artifact_sha256 is None or batch.root is None:
            raise DependencyError("The anchored batch has no artifact", code="integrity_error")
        raw = self.artifacts.get(batch.artifact_key)
        if sha256_hex(raw) != batch.artifact_sha256:
            raise DependencyError("The batch artifact does not match its recorded hash", code="integrity_error")
        hashes = [r["record_hash"] for r in json.loads(raw)["records"]]
        index = record.seq - batch.from_seq
        if hashes[index] != record.body["record_hash"] or merkle_root(hashes) != batch.root:
            raise DependencyError("The stored record does not match its anchored batch", code="integrity_error")
        anchor = m.AnchorOut(
            batch_id=batch.batch_id,
            anchor_id=batch.key_id,
            batch_key=batch_key(batch.key_id).hex(),
            root=batch.root,
            conflicts=batch.conflicts,
            record_count=batch.record_count,
            tx_hash=batch.tx_hash or "",
            block_number=batch.block_number or 0,
            contract_address=batch.contract_address or "",
            chain_id=batch.chain_id or 0,
            artifact_key=batch.artifact_key,
            artifact_sha256=batch.artifact_sha256,
        )
        return m.ProofOut(
            scheme=HASH_SCHEME,
            record=record.body,
            record_hash=record_hash(record.body),
            leaf_index=index,
            proof=merkle_proof(hashes, index),
            anchor=anchor,
        )

    def list_batches(
        self, *, limit: int, cursor: Any, status: str | None, conflicts_only: bool
    ) -> tuple[list[m.Batch], Any]:
        """Batches newest first (admin): anchoring state, and the foreign roots met on chain."""
        return self.store.list_batches(limit, cursor, status=status, conflicts_only=conflicts_only)
