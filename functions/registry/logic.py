"""The public registry view's reads, over the ledger's own read paths (functions/ledger: the store's
interface, :func:`~functions.ledger.queries.block_holding` and
:meth:`~functions.ledger.queries.LedgerReader.anchored_proof`), never its own copy of them.

Rules (docs/decisions/0016-integrator-api-keys-and-registry.md):

- Every credit block and every project the ledger holds is public; what is shown of it is only the
  fields of models.py, copied by name out of the ledger's records (no record body is passed on).
- An unknown serial, a range that is not within one block, and a project with no ledger record
  answer 404 ``not_found`` with the same message each: the registry is a view of the ledger, so a
  project registered in the projects domain that has issued nothing is not in it yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from agri_common.ledger_crypto import HASH_SCHEME, batch_key
from agri_common.platform.errors import NotFoundError
from functions.ledger import models as lm
from functions.ledger.ports import LedgerStore
from functions.ledger.queries import LedgerReader, block_holding
from functions.registry import models as m

PAGE = 200  # records read per Query of a project's records


def _text(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    return None if value is None else str(value)


def _anchor(anchor: lm.AnchorOut | None = None, batch: lm.Batch | None = None) -> m.Anchor:
    if anchor is not None:
        return m.Anchor(
            anchor_id=anchor.anchor_id,
            batch_key=anchor.batch_key,
            root=anchor.root,
            record_count=anchor.record_count,
            tx_hash=anchor.tx_hash,
            block_number=anchor.block_number,
            chain_id=anchor.chain_id,
            contract_address=anchor.contract_address,
        )
    assert batch is not None
    return m.Anchor(
        anchor_id=batch.key_id,
        batch_key=batch_key(batch.key_id).hex(),
        root=batch.root or "",
        record_count=batch.record_count,
        tx_hash=batch.tx_hash or "",
        block_number=batch.block_number or 0,
        chain_id=batch.chain_id or 0,
        contract_address=batch.contract_address or "",
    )


class RegistryReader:
    def __init__(self, store: LedgerStore, reader: LedgerReader):
        self.store = store
        self.reader = reader

    # ---- GET /registry/credits/{serial} ------------------------------------------------------------
    def credit(self, serial: str) -> m.RegistryCredit:
        block = block_holding(self.store, serial, "path.serial")
        if block is None:
            raise NotFoundError("credit not found")
        found = self.store.get_records(block.record_ids)
        records = [found[i] for i in block.record_ids if i in found]
        issuance: Mapping[str, Any] = next((r.body for r in records if r.body.get("kind") == "issuance"), {})
        retirement = next((r.body for r in reversed(records) if r.body.get("kind") == "retirement"), None)
        cancellation = next((r.body for r in reversed(records) if r.body.get("kind") == "cancellation"), None)
        return m.RegistryCredit(
            serial=block.serial,
            series=block.series,
            start=block.start,
            end=block.end,
            quantity=block.quantity,
            status=block.status,
            vintage=block.vintage,
            project_id=block.project_id,
            run_id=_text(issuance, "run_id"),
            methodology_profile=_text(issuance, "methodology_profile"),
            gwp=_text(issuance, "gwp"),
            issued_at=_text(issuance, "recorded_at"),
            retirement=(
                m.Retirement(
                    beneficiary_ref=str(retirement["beneficiary_ref"]),
                    reason=str(retirement["reason"]),
                    retired_at=_text(retirement, "recorded_at"),
                )
                if retirement is not None and block.status == "retired"
                else None
            ),
            cancellation=(
                m.Cancellation(reason=str(cancellation["reason"]), cancelled_at=_text(cancellation, "recorded_at"))
                if cancellation is not None and block.status == "cancelled"
                else None
            ),
            proof=m.ProofSummary(scheme=HASH_SCHEME, records=[self._record_proof(r) for r in records]),
        )

    def _record_proof(self, record: lm.StoredRecord) -> m.RecordProof:
        body = record.body
        out = m.RecordProof(
            record_id=record.record_id,
            kind=str(body.get("kind")),
            seq=record.seq,
            record_hash=str(body["record_hash"]),
            recorded_at=_text(body, "recorded_at"),
            anchored=False,
        )
        batch = self.store.find_batch(record.seq)
        if batch is None or batch.status != "anchored":
            return out
        proof = self.reader.anchored_proof(record, batch)  # checks the artifact and the root
        return out.model_copy(
            update={
                "anchored": True,
                "record_hash": proof.record_hash,
                "leaf_index": proof.leaf_index,
                "merkle_proof": proof.proof,
                "anchor": _anchor(proof.anchor),
            }
        )

    # ---- GET /registry/projects/{project_id} ----------------------------------------------------------
    def _project_records(self, project_id: str) -> Iterable[lm.StoredRecord]:
        cursor = None
        while True:
            page, cursor = self.store.query_records("project_id", project_id, PAGE, cursor, {})
            yield from page
            if not cursor:
                return

    def project(self, project_id: str) -> m.RegistryProject:
        totals: dict[int, dict[str, int]] = {}
        profiles: set[str] = set()
        runs: set[str] = set()
        seqs: list[int] = []
        for record in self._project_records(project_id):
            body = record.body
            seqs.append(record.seq)
            kind = body.get("kind")
            column = {"issuance": "issued", "retirement": "retired", "cancellation": "cancelled"}.get(str(kind))
            if column is None:  # a transfer moves credits between holders: no total changes
                continue
            vintage = totals.setdefault(int(body["vintage"]), {"issued": 0, "retired": 0, "cancelled": 0})
            vintage[column] += int(body["quantity"])
            if kind == "issuance":
                profiles.add(str(body["methodology_profile"]))
                runs.add(str(body["series"]))
        if not seqs:
            raise NotFoundError("project not found")
        anchors, unanchored = self._anchors(seqs)
        vintages = [
            m.VintageTotals(
                vintage=v,
                issued=t["issued"],
                retired=t["retired"],
                cancelled=t["cancelled"],
                outstanding=t["issued"] - t["retired"] - t["cancelled"],
            )
            for v, t in sorted(totals.items())
        ]
        issued = sum(v.issued for v in vintages)
        retired = sum(v.retired for v in vintages)
        cancelled = sum(v.cancelled for v in vintages)
        return m.RegistryProject(
            project_id=project_id,
            methodology_profiles=sorted(profiles),
            runs=sorted(runs),
            issued=issued,
            retired=retired,
            cancelled=cancelled,
            outstanding=issued - retired - cancelled,
            vintages=vintages,
            records=len(seqs),
            unanchored_records=unanchored,
            anchors=anchors,
        )

    def _anchors(self, seqs: list[int]) -> tuple[list[m.Anchor], int]:
        """The anchors of the batches holding these records (one lookup per batch, not per record),
        and how many of the records are not anchored yet."""
        anchors: list[m.Anchor] = []
        unanchored = 0
        batch: lm.Batch | None = None
        for seq in sorted(seqs):
            if batch is None or not batch.from_seq <= seq <= batch.to_seq:
                batch = self.store.find_batch(seq)
                if batch is not None and batch.status == "anchored":
                    anchors.append(_anchor(batch=batch))
            if batch is None or batch.status != "anchored":
                unanchored += 1
        return anchors, unanchored
