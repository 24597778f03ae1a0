"""Ledger rules: issuing credits for an approved run, transfers and retirements, batching and
anchoring Merkle roots, and the scoped read side. No boto3 and no web3 here: data, artifacts and
the chain come in through the small interfaces below (DynamoDB/S3 in dal.py, agri_chain on AWS,
fakes in the unit tests).

Why it is idempotent and fork-proof:

- every record id derives from its cause (``<series>:F<farmer index>`` for an issuance,
  ``TRF:``/``RET:``/``CAN:`` + hash of the client token), and the store writes a record only if
  its id is new, in the same transaction that moves the chain head from the expected seq. A retry
  finds its records and appends only what is missing; two concurrent writers cannot both extend
  the same head (one transaction fails and re-reads the head);
- a batch covers a seq range fixed when it is created (the batch cursor moves in the same
  conditional write), so re-running never regroups records; on chain the batch key can be anchored
  once (the contract refuses a second root), and a batch with a transaction hash is re-checked,
  never blindly re-sent: pending until a receipt proves it mined.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal, localcontext
from typing import Any, Callable, Protocol, Sequence

from agri_common.platform.errors import (
    AppError, ConflictError, DependencyError, ForbiddenError, NotFoundError, UnprocessableError,
)
from agri_common.ledger_crypto import (
    GENESIS_HASH, HASH_SCHEME, MANIFEST_KIND, MANIFEST_NAME, LedgerIntegrityError, batch_key, canonical_json,
    farmer_ref, merkle_proof, merkle_root, new_salt, record_hash, seal, sha256_hex, verify_chain,
)
from agri_common.platform.observability import logger, metrics
from agri_common.platform.principal import Owned, Principal, Role, can_access, ensure_can_access, list_scope

from functions.ledger import models as m

APPEND_CHUNK = 30  # records per DynamoDB transaction (each needs 2-3 items, + head: <= 91; the limit is 100)
ISSUE_PAGE = 2_000  # farmers per writer invocation for a run given by reference (~70 transactions)
HEAD_RETRIES = 8
MAX_BATCH_RECORDS = 10_000
MAX_CONFLICTS_PER_RUN = 8  # foreign roots stepped over per anchoring run before the batch waits for the next run
ARTIFACT_PREFIX = "ledger/batches/"
ZERO_ROOT = "0" * 64


# ---- interfaces -----------------------------------------------------------------------------------
class HeadMoved(Exception):
    """Another writer extended the chain since we read its head: re-read and try again."""


class RecordExists(Exception):
    """A record with this id is already stored (a retry, or a concurrent duplicate)."""


class BlockChanged(Exception):
    """A credit block is no longer in the state the command was checked against."""


@dataclass
class Append:
    """One record to append, with the credit-block writes that must commit with it."""

    record: m.StoredRecord
    blocks: list[tuple[m.CreditBlock, int | None]] = field(default_factory=list)  # (block, expected version or None = new)
    salt: tuple[str, str] | None = None  # (farmer id, salt): the farmer's first record stores their salt with it
    absent: list[str] = field(default_factory=list)  # record ids that must not exist (same client token, other kind)


class LedgerStore(Protocol):
    def head(self) -> tuple[int, str]: ...
    def append(self, entries: Sequence[Append], expected_seq: int) -> None: ...
    def get_record(self, record_id: str) -> m.StoredRecord | None: ...
    def get_records(self, record_ids: Sequence[str]) -> dict[str, m.StoredRecord]: ...
    def records_by_seq(self, from_seq: int, to_seq: int) -> list[m.StoredRecord]: ...
    def query_records(self, index: str, value: str, limit: int, cursor: Any,
                      filters: dict[str, str]) -> tuple[list[m.StoredRecord], Any]: ...
    def salts(self, farmer_ids: Sequence[str]) -> dict[str, str]: ...
    def claim_run(self, run_key: str, input_hash: str) -> str: ...
    def find_block(self, series: str, serial_number: int) -> m.CreditBlock | None: ...
    def blocks_between(self, series: str, start: int, end: int) -> list[m.CreditBlock]: ...
    def batch_cursor(self) -> tuple[int, str | None]: ...
    def create_batch(self, batch: m.Batch, expected_next_seq: int) -> bool: ...
    def get_batch(self, from_seq: int) -> m.Batch | None: ...
    def update_batch(self, batch: m.Batch, **changes: Any) -> m.Batch: ...
    def close_batch(self, batch: m.Batch) -> None: ...
    def find_batch(self, seq: int) -> m.Batch | None: ...
    def list_batches(self, limit: int, cursor: Any, *, status: str | None,
                     conflicts_only: bool) -> tuple[list[m.Batch], Any]: ...


class ArtifactStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...


class Chain(Protocol):
    contract_address: str

    @property
    def chain_id(self) -> int: ...
    def send_anchor(self, batch_key: bytes, root_hex: str, record_count: int) -> str: ...
    def receipt(self, tx_hash: str) -> Any: ...  # agri_chain.Receipt | None
    def transaction_known(self, tx_hash: str) -> bool: ...
    def anchored(self, batch_key: bytes) -> Any: ...  # agri_chain.OnChainAnchor
    def anchor_transaction(self, batch_key: bytes, block_number: int) -> str | None: ...


class WriterGateway(Protocol):
    """How the read API reaches the writer (the only role that may write the ledger)."""

    def submit(self, event: m.WriterEvent) -> m.WriterResult: ...


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff; ``sleep`` is injected so tests never wait."""

    rpc_attempts: int = 4
    receipt_polls: int = 8
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    sleep: Callable[[float], None] = lambda s: None

    def delay(self, attempt: int) -> float:
        return min(self.base_delay_s * (2 ** attempt), self.max_delay_s)


