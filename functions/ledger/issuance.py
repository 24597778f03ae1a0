"""Issuing a run's credits: the split of whole credits over the run's farmers, the run's claim (what
it credits, so a re-approval with other figures conflicts), one issuance record and credit block
per farmer, and the approved run given by reference (an object in the audit bucket, read in pages).

Idempotent: an issuance record's id is ``<series>:F<farmer index>``, so a retry (or a page re-run
in any order) finds its records and appends only what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, localcontext
from typing import Any

from agri_common.ledger_crypto import HASH_SCHEME, canonical_json, farmer_ref, new_salt, sha256_hex
from agri_common.notify import NotificationEvent, notify_all
from agri_common.platform.errors import ConflictError, NotFoundError, UnprocessableError
from agri_common.platform.observability import logger
from functions.ledger import models as m
from functions.ledger.appending import Draft, append_drafts
from functions.ledger.ports import ArtifactStore, LedgerStore, RecordExists, WriterGateway

ISSUE_PAGE = 2_000  # farmers per writer invocation for a run given by reference (~70 transactions)


def split_credits(total: int, weights: Sequence[Decimal]) -> list[int]:
    """Largest-remainder split of ``total`` whole credits by ``weights``: sums exactly to ``total``.

    Ties on the remainder go to the earlier farmer (input order), so the split is deterministic.
    """
    weight_sum = sum(weights, Decimal(0))
    if total == 0 or weight_sum == 0:
        return [0] * len(weights)
    with localcontext() as ctx:
        ctx.prec = 60
        quotas = [Decimal(total) * w / weight_sum for w in weights]
        base = [int(q.to_integral_value(rounding=ROUND_FLOOR)) for q in quotas]
        order = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - base[i]), i))
    for i in order[: total - sum(base)]:
        base[i] += 1
    return base


def claim_hash(run: m.ApprovedRun) -> str:
    """What a run's claim covers: what it credits, not who approved it when, so a run whose issuance
    failed midway, restarted and approved again with the same figures completes the series (the
    records keep the approval they were written under); different figures conflict. Tonnes are
    written as ``m.dec`` writes them in records ("10", never "10.000000"), so equal figures hash equal
    whatever their notation."""
    return sha256_hex(canonical_json(_decimals_as_record_text(run.model_dump(exclude={"approved_by", "approved_at"}))))


def _decimals_as_record_text(value: Any) -> Any:
    """Every Decimal of a model dump as the text records hold (``m.dec``). Not a DynamoDB converter
    (``agri_common.dynamo_values.from_dynamo`` makes numbers of stored Decimals): this makes the
    hashed text of tonnes, which must not depend on a float's notation."""
    if isinstance(value, Decimal):
        return m.dec(value)
    if isinstance(value, dict):
        return {k: _decimals_as_record_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals_as_record_text(v) for v in value]
    return value


def legacy_claim_hash(run: m.ApprovedRun) -> str:
    """The claim of series issued before claim_hash (the whole run as JSON, approval included)."""
    return sha256_hex(canonical_json(run.model_dump(mode="json")))


@dataclass(frozen=True)
class Split:
    """A run's credits split over all its farmers, computed once per run object: the pages of a
    paged issuance (a warm container keeps the loaded run) reuse it instead of redoing the whole
    split, its hash and its serial offsets on every page."""

    run: m.ApprovedRun
    input_hash: str
    total: int
    counts: list[int]
    starts: list[int]  # first serial number of each farmer's block
    weight_sum: Decimal

    @classmethod
    def of(cls, run: m.ApprovedRun) -> Split:
        total = int(run.creditable_net_t.to_integral_value(rounding=ROUND_FLOOR))
        weights = [f.net_t for f in run.farmers]
        counts = split_credits(total, weights)
        starts, cursor = [], 1
        for count in counts:
            starts.append(cursor)
            cursor += count
        return cls(run, claim_hash(run), total, counts, starts, sum(weights, Decimal(0)))


