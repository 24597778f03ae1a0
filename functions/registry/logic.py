"""The public registry view's reads, over the ledger's own read paths (functions/ledger: the store's
interface, :func:`~functions.ledger.queries.block_holding` and
:meth:`~functions.ledger.queries.LedgerReader.anchored_proof`), never its own copy of them.

Rules (docs/decisions/0016-integrator-api-keys-and-registry.md):

- Every credit block and every project the ledger holds is public; what is shown of it is only the
  fields of models.py, copied by name out of the ledger's records (no record body is passed on).
- An unknown serial, a range that is not within one block, and a project with no ledger record
  answer 404 ``not_found`` with the same message each: the registry is a view of the ledger, so a
  project registered in the projects domain that has issued nothing is not in it yet.
- A project is read in constant work (docs/decisions/0021-project-summary-kept-by-the-ledger.md):
  its totals from the summary the ledger keeps in the transaction of every record, its anchors a
  page at a time by skipping from batch to batch; a project whose records predate its summary is
  counted from its records until it is backfilled (``totals_from: records``), never shown partial.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from agri_common.ledger_crypto import HASH_SCHEME, batch_key
from agri_common.platform.errors import NotFoundError
from agri_common.platform.observability import logger, metrics
from agri_common.platform.pagination import invalid_token, page_position, page_token
from functions.ledger import models as lm
from functions.ledger.items import SEQ_DIGITS
from functions.ledger.ports import LedgerStore
from functions.ledger.queries import LedgerReader, block_holding
from functions.ledger.summary import summarize
from functions.registry import models as m

PAGE = 200  # records read per Query of a project's records (the fallback walk of a project not backfilled)
ANCHORS_PAGE = 20  # anchors per page of GET /registry/projects/{project_id} unless ``limit`` says
UNANCHORED_COUNT_BOUND = 200  # records counted at most to tell how many wait for anchoring (one walk page)
Source = Literal["summary", "records"]


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

    def _totals(self, project_id: str) -> tuple[lm.ProjectSummary, int, Source] | None:
        """The project's summary, its first record's seq and where the totals come from, in constant
        work: the summary the ledger keeps (one item) and, unless it is backfilled, the project's
        first record (one index item) to tell whether the summary counted every record. A project
        whose records predate its summary (not backfilled yet) is counted from its records, flagged
        ``records``; it is never shown with the zeros or the part its summary holds. None: no record."""
        summary = self.store.project_summary(project_id)
        if summary is not None and summary.complete:
            return summary, summary.first_seq, "summary"
        first = self.store.project_seq_from(project_id, 1)
        if summary is not None and (first is None or first >= summary.first_seq):
            return summary, min(first or summary.first_seq, summary.first_seq), "summary"
        if first is None:
            return None
        logger.warning("registry: project not backfilled, counting its records", extra={"project_id": project_id})
        metrics.add_metric(name="RegistrySummaryFallbacks", unit="Count", value=1)
        walked = summarize(project_id, self._project_records(project_id), complete=False)
        if walked is None:
            return None
        return walked, walked.first_seq, "records"

    def project(
        self, project_id: str, *, limit: int = ANCHORS_PAGE, next_token: str | None = None
    ) -> m.RegistryProject:
        """The project's totals in constant work, and one page of ``limit`` anchors from where
        ``next_token`` says (its position ``{"seq": n}``: the seq of the next page's first record)."""
        scope = {"project_id": project_id}
        start = _start_seq(page_position(next_token, scope))
        found = self._totals(project_id)
        if found is None:
            raise NotFoundError("project not found")
        summary, first_seq, source = found
        anchors, next_seq = self._anchors(
            project_id, first_seq if start is None else max(start, first_seq), limit, first_seq
        )
        unanchored, more = self._unanchored(project_id, summary)
        vintages = [
            m.VintageTotals(
                vintage=v,
                issued=t.issued,
                retired=t.retired,
                cancelled=t.cancelled,
                outstanding=t.issued - t.retired - t.cancelled,
            )
            for v, t in sorted(summary.vintages.items())
        ]
        issued = sum(v.issued for v in vintages)
        retired = sum(v.retired for v in vintages)
        cancelled = sum(v.cancelled for v in vintages)
        return m.RegistryProject(
            project_id=project_id,
            methodology_profiles=sorted(summary.methodology_profiles),
            runs=sorted(summary.runs),
            issued=issued,
            retired=retired,
            cancelled=cancelled,
            outstanding=issued - retired - cancelled,
            vintages=vintages,
            records=summary.records,
            unanchored_records=unanchored,
            unanchored_more=more,
            totals_from=source,
            anchors=anchors,
            next_token=page_token(scope, {"seq": next_seq} if next_seq is not None else None),
        )

    def _anchors(self, project_id: str, seq: int, limit: int, first_seq: int) -> tuple[list[m.Anchor], int | None]:
        """Up to ``limit`` anchors of the batches holding the project's records from ``seq`` on
        (``first_seq``: the seq of its first record, known without a read), and
        the seq the next page starts at (None: no further anchor). Skips from batch to batch: the
        batch holding the project's next record (one item), then the project's first record after
        that batch (one index item), so a page costs two small reads per anchor, whatever the number
        of records. Batches are anchored in seq order (one pending at a time, anchoring.py): the
        first one not anchored ends the list."""
        anchors: list[m.Anchor] = []
        next_seq: int | None = seq if seq == first_seq else self.store.project_seq_from(project_id, seq)
        while next_seq is not None:
            batch = self.store.find_batch(next_seq)
            if batch is None or batch.status != "anchored":
                return anchors, None
            if len(anchors) == limit:
                break
            anchors.append(_anchor(batch=batch))
            next_seq = self.store.project_seq_from(project_id, batch.to_seq + 1)
        return anchors, next_seq

    def _unanchored(self, project_id: str, summary: lm.ProjectSummary) -> tuple[int, bool]:
        """How many of the project's records wait for anchoring: those at or after the first seq not
        anchored (the pending batch's first, or the batch cursor's next), none if the project's last
        record is before it (one item read); otherwise counted on the project's index up to
        :data:`UNANCHORED_COUNT_BOUND` (then ``more`` is True)."""
        next_seq, pending = self.store.batch_cursor()
        boundary = int(pending) if pending is not None else next_seq
        if summary.last_seq < boundary:
            return 0, False
        count = self.store.count_project_records_from(project_id, boundary, UNANCHORED_COUNT_BOUND + 1)
        return min(count, UNANCHORED_COUNT_BOUND), count > UNANCHORED_COUNT_BOUND


def _start_seq(position: Any) -> int | None:
    """The seq a page token's position names (the token was checked to be of this project's query):
    a seq of the chain, or 400 ``invalid_next_token``. An edited seq can only start the public list
    of this project's anchors elsewhere."""
    if position is None:
        return None
    if not isinstance(position, dict) or set(position) != {"seq"}:
        raise invalid_token()
    seq = position["seq"]
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq < 10**SEQ_DIGITS:
        raise invalid_token()
    return seq