# ---- issuance arithmetic --------------------------------------------------------------------------
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
    def of(cls, run: m.ApprovedRun) -> "Split":
        total = int(run.creditable_net_t.to_integral_value(rounding=ROUND_FLOOR))
        weights = [f.net_t for f in run.farmers]
        counts = split_credits(total, weights)
        starts, cursor = [], 1
        for count in counts:
            starts.append(cursor)
            cursor += count
        return cls(run, claim_hash(run), total, counts, starts, sum(weights, Decimal(0)))


def claim_hash(run: m.ApprovedRun) -> str:
    """What a run's claim covers: what it credits, not who approved it when, so a run whose issuance
    failed midway, restarted and approved again with the same figures completes the series (the
    records keep the approval they were written under); different figures conflict. Tonnes are
    written as ``m.dec`` writes them in records ("10", never "10.000000"), so equal figures hash equal
    whatever their notation."""
    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return m.dec(value)
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return sha256_hex(canonical_json(plain(run.model_dump(exclude={"approved_by", "approved_at"}))))


def legacy_claim_hash(run: m.ApprovedRun) -> str:
    """The claim of series issued before claim_hash (the whole run as JSON, approval included)."""
    return sha256_hex(canonical_json(run.model_dump(mode="json")))


def parse_serial(serial: str, field: str) -> tuple[str, int, int]:
    """:func:`models.parse_serial` as a 422 naming ``field``: the models' serial types refuse bad
    serials at the edge already; this keeps any other way in (a direct writer event, a future route)
    from turning one into an unexpected failure."""
    try:
        return m.parse_serial(serial)
    except ValueError as exc:
        raise UnprocessableError("The request is invalid", details=[
            {"field": field, "issue": str(exc), "type": "value_error"}]) from None


def _token_id(prefix: str, actor: m.Actor, token: str) -> str:
    return f"{prefix}:{hashlib.sha256(f'{actor.user_id}|{token}'.encode()).hexdigest()[:32]}"


# ---- idempotency of transfers, retirements and cancellations ----------------------------------------
MOVES = {"transfer": "TRF", "retirement": "RET", "cancellation": "CAN"}  # record kind -> record id prefix
IDEMPOTENCY_CONFLICT = "idempotency_conflict"


def request_hash(kind: str, cmd: Any) -> str:
    """What a client token stands for: the kind of move and every field of the command but the token."""
    return sha256_hex(canonical_json({"kind": kind, **cmd.model_dump(mode="json", exclude={"client_token"})}))


def _same_request(record: m.StoredRecord, kind: str, cmd: Any) -> bool:
    if record.body.get("kind") != kind:
        return False
    if record.request_sha256 is not None:
        return record.request_sha256 == request_hash(kind, cmd)
    # A record written before requests were hashed: compare what its body holds (not the block's end).
    body = record.body
    series_id, start, _end = m.parse_serial(cmd.serial)
    fields = cmd.model_dump(mode="json", exclude={"client_token", "serial"})
    return (body.get("series"), body.get("start")) == (series_id, start) and all(body.get(k) == v for k, v in fields.items())


def replay_move(store: LedgerStore, kind: str, cmd: Any, actor: m.Actor) -> m.WriterResult | None:
    """None if ``cmd.client_token`` was never used by ``actor``; the first answer if it was used for
    this very request; :class:`ConflictError` ``idempotency_conflict`` if it was used for anything
    else (other fields, or another kind of move)."""
    ids = [_token_id(prefix, actor, cmd.client_token) for prefix in MOVES.values()]
    found = store.get_records(ids)
    if not found:
        return None
    record = found.get(_token_id(MOVES[kind], actor, cmd.client_token)) or next(iter(found.values()))
    if not _same_request(record, kind, cmd):
        raise ConflictError("This client_token was already used for a different request; use a new token for a new "
                            "request", code=IDEMPOTENCY_CONFLICT)
    if record.answer is not None:
        return m.WriterResult.model_validate(record.answer)
    # Written before answers were kept: the same shape, with the block of the moved credits as it is now.
    block = store.find_block(record.body["series"], int(record.body["start"]))
    return m.WriterResult(command=kind, record_ids=[record.record_id], created=1,
                          credits=[_credit_out(block)] if block is not None else [])