class Issuer:
    """The writer's issuance: records and credit blocks of an approved run, inline or by reference."""

    def __init__(self, store: LedgerStore, artifacts: ArtifactStore, *, now: Callable[[], str]):
        self.store = store
        self.artifacts = artifacts
        self.now = now
        self._loaded: tuple[tuple[str, str], m.ApprovedRun] | None = None
        self._split: Split | None = None

    def load_run(self, ref: m.RunRef) -> m.ApprovedRun:
        """The approved run stored at ``ref.key``, only if its bytes hash to ``ref.sha256``. The
        last one is kept: the pages of one issuance reuse it in a warm container."""
        if self._loaded is not None and self._loaded[0] == (ref.key, ref.sha256):
            return self._loaded[1]
        try:
            data = self.artifacts.get(ref.key)
        except Exception as exc:
            if getattr(exc, "response", {}).get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                raise NotFoundError(f"approved run {ref.key} not found", code="run_not_found") from exc
            raise
        if sha256_hex(data) != ref.sha256:
            raise ConflictError(f"approved run {ref.key} does not match its SHA-256", code="run_ref_mismatch")
        from pydantic import ValidationError

        from agri_common.platform.errors import validation_details

        try:
            run = m.ApprovedRun.model_validate_json(data)
        except ValidationError as exc:
            raise UnprocessableError(
                "The stored approved run is invalid", details=validation_details([dict(e) for e in exc.errors()])
            ) from exc
        self._loaded = ((ref.key, ref.sha256), run)
        return run

    def issue(
        self, run: m.ApprovedRun, *, first: int = 0, page: int | None = None, with_credits: bool = True
    ) -> m.WriterResult:
        """Issue the run's credits: every farmer's block, or (``page``) the farmers from index
        ``first`` on. Every page uses the split over *all* farmers (:class:`Split`, computed once
        per run object), so pages (and their retries, in any order) yield exactly the records a
        single call would. ``credits`` (unless ``with_credits`` is false) are the blocks as they are
        now: a farmer issued earlier shows the blocks their credits became (moved, retired, split)."""
        series_id = m.series(run.project_id, run.vintage, run.run_id)
        if self._split is not None and self._split.run is run:  # the next page of the run just split
            split = self._split
        else:
            split = self._split = Split.of(run)
        claimed = self.store.claim_run(series_id, split.input_hash)
        if claimed != split.input_hash and claimed != legacy_claim_hash(run):
            raise ConflictError(
                f"Run {run.run_id} of project {run.project_id} was already issued with different content",
                code="run_conflict",
            )
        total, weight_sum = split.total, split.weight_sum
        run_fields = {
            "scheme": HASH_SCHEME,
            "kind": "issuance",
            "project_id": run.project_id,
            "vintage": run.vintage,
            "run_id": run.run_id,
            "series": series_id,
            "methodology_profile": run.methodology_profile,
            "gwp": run.gwp,
            "approved_by": run.approved_by,
            "approved_at": run.approved_at,
            "deductions_t": {k: m.dec(v) for k, v in sorted(run.deductions.items())},
            "run_creditable_net_t": m.dec(run.creditable_net_t),
            "run_issued": total,
            "run_fraction_carried_t": m.dec(run.creditable_net_t - total),
        }
        end = len(run.farmers) if page is None else min(len(run.farmers), first + page)
        wanted = [
            (index, run.farmers[index - 1], split.starts[index - 1], split.starts[index - 1] + count - 1)
            for index, count in enumerate(split.counts[first:end], start=first + 1)
            if count
        ]
        ids = [f"{series_id}:F{index:05d}" for index, *_ in wanted]
        existing = self.store.get_records(ids)
        salts = self.store.salts([w[1].farmer_id for w, record_id in zip(wanted, ids) if record_id not in existing])
        drafts: list[Draft] = []
        blocks_out: list[m.CreditBlock] = []
        erased: set[str] = set()
        for (index, farmer, start, stop), record_id in zip(wanted, ids):
            new = None
            owner: str | None = farmer.owner_user_id
            if record_id in existing:
                ref = existing[record_id].body["farmer_ref"]
                owner = existing[record_id].owner_user_id
            elif farmer.farmer_id in salts and salts[farmer.farmer_id] is None:
                # erased after the run was computed (decision 0022): the credits exist (the land's
                # reductions happened) but name no one: a salt nobody stores, no account
                ref, owner = farmer_ref(new_salt(), farmer.farmer_id), None
                erased.add(farmer.farmer_id)
            else:
                if (salt := salts.get(farmer.farmer_id)) is None:
                    salt = new_salt()
                    new = (farmer.farmer_id, salt)
                ref = farmer_ref(salt, farmer.farmer_id)
            block = m.CreditBlock(
                series=series_id,
                start=start,
                end=stop,
                status="active",
                holder_ref=ref,
                owner_user_id=owner,
                fpo_id=farmer.fpo_id,
                project_id=run.project_id,
                vintage=run.vintage,
                record_ids=[record_id],
            )
            blocks_out.append(block)
            if record_id in existing:
                continue
            with localcontext() as ctx:
                ctx.prec = 40
                share = (Decimal(total) * farmer.net_t / weight_sum).quantize(Decimal("0.000001"))
            body = {
                **run_fields,
                "record_id": record_id,
                "farmer_index": index,
                "farmer_ref": ref,
                "fpo_id": farmer.fpo_id,
                "contribution_t": m.dec(farmer.net_t),
                "share_exact": m.dec(share),
                "serial_start": m.unit_serial(series_id, start),
                "serial_end": m.unit_serial(series_id, stop),
                "start": start,
                "end": stop,
                "quantity": stop - start + 1,
                "recorded_at": self.now(),
            }
            drafts.append(Draft(body, owner, farmer.fpo_id, [(block, None)], salt=new))
        try:
            created = append_drafts(self.store, drafts)
        except RecordExists:  # a concurrent duplicate invocation (or a run sharing a new farmer) got there first
            logger.info("issuance raced with another writer", extra={"series": series_id})
            return self.issue(run, first=first, page=page)
        notify_all(
            NotificationEvent(
                kind="credits_issued",
                event_id=f"credits_issued:{d.body['record_id']}",
                project_id=run.project_id,
                run_id=run.run_id,
                fpo_id=d.body["fpo_id"],
                farmer_id=farmer.farmer_id,
                values={"quantity": d.body["quantity"], "vintage": run.vintage},
            )
            for d in drafts
            for farmer in run.farmers[d.body["farmer_index"] - 1 : d.body["farmer_index"]]
            if farmer.farmer_id not in erased  # no one to tell
        )
        credits: list[m.CreditOut] = []
        if with_credits:
            issued_before = [
                (start, stop) for (_i, _f, start, stop), record_id in zip(wanted, ids) if record_id in existing
            ]
            current = (
                self.store.blocks_between(series_id, min(s for s, _ in issued_before), max(e for _, e in issued_before))
                if issued_before
                else []
            )
            for (_i, _f, start, stop), record_id, block in zip(wanted, ids, blocks_out):
                if record_id in existing:
                    credits.extend(m.CreditOut.of(b) for b in current if start <= b.start <= stop)
                else:
                    credits.append(m.CreditOut.of(block))
        return m.WriterResult(
            command="issue",
            record_ids=ids,
            created=created,
            credits=credits,
            farmers=len(run.farmers),
            credits_total=total,
            credits_in_page=sum(b.end - b.start + 1 for b in blocks_out),
            next_farmer=end if end < len(run.farmers) else None,
        )


class IssueRequests:
    """The API's side of a manual issuance (admin; the route checks the role): handed to the writer."""

    def __init__(self, writer: WriterGateway):
        self.writer = writer

    def issue(self, run: m.ApprovedRun) -> m.WriterResult:
        return self.writer.submit(m.WriterEvent(command="issue", run=run))