# ---- the writer -------------------------------------------------------------------------------------
class LedgerWriter:
    """The last step of the MRV state machine, and the only code that writes the ledger."""

    def __init__(self, store: LedgerStore, artifacts: ArtifactStore, chain: Callable[[], Chain], *,
                 now: Callable[[], str], retry: RetryPolicy = RetryPolicy(), max_batch: int = MAX_BATCH_RECORDS):
        self.store = store
        self.artifacts = artifacts
        self._chain_factory = chain
        self._chain: Chain | None = None
        self.now = now
        self.retry = retry
        self.max_batch = max_batch
        self._loaded: tuple[tuple[str, str], m.ApprovedRun] | None = None
        self._split: Split | None = None

    def handle(self, event: m.WriterEvent) -> m.WriterResult:
        if event.command == "issue" and event.run_ref is not None:
            result = self.issue(self.load_run(event.run_ref), first=event.from_farmer, page=ISSUE_PAGE, with_credits=False)
            result.record_ids = []  # pages answer with counts: the state stays small
        elif event.command == "issue":
            result = self.issue(event.run)
        elif event.command == "transfer":
            result = self.transfer(event.transfer, event.actor)
        elif event.command == "retire":
            result = self.retire(event.retire, event.actor)
        elif event.command == "cancel":
            result = self.cancel(event.cancel, event.actor)
        else:
            result = m.WriterResult(command="anchor")
        if event.command == "anchor" or (event.command == "issue" and result.next_farmer is None):
            # Transfers and retirements only append: the next issuance or the anchoring schedule
            # batches them, so the chain sees one transaction per batch, never one per record.
            # A paged issuance anchors once, after its last page.
            failed = False
            if event.command == "anchor":
                result.batches = self.anchor()
            else:
                result.batches, failed = self._anchor_after_write()
            result.pending = failed or any(b.status != "anchored" for b in result.batches)
        return result

    def _anchor_after_write(self) -> tuple[list[m.Batch], bool]:
        """Anchoring after an issuance: its records are committed whatever happens here, so a failure
        to anchor (beyond the chain outages and conflicts :meth:`anchor` already handles) is logged and
        counted and the answer says ``pending``, instead of failing a write that succeeded (the
        anchoring schedule retries it, and fails loudly there)."""
        try:
            return self.anchor(), False
        except Exception:  # noqa: BLE001 - logged with its traceback and counted; the schedule re-raises it
            logger.exception("anchoring after an issuance failed; the records are stored and stay pending")
            metrics.add_metric(name="LedgerAnchorFailures", unit="Count", value=1)
            _next_seq, pending = self.store.batch_cursor()
            batch = self.store.get_batch(int(pending)) if pending is not None else None
            return ([batch] if batch is not None else []), True

    def load_run(self, ref: m.RunRef) -> m.ApprovedRun:
        """The approved run stored at ``ref.key``, only if its bytes hash to ``ref.sha256``. The
        last one is kept: the pages of one issuance reuse it in a warm container."""
        if self._loaded is not None and self._loaded[0] == (ref.key, ref.sha256):
            return self._loaded[1]
        try:
            data = self.artifacts.get(ref.key)
        except Exception as exc:  # noqa: BLE001 - the store's not-found is the caller's mistake, the rest is not
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
            raise UnprocessableError("The stored approved run is invalid", details=validation_details(exc.errors())) from exc
        self._loaded = ((ref.key, ref.sha256), run)
        return run

    # ---- appending ------------------------------------------------------------------------------
    def _append(self, drafts: list[tuple]) -> int:
        """Chain and store drafts ``(body without seq/prev_hash/hash, owner, fpo, block writes[, new
        salt[, meta]])``, in order, in chunks; ``meta``: ``request_sha256``, ``answer``, ``absent``."""
        for start in range(0, len(drafts), APPEND_CHUNK):
            chunk = drafts[start:start + APPEND_CHUNK]
            for _attempt in range(HEAD_RETRIES):
                seq, prev = self.store.head()
                entries = []
                for body, owner, fpo, blocks, *rest in chunk:
                    salt, meta = (rest + [None, None])[:2]
                    meta = meta or {}
                    seq += 1
                    sealed = seal({**body, "seq": seq, "prev_hash": prev})
                    prev = sealed["record_hash"]
                    record = m.StoredRecord(body=sealed, owner_user_id=owner, fpo_id=fpo,
                                            request_sha256=meta.get("request_sha256"), answer=meta.get("answer"))
                    entries.append(Append(record, blocks, salt, absent=meta.get("absent", [])))
                try:
                    self.store.append(entries, expected_seq=seq - len(entries))
                    break
                except HeadMoved:
                    continue
            else:
                raise DependencyError("The ledger head kept moving; try again")
        return len(drafts)

    def issue(self, run: m.ApprovedRun, *, first: int = 0, page: int | None = None,
              with_credits: bool = True) -> m.WriterResult:
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
            raise ConflictError(f"Run {run.run_id} of project {run.project_id} was already issued with different content",
                                code="run_conflict")
        total, weight_sum = split.total, split.weight_sum
        run_fields = {
            "scheme": HASH_SCHEME, "kind": "issuance", "project_id": run.project_id, "vintage": run.vintage,
            "run_id": run.run_id, "series": series_id, "methodology_profile": run.methodology_profile, "gwp": run.gwp,
            "approved_by": run.approved_by, "approved_at": run.approved_at,
            "deductions_t": {k: m.dec(v) for k, v in sorted(run.deductions.items())},
            "run_creditable_net_t": m.dec(run.creditable_net_t), "run_issued": total,
            "run_fraction_carried_t": m.dec(run.creditable_net_t - total),
        }
        end = len(run.farmers) if page is None else min(len(run.farmers), first + page)
        wanted = [(index, run.farmers[index - 1], split.starts[index - 1], split.starts[index - 1] + count - 1)
                  for index, count in enumerate(split.counts[first:end], start=first + 1) if count]
        ids = [f"{series_id}:F{index:05d}" for index, *_ in wanted]
        existing = self.store.get_records(ids)
        salts = self.store.salts([w[1].farmer_id for w, record_id in zip(wanted, ids) if record_id not in existing])
        drafts, blocks_out = [], []
        for (index, farmer, start, stop), record_id in zip(wanted, ids):
            new = None
            if record_id in existing:
                ref = existing[record_id].body["farmer_ref"]
            else:
                if (salt := salts.get(farmer.farmer_id)) is None:
                    salt = new_salt()
                    new = (farmer.farmer_id, salt)
                ref = farmer_ref(salt, farmer.farmer_id)
            block = m.CreditBlock(series=series_id, start=start, end=stop, status="active", holder_ref=ref,
                                  owner_user_id=farmer.owner_user_id, fpo_id=farmer.fpo_id, project_id=run.project_id,
                                  vintage=run.vintage, record_ids=[record_id])
            blocks_out.append(block)
            if record_id in existing:
                continue
            with localcontext() as ctx:
                ctx.prec = 40
                share = (Decimal(total) * farmer.net_t / weight_sum).quantize(Decimal("0.000001"))
            body = {**run_fields, "record_id": record_id, "farmer_index": index, "farmer_ref": ref,
                    "fpo_id": farmer.fpo_id, "contribution_t": m.dec(farmer.net_t), "share_exact": m.dec(share),
                    "serial_start": m.unit_serial(series_id, start), "serial_end": m.unit_serial(series_id, stop),
                    "start": start, "end": stop, "quantity": stop - start + 1, "recorded_at": self.now()}
            drafts.append((body, farmer.owner_user_id, farmer.fpo_id, [(block, None)], new))
        try:
            created = self._append(drafts)
        except RecordExists:  # a concurrent duplicate invocation (or a run sharing a new farmer) got there first
            logger.info("issuance raced with another writer", extra={"series": series_id})
            return self.issue(run, first=first, page=page)
        credits: list[m.CreditOut] = []
        if with_credits:
            issued_before = [(start, stop) for (_i, _f, start, stop), record_id in zip(wanted, ids) if record_id in existing]
            current = self.store.blocks_between(series_id, min(s for s, _ in issued_before),
                                                max(e for _, e in issued_before)) if issued_before else []
            for (_i, _f, start, stop), record_id, block in zip(wanted, ids, blocks_out):
                if record_id in existing:
                    credits.extend(_credit_out(b) for b in current if start <= b.start <= stop)
                else:
                    credits.append(_credit_out(block))
        return m.WriterResult(command="issue", record_ids=ids, created=created,
                              credits=credits, farmers=len(run.farmers), credits_total=total,
                              credits_in_page=sum(b.end - b.start + 1 for b in blocks_out),
                              next_farmer=end if end < len(run.farmers) else None)

    def _move(self, kind: str, prefix: str, cmd: Any, actor: m.Actor, extra: dict[str, Any],
              new_status: str, new_holder: Callable[[m.CreditBlock], str],
              new_owner: Callable[[m.CreditBlock], str | None]) -> m.WriterResult:
        record_id = _token_id(prefix, actor, cmd.client_token)
        if (replayed := replay_move(self.store, kind, cmd, actor)) is not None:
            return replayed
        series_id, start, end = parse_serial(cmd.serial, "body.serial")
        block = self.store.find_block(series_id, start)
        if block is None or (block.start, block.end) != (start, end):
            raise NotFoundError("credit block not found", code="not_found")
        if not actor.is_admin and block.owner_user_id != actor.user_id:
            raise NotFoundError("credit block not found", code="not_found")
        if block.status != "active":
            raise ConflictError(f"The credits are {block.status}", code="credits_not_active")
        if cmd.quantity > block.quantity:
            raise UnprocessableError("More credits than the block holds", details=[
                {"field": "body.quantity", "issue": f"at most {block.quantity}", "type": "less_than_equal"}])
        moved_end = start + cmd.quantity - 1
        ids = [*block.record_ids, record_id]
        moved = block.model_copy(update={"end": moved_end, "status": new_status, "holder_ref": new_holder(block),
                                         "owner_user_id": new_owner(block), "record_ids": ids, "version": block.version + 1})
        writes: list[tuple[m.CreditBlock, int | None]] = [(moved, block.version)]
        if moved_end < end:
            writes.append((block.model_copy(update={"start": moved_end + 1, "record_ids": ids, "version": 1}), None))
        body = {"scheme": HASH_SCHEME, "kind": kind, "record_id": record_id, "project_id": block.project_id,
                "vintage": block.vintage, "series": series_id, "fpo_id": block.fpo_id, "from_ref": block.holder_ref,
                "serial_start": m.unit_serial(series_id, start), "serial_end": m.unit_serial(series_id, moved_end),
                "start": start, "end": moved_end, "quantity": cmd.quantity, "recorded_at": self.now(), **extra}
        answer = m.WriterResult(command=kind, record_ids=[record_id], created=1,
                                credits=[_credit_out(b) for b, _ in writes])
        meta = {"request_sha256": request_hash(kind, cmd), "answer": answer.model_dump(mode="json"),
                "absent": [_token_id(p, actor, cmd.client_token) for p in MOVES.values() if p != prefix]}
        try:
            self._append([(body, block.owner_user_id, block.fpo_id, writes, None, meta)])
        except RecordExists:  # a concurrent retry (or another use of the token) got there first
            replayed = replay_move(self.store, kind, cmd, actor)
            if replayed is None:
                raise DependencyError("The ledger changed meanwhile; try again") from None
            return replayed
        except BlockChanged:
            raise ConflictError("The credits changed meanwhile; read them again", code="credits_changed") from None
        return answer

    def transfer(self, cmd: m.TransferCommand, actor: m.Actor) -> m.WriterResult:
        return self._move("transfer", "TRF", cmd, actor, {"to_ref": cmd.to_ref}, "active",
                          new_holder=lambda b: cmd.to_ref, new_owner=lambda b: None)

    def retire(self, cmd: m.RetireCommand, actor: m.Actor) -> m.WriterResult:
        return self._move("retirement", "RET", cmd, actor,
                          {"beneficiary_ref": cmd.beneficiary_ref, "reason": cmd.reason}, "retired",
                          new_holder=lambda b: b.holder_ref, new_owner=lambda b: b.owner_user_id)

    def cancel(self, cmd: m.CancelCommand, actor: m.Actor) -> m.WriterResult:
        if not actor.is_admin:
            raise ForbiddenError("Only an admin may cancel credits", code="role_forbidden")
        return self._move("cancellation", "CAN", cmd, actor, {"reason": cmd.reason}, "cancelled",
                          new_holder=lambda b: b.holder_ref, new_owner=lambda b: b.owner_user_id)

    # ---- batching and anchoring --------------------------------------------------------------
    def chain(self) -> Chain:
        if self._chain is None:
            self._chain = self._chain_factory()
        return self._chain

    def anchor(self, max_batches: int = 50) -> list[m.Batch]:
        """Anchor every unanchored record, batch by batch; stop at the first batch left pending."""
        out: list[m.Batch] = []
        for _ in range(max_batches):
            next_seq, pending = self.store.batch_cursor()
            if pending is not None:
                batch = self.store.get_batch(int(pending))
            else:
                head_seq, _ = self.store.head()
                if head_seq < next_seq:
                    break
                to_seq = min(head_seq, next_seq + self.max_batch - 1)
                batch = m.Batch(batch_id=f"{next_seq:012d}-{to_seq:012d}", from_seq=next_seq, to_seq=to_seq,
                                created_at=self.now())
                if not self.store.create_batch(batch, expected_next_seq=next_seq):
                    continue  # another writer created it: pick it up on the next turn
            batch = self._anchor_batch(batch)
            out.append(batch)
            if batch.status != "anchored":
                break
        return out

    def _anchor_batch(self, batch: m.Batch) -> m.Batch:
        records = self.store.records_by_seq(batch.from_seq, batch.to_seq)
        bodies = [r.body for r in records]
        if len(bodies) != batch.record_count:
            raise LedgerIntegrityError(f"batch {batch.batch_id} expects {batch.record_count} records, found {len(bodies)}")
        verify_chain(bodies, start_prev_hash=bodies[0]["prev_hash"] if batch.from_seq > 1 else GENESIS_HASH,
                     start_seq=batch.from_seq)
        root = merkle_root([b["record_hash"] for b in bodies])
        if batch.artifact_sha256 is None:
            batch = self._write_artifact(batch, root, bodies)
        elif batch.root != root:
            raise LedgerIntegrityError(f"batch {batch.batch_id}: stored records hash to {root}, the batch says {batch.root}")
        for attempt in range(self.retry.rpc_attempts):
            try:
                return self._anchor_on_chain(batch, root, bodies)
            except Exception as exc:
                from agri_chain import ChainUnavailable

                if not isinstance(exc, ChainUnavailable):
                    raise
                logger.warning("chain unavailable; batch stays pending",
                               extra={"batch_id": batch.batch_id, "attempt": attempt + 1, "error": str(exc)})
                batch = self.store.get_batch(batch.from_seq) or batch
                self.retry.sleep(self.retry.delay(attempt))
        return batch

    def _write_artifact(self, batch: m.Batch, root: str, bodies: list[dict[str, Any]]) -> m.Batch:
        """The batch file (every record, the root, and once re-keyed its anchor id and the conflicts
        that moved it) in the audit bucket; a rewrite adds an object version (Object Lock)."""
        doc: dict[str, Any] = {"scheme": HASH_SCHEME, "batch_id": batch.batch_id, "from_seq": batch.from_seq,
                               "to_seq": batch.to_seq, "root": root, "records": bodies}
        if batch.key_id != batch.batch_id:
            doc.update(anchor_id=batch.key_id, conflicts=[c.model_dump(mode="json") for c in batch.conflicts])
        artifact = canonical_json(doc)
        key = f"{ARTIFACT_PREFIX}{batch.batch_id}.json"
        self.artifacts.put(key, artifact)
        return self.store.update_batch(batch, root=root, artifact_key=key, artifact_sha256=sha256_hex(artifact))

    def _anchor_on_chain(self, batch: m.Batch, root: str, bodies: list[dict[str, Any]]) -> m.Batch:
        chain = self.chain()
        for _hop in range(MAX_CONFLICTS_PER_RUN):
            on_chain = chain.anchored(batch_key(batch.key_id))
            if on_chain.root == ZERO_ROOT:
                break
            if on_chain.root == root:  # ours, by an earlier (or duplicated) invocation
                return self._settle(batch, on_chain)
            batch = self._conflict(batch, root, bodies, on_chain)
        else:
            logger.error("anchor conflict: every id tried holds a foreign root; the batch stays in conflict",
                         extra={"batch_id": batch.batch_id, "anchor_id": batch.key_id})
            return batch
        key = batch_key(batch.key_id)
        if not (batch.tx_hash and chain.transaction_known(batch.tx_hash)):
            # Never sent, or dropped by the node: (re)send. The contract refuses a second root for
            # the same batch key, so even a duplicate that slipped through cannot anchor twice.
            batch = self.store.update_batch(batch, tx_hash=chain.send_anchor(key, root, batch.record_count),
                                            contract_address=chain.contract_address, chain_id=chain.chain_id)
        for poll in range(self.retry.receipt_polls):
            receipt = chain.receipt(batch.tx_hash)
            if receipt is not None:
                if receipt.status == 1:
                    return self._mark_anchored(batch, receipt.tx_hash, receipt.block_number, chain)
                on_chain = chain.anchored(key)  # reverted: anchored by an earlier transaction?
                if on_chain.root == root:
                    return self._settle(batch, on_chain)
                if on_chain.root != ZERO_ROOT:  # a foreign root got there first: the next run uses the next id
                    return self._conflict(batch, root, bodies, on_chain)
                return self.store.update_batch(batch, tx_hash=None)  # failed: resend on the next run
            self.retry.sleep(self.retry.delay(poll))
        logger.warning("anchor transaction not mined yet; batch stays pending",
                       extra={"batch_id": batch.batch_id, "tx_hash": batch.tx_hash})
        return batch

    def _conflict(self, batch: m.Batch, root: str, bodies: list[dict[str, Any]], on_chain: Any) -> m.Batch:
        """A foreign root holds this batch's key on chain (the contract refuses ours forever): record
        what is there, mark the batch ``conflict``, raise it (error log, metric, ``GET /ledger/batches``)
        and move the batch to the next id, ``<batch_id>.r<n>``; its artifact is rewritten to name it."""
        conflict = m.AnchorConflict(anchor_id=batch.key_id, root=on_chain.root, record_count=on_chain.record_count,
                                    block_number=on_chain.block_number, detected_at=self.now())
        conflicts = [*batch.conflicts, conflict]
        next_id = f"{batch.batch_id}.r{len(conflicts)}"
        logger.error("anchor conflict: a foreign root is on chain under this batch's key; anchoring under the next id",
                     extra={"batch_id": batch.batch_id, "anchor_id": conflict.anchor_id, "root_on_chain": on_chain.root,
                            "our_root": root, "next_anchor_id": next_id})
        metrics.add_metric(name="LedgerAnchorConflicts", unit="Count", value=1)
        batch = self.store.update_batch(batch, status="conflict", anchor_id=next_id, tx_hash=None,
                                        conflicts=[c.model_dump(mode="json") for c in conflicts])
        return self._write_artifact(batch, root, bodies)

    def _settle(self, batch: m.Batch, on_chain: Any) -> m.Batch:
        chain = self.chain()
        tx = None
        if batch.tx_hash:
            receipt = chain.receipt(batch.tx_hash)
            tx = batch.tx_hash if receipt is not None and receipt.status == 1 else None
        tx = tx or chain.anchor_transaction(batch_key(batch.key_id), on_chain.block_number)
        return self._mark_anchored(batch, tx, on_chain.block_number, chain)

    def _mark_anchored(self, batch: m.Batch, tx_hash: str | None, block_number: int, chain: Chain) -> m.Batch:
        batch = self.store.update_batch(batch, status="anchored", tx_hash=tx_hash, block_number=block_number,
                                        contract_address=chain.contract_address, chain_id=chain.chain_id,
                                        anchored_at=self.now())
        self._write_manifest(batch)  # before the cursor moves on: manifests follow the batches in order
        self.store.close_batch(batch)
        return batch

    def _write_manifest(self, batch: m.Batch) -> None:
        """``MANIFEST.json`` beside the batch files: the newest anchored batch, so a verifier of an
        export knows which batch is the newest. Never moves back (a late duplicate invocation that
        anchored an older batch leaves a newer manifest alone)."""
        import json

        key = f"{ARTIFACT_PREFIX}{MANIFEST_NAME}"
        try:
            current = json.loads(self.artifacts.get(key))["head"]["to_seq"]
        except Exception:  # noqa: BLE001 - none yet (or unreadable): this one replaces it
            current = 0
        if current > batch.to_seq:
            return
        head = {"batch_id": batch.batch_id, "anchor_id": batch.key_id, "from_seq": batch.from_seq, "to_seq": batch.to_seq,
                "root": batch.root, "artifact_sha256": batch.artifact_sha256, "chain_id": batch.chain_id,
                "contract_address": batch.contract_address, "tx_hash": batch.tx_hash, "block_number": batch.block_number}
        self.artifacts.put(key, canonical_json({"scheme": HASH_SCHEME, "kind": MANIFEST_KIND, "head": head,
                                                "written_at": self.now()}))


def _credit_out(block: m.CreditBlock) -> m.CreditOut:
    return m.CreditOut(serial=block.serial, series=block.series, start=block.start, end=block.end,
                       quantity=block.quantity, status=block.status, holder_ref=block.holder_ref, fpo_id=block.fpo_id,
                       project_id=block.project_id, vintage=block.vintage, record_ids=block.record_ids)


# ---- the read side --------------------------------------------------------------------------------
def _owned(item: m.StoredRecord | m.CreditBlock) -> Owned:
    """A record or credit block for the policy: farmers by owner, FPO managers by FPO, auditors by
    project (the records of the projects they are assigned to, never by FPO)."""
    return Owned(owner_user_id=item.owner_user_id, fpo_id=item.fpo_id, project_id=item.project_id)


_KIND = {"transfer": "transfer", "retire": "retirement", "cancel": "cancellation"}  # writer command -> record kind


class LedgerReader:
    """The API's side: scoped reads, proofs, and transfers/retirements handed to the writer."""

    def __init__(self, store: LedgerStore, artifacts: ArtifactStore, writer: WriterGateway):
        self.store = store
        self.artifacts = artifacts
        self.writer = writer

    def _visible_record(self, principal: Principal, record_id: str) -> m.StoredRecord:
        record = self.store.get_record(record_id)
        ensure_can_access(principal, _owned(record) if record else None, what="record")
        return record

    def _out(self, record: m.StoredRecord) -> m.RecordOut:
        batch = self.store.find_batch(record.seq)
        return m.RecordOut(record=record.body, batch_id=batch.batch_id if batch else None,
                           anchored=bool(batch and batch.status == "anchored"))

    def get_record(self, principal: Principal, record_id: str) -> m.RecordOut:
        return self._out(self._visible_record(principal, record_id))

    def list_records(self, principal: Principal, *, project_id: str | None, farmer_ref: str | None,
                     serial: str | None, limit: int, cursor: Any) -> tuple[list[m.RecordOut], Any]:
        scope = list_scope(principal)
        if serial is not None:
            series_id, start, end = parse_serial(serial, "query.serial")
            block = self.store.find_block(series_id, start)
            if block is None or block.end < end:  # the range asked for is not within one block
                return [], None
            found = self.store.get_records(block.record_ids)
            records = [found[i] for i in block.record_ids if i in found]
            return [self._out(r) for r in records if can_access(principal, _owned(r))], None
        filters = {k: v for k, v in (("project_id", project_id), ("farmer_ref", farmer_ref)) if v}
        if scope.auditor_id is not None:  # the records of their projects, one project at a time
            if project_id is None and len(scope.project_ids) > 1:
                raise UnprocessableError("Your assignments cover several projects: give project_id", details=[{
                    "field": "query.project_id", "issue": f"one of {', '.join(sorted(scope.project_ids))}",
                    "type": "missing"}])
            project_id = project_id or next(iter(scope.project_ids), None)
            if project_id not in scope.project_ids:
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
        records, nxt = self.store.query_records(index, value, limit, cursor, filters)
        return [self._out(r) for r in records], nxt

    def _visible_block(self, principal: Principal, serial: str, field: str) -> m.CreditBlock:
        series_id, start, end = parse_serial(serial, field)
        block = self.store.find_block(series_id, start)
        if block is not None and block.end < end:
            block = None  # the range asked for is not one block
        ensure_can_access(principal, _owned(block) if block else None, what="credit")
        return block

    def get_credit(self, principal: Principal, serial: str) -> m.CreditOut:
        return _credit_out(self._visible_block(principal, serial, "path.serial"))

    def proof(self, principal: Principal, record_id: str) -> m.ProofOut:
        record = self._visible_record(principal, record_id)
        batch = self.store.find_batch(record.seq)
        if batch is None or batch.status != "anchored":
            raise ConflictError("The record is not anchored yet; its batch is pending", code="not_anchored")
        raw = self.artifacts.get(batch.artifact_key)
        if sha256_hex(raw) != batch.artifact_sha256:
            raise DependencyError("The batch artifact does not match its recorded hash", code="integrity_error")
        import json

        hashes = [r["record_hash"] for r in json.loads(raw)["records"]]
        index = record.seq - batch.from_seq
        if hashes[index] != record.body["record_hash"] or merkle_root(hashes) != batch.root:
            raise DependencyError("The stored record does not match its anchored batch", code="integrity_error")
        anchor = m.AnchorOut(batch_id=batch.batch_id, anchor_id=batch.key_id, batch_key=batch_key(batch.key_id).hex(),
                             root=batch.root, conflicts=batch.conflicts,
                             record_count=batch.record_count, tx_hash=batch.tx_hash or "",
                             block_number=batch.block_number or 0, contract_address=batch.contract_address or "",
                             chain_id=batch.chain_id or 0, artifact_key=batch.artifact_key,
                             artifact_sha256=batch.artifact_sha256)
        return m.ProofOut(scheme=HASH_SCHEME, record=record.body, record_hash=record_hash(record.body),
                          leaf_index=index, proof=merkle_proof(hashes, index), anchor=anchor)

    def list_batches(self, *, limit: int, cursor: Any, status: str | None,
                     conflicts_only: bool) -> tuple[list[m.Batch], Any]:
        """Batches newest first (admin): anchoring state, and the foreign roots met on chain."""
        return self.store.list_batches(limit, cursor, status=status, conflicts_only=conflicts_only)

    def _submit_move(self, principal: Principal, command: str, prefix: str, cmd: Any) -> m.WriterResult:
        """Admin or the credit owner; anyone else who could see the block gets 404 too. A retry with
        the same client token answers with the record already written (the block may have split)."""
        actor = m.Actor(user_id=principal.user_id, is_admin=principal.role is Role.ADMIN)
        if (replayed := replay_move(self.store, _KIND[command], cmd, actor)) is not None:
            return replayed  # exactly the first answer, or a 409 if the token was used for something else
        block = self._visible_block(principal, cmd.serial, "body.serial")
        if not actor.is_admin and block.owner_user_id != principal.user_id:
            raise NotFoundError("credit not found")
        return self.writer.submit(m.WriterEvent(command=command, actor=actor, **{command: cmd}))

    def transfer(self, principal: Principal, cmd: m.TransferCommand) -> m.WriterResult:
        return self._submit_move(principal, "transfer", "TRF", cmd)

    def retire(self, principal: Principal, cmd: m.RetireCommand) -> m.WriterResult:
        return self._submit_move(principal, "retire", "RET", cmd)

    def cancel(self, principal: Principal, cmd: m.CancelCommand) -> m.WriterResult:
        return self._submit_move(principal, "cancel", "CAN", cmd)

    def issue(self, run: m.ApprovedRun) -> m.WriterResult:
        return self.writer.submit(m.WriterEvent(command="issue", run=run))


__all__ = ["AppError", "Append", "ArtifactStore", "BlockChanged", "Chain", "HeadMoved", "LedgerReader", "LedgerStore",
           "LedgerWriter", "RecordExists", "RetryPolicy", "WriterGateway", "split_credits"]
