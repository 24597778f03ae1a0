"""Ledger models: the writer's commands (inputs), the API's bodies and answers (outputs), and the
stored shapes (records, credit blocks, batches), kept apart.

Quantities: credits are whole tCO2e (integers); tonnes with fractions travel as ``Decimal`` and are
stored in records as decimal strings (floats never enter a hashed record, see ledger_crypto).
Identifiers that go into serials (project, run) exclude "-" so a serial parses unambiguously.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from agri_common.platform.errors import UnprocessableError
from agri_common.platform.inputs import Input
from functions.ledger import examples

SERIAL_PREFIX = "AGM"
SERIAL_DIGITS = 9
MAX_SERIAL = 10**SERIAL_DIGITS - 1
PART = r"[A-Za-z0-9_]{1,32}"
OPAQUE_REF = r"^[A-Za-z0-9_.:-]{1,64}$"  # buyer / beneficiary account ids: opaque, never names
# ASCII digits only ([0-9], never \d: other scripts' digits would parse to the same numbers)
UNIT_SERIAL = rf"^{SERIAL_PREFIX}-({PART})-([0-9]{{4}})-({PART})-([0-9]{{{SERIAL_DIGITS}}})$"
BLOCK_SERIAL = (
    rf"^{SERIAL_PREFIX}-({PART})-([0-9]{{4}})-({PART})-([0-9]{{{SERIAL_DIGITS}}})-([0-9]{{{SERIAL_DIGITS}}})$"
)
ANY_SERIAL = rf"({UNIT_SERIAL[1:-1]}|{BLOCK_SERIAL[1:-1]})"
RECORD_ID = r"^[A-Za-z0-9_:.-]{1,160}$"
RecordKind = Literal["issuance", "transfer", "retirement", "cancellation"]
Tonnes = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=6)]


def series(project_id: str, vintage: int, run_id: str) -> str:
    """``AGM-<project>-<vintage>-<run>``: the prefix of every serial of one issuance run."""
    return f"{SERIAL_PREFIX}-{project_id}-{vintage:04d}-{run_id}"


def unit_serial(series_id: str, n: int) -> str:
    return f"{series_id}-{n:0{SERIAL_DIGITS}d}"


def block_serial(series_id: str, start: int, end: int) -> str:
    return f"{series_id}-{start:0{SERIAL_DIGITS}d}-{end:0{SERIAL_DIGITS}d}"


class InvalidSerial(ValueError):
    """Not a serial, or a range that cannot hold a credit (reversed, or numbered 0)."""


def parse_serial(serial: str) -> tuple[str, int, int]:
    """(series, start, end) of a unit serial (start == end) or of a block serial; :class:`InvalidSerial`
    (a ValueError) for anything else: not the shape, a range that ends before it starts, serial number
    0 (runs number their credits from 1). The one parser of serials: every route and the writer use it
    (through :data:`SerialStr`/:data:`BlockSerialStr` in bodies and parameters), so a bad serial is a
    validation error naming its field wherever it arrives, never an unexpected failure."""
    if not isinstance(serial, str):
        raise InvalidSerial("a serial is a string")
    if m := re.fullmatch(BLOCK_SERIAL[1:-1], serial):
        start, end = int(m.group(4)), int(m.group(5))
    elif m := re.fullmatch(UNIT_SERIAL[1:-1], serial):
        start = end = int(m.group(4))
    else:
        raise InvalidSerial(
            f"not a serial: expected {SERIAL_PREFIX}-<project>-<vintage>-<run>-<n> or "
            f"...-<start>-<end>, each number {SERIAL_DIGITS} digits"
        )
    if start < 1:
        raise InvalidSerial("serial numbers start at 1")
    if start > end:
        raise InvalidSerial("a serial range must not end before it starts")
    return series(m.group(1), int(m.group(2)), m.group(3)), start, end


def serial_field(serial: str, field: str) -> tuple[str, int, int]:
    """:func:`parse_serial` as a 422 naming ``field``: the serial types refuse bad serials at the edge
    already; this keeps any other way in (a direct writer event, a future route) from turning one
    into an unexpected failure."""
    try:
        return parse_serial(serial)
    except ValueError as exc:
        raise UnprocessableError(
            "The request is invalid", details=[{"field": field, "issue": str(exc), "type": "value_error"}]
        ) from None


def _checked_serial(value: str) -> str:
    parse_serial(value)
    return value


# A serial in a body, a path or a query: the shape (pattern, documented in OpenAPI) and the range
# (parse_serial: a reversed range or serial 0 is a 422 naming the field, like a wrong shape).
SerialStr = Annotated[str, Field(pattern=f"^{ANY_SERIAL}$"), AfterValidator(_checked_serial)]
BlockSerialStr = Annotated[str, Field(pattern=BLOCK_SERIAL), AfterValidator(_checked_serial)]


def dec(value: Decimal) -> str:
    """A Decimal as the plain string stored in records ("12.5", never "1.25E+1")."""
    text = format(value.normalize(), "f")
    return text if text not in ("-0", "") else "0"


# ---- writer commands ----------------------------------------------------------------------------
class _Input(Input):
    pass


class FarmerContribution(_Input):
    farmer_id: str = Field(
        min_length=1, max_length=128, description="Internal farmer id; only its salted hash is recorded"
    )
    owner_user_id: str = Field(min_length=1, max_length=128, description="Cognito sub of the farmer: owns the credits")
    fpo_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    net_t: Tonnes = Field(description="The farmer's net contribution (tCO2e) to the run")


MAX_INLINE_FARMERS = 5_000  # a run passed in a request or an event (Lambda's 6 MB synchronous payload)
MAX_RUN_FARMERS = 1_000_000  # a run passed by reference (an S3 object the writer reads in pages)


class ApprovedRun(_Input):
    """What the MRV pipeline hands the ledger writer once a run is approved: inline (the
    admin route, at most 5,000 farmers) or as an object in the audit bucket (:class:`RunRef`)."""

    project_id: str = Field(pattern=rf"^{PART}$")
    run_id: str = Field(pattern=rf"^{PART}$")
    vintage: int = Field(ge=2000, le=2100)
    methodology_profile: str = Field(min_length=1, max_length=64)
    gwp: str = Field(min_length=1, max_length=32, description="GWP set, e.g. AR5")
    approved_by: str = Field(min_length=1, max_length=128, description="User id (sub) of the approver")
    approved_at: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
    deductions: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,40}$")], Tonnes] = Field(
        default_factory=dict, max_length=20, description="Deductions applied by the methodology profile (tCO2e)"
    )
    creditable_net_t: Tonnes = Field(description="Net tCO2e after deductions; whole tonnes become credits")
    farmers: list[FarmerContribution] = Field(min_length=1, max_length=MAX_RUN_FARMERS)

    @model_validator(mode="after")
    def _farmers(self) -> ApprovedRun:
        ids = [f.farmer_id for f in self.farmers]
        if len(set(ids)) != len(ids):
            raise ValueError("each farmer appears once per run")
        if sum((f.net_t for f in self.farmers), Decimal(0)) <= 0 and self.creditable_net_t >= 1:
            raise ValueError("credits cannot be split when no farmer contributed")
        return self


class InlineRun(ApprovedRun):
    """An approved run carried in the request itself (the admin route, a direct writer event)."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.INLINE_RUN]})
    farmers: list[FarmerContribution] = Field(min_length=1, max_length=MAX_INLINE_FARMERS)


class RunRef(_Input):
    """An approved run stored as JSON under ``ledger/approved/`` of the audit bucket (Object Lock),
    named with the SHA-256 of its bytes: the writer refuses an object that does not match."""

    key: str = Field(pattern=r"^ledger/approved/[A-Za-z0-9_./-]{1,200}\.json$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


CLIENT_TOKEN = (
    "Idempotency key (per caller): a retry with the same token and the same body changes nothing and "
    "answers exactly what the first call answered; the same token with any other body, or on another "
    "of transfer/retire/cancel, is a 409 idempotency_conflict"
)


class TransferCommand(_Input):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.TRANSFER]})
    serial: BlockSerialStr = Field(description="The credit block (as returned by GET /credits/{serial})")
    quantity: int = Field(ge=1, le=10**9, description="How many credits, taken from the start of the block")
    to_ref: str = Field(pattern=OPAQUE_REF, description="The buyer's registry account id (opaque, no names)")
    client_token: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$", description=CLIENT_TOKEN)


class RetireCommand(_Input):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.RETIRE]})
    serial: BlockSerialStr
    quantity: int = Field(ge=1, le=10**9)
    beneficiary_ref: str = Field(pattern=OPAQUE_REF, description="On whose behalf the credits are retired (opaque id)")
    reason: Literal["compensation", "voluntary", "compliance", "other"]
    client_token: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$", description=CLIENT_TOKEN)


class CancelCommand(_Input):
    """Admin only: take credits out of circulation (an issuance error, a reversal)."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.CANCEL]})
    serial: BlockSerialStr
    quantity: int = Field(ge=1, le=10**9)
    reason: Literal["issuance_error", "reversal", "other"]
    client_token: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$", description=CLIENT_TOKEN)


class Actor(BaseModel):
    """Who asked for a transfer/retirement (checked by the API before the writer runs)."""

    user_id: str
    is_admin: bool


class UnlinkOwnerCommand(_Input):
    """A farmer's erasure (docs/decisions/0022): take their (deleted) account id off the ledger's
    access metadata, outside every hashed body: the ``by_owner`` index entry of their records and the
    ``owner_user_id`` of their credit blocks."""

    user_id: str = Field(min_length=1, max_length=128, description="Cognito sub of the erased farmer's account")


class WriterEvent(BaseModel):
    """The writer Lambda's input: one command (Step Functions, the API, or the anchoring schedule)."""

    model_config = ConfigDict(extra="forbid")

    command: Literal["issue", "transfer", "retire", "cancel", "anchor", "unlink_owner"]
    run: ApprovedRun | None = None
    run_ref: RunRef | None = None
    from_farmer: int = Field(
        0, ge=0, le=MAX_RUN_FARMERS, description="With run_ref: the first farmer (0-based) of this page of the issuance"
    )
    transfer: TransferCommand | None = None
    retire: RetireCommand | None = None
    cancel: CancelCommand | None = None
    unlink_owner: UnlinkOwnerCommand | None = None
    actor: Actor | None = None

    @model_validator(mode="after")
    def _payload(self) -> WriterEvent:
        need = {
            "issue": "run",
            "transfer": "transfer",
            "retire": "retire",
            "cancel": "cancel",
            "anchor": None,
            "unlink_owner": "unlink_owner",
        }[self.command]
        if need == "run":
            if (self.run is None) == (self.run_ref is None):
                raise ValueError("command issue needs either run or run_ref")
            if self.run is not None and len(self.run.farmers) > MAX_INLINE_FARMERS:
                raise ValueError(f"a run of more than {MAX_INLINE_FARMERS} farmers is passed by run_ref")
        elif need and getattr(self, need) is None:
            raise ValueError(f"command {self.command} needs {need}")
        if self.from_farmer and self.run_ref is None:
            raise ValueError("from_farmer pages a run given by run_ref")
        if self.command in ("transfer", "retire", "cancel") and self.actor is None:
            raise ValueError(f"command {self.command} needs actor")
        return self


# ---- stored shapes ------------------------------------------------------------------------------
class CreditBlock(BaseModel):
    """Current state of a serial range (a projection of the ledger, updated in the same transaction)."""

    series: str
    start: int
    end: int
    status: Literal["active", "retired", "cancelled"]
    holder_ref: str  # farmer_ref of the farmer, or the buyer's opaque id after a transfer
    owner_user_id: str | None = None  # the farmer who may act on it; None once transferred to a buyer
    fpo_id: str
    project_id: str
    vintage: int
    record_ids: list[str]
    version: int = 1

    @property
    def serial(self) -> str:
        return block_serial(self.series, self.start, self.end)

    @property
    def quantity(self) -> int:
        return self.end - self.start + 1


class AnchorConflict(BaseModel):
    """A foreign root found on chain under the key this batch was to be anchored with (another ledger
    anchored with the same contract and key: a reset table, a second environment)."""

    anchor_id: str = Field(description="The id whose key holds the foreign root")
    root: str = Field(description="The root on chain under that key (not this batch's)")
    record_count: int
    block_number: int
    detected_at: str


class Batch(BaseModel):
    """A batch of consecutive records and its anchoring. ``batch_id`` (``<from>-<to>`` seqs) names it
    and its artifact; ``anchor_id`` is the id whose key holds its root on chain: the batch id, or
    ``<batch_id>.r<n>`` once ``n`` foreign roots were found under the earlier ids (``conflicts``).
    Status ``conflict`` while a batch that met a foreign root is not yet anchored under a free id."""

    batch_id: str
    from_seq: int
    to_seq: int
    status: Literal["pending", "anchored", "conflict"] = "pending"
    anchor_id: str | None = None
    conflicts: list[AnchorConflict] = []
    root: str | None = None
    artifact_key: str | None = None
    artifact_sha256: str | None = None
    tx_hash: str | None = None
    block_number: int | None = None
    contract_address: str | None = None
    chain_id: int | None = None
    created_at: str | None = None
    anchored_at: str | None = None

    @property
    def record_count(self) -> int:
        return self.to_seq - self.from_seq + 1

    @property
    def key_id(self) -> str:
        """The id whose batch key is (to be) anchored on chain."""
        return self.anchor_id or self.batch_id


class StoredRecord(BaseModel):
    """A record as stored: the hashed body plus access metadata outside the hash."""

    body: dict[str, Any]  # the sealed record (includes seq, prev_hash, record_hash)
    owner_user_id: str | None = None
    fpo_id: str | None = None
    # A transfer/retirement/cancellation keeps what its client token was used for and what it
    # answered, so a retry answers exactly the same and a reuse with other content is a 409.
    request_sha256: str | None = None
    answer: dict[str, Any] | None = None

    @property
    def record_id(self) -> str:
        return str(self.body["record_id"])

    @property
    def seq(self) -> int:
        return int(self.body["seq"])

    @property
    def project_id(self) -> str | None:
        """Every record names its project (in the hashed body): what an auditor's access follows."""
        return self.body.get("project_id")


class VintageCount(BaseModel):
    """Credits of one vintage of a project, as the project's summary counts them."""

    issued: int = 0
    retired: int = 0
    cancelled: int = 0


class ProjectSummary(BaseModel):
    """A project's totals, kept by the ledger in the transaction of every append that changes them
    (functions/ledger/summary.py; decision 0021). Outside every hashed body: a projection of the
    records, like a credit block.

    ``first_seq``..``last_seq`` are the seqs of the first and last record it counted; ``complete``
    is set by the backfill, which counted every record of the project. Without it, the summary
    counts every record only if the project has none before ``first_seq`` (one that predates the
    summary, to be backfilled)."""

    project_id: str
    records: int = 0
    first_seq: int
    last_seq: int
    complete: bool = False
    runs: list[str] = []
    methodology_profiles: list[str] = []
    vintages: dict[int, VintageCount] = {}


# ---- outputs ------------------------------------------------------------------------------------
class RecordOut(BaseModel):
    record: dict[str, Any] = Field(
        description="The hashed record exactly as stored (canonical JSON hashes to record_hash)"
    )
    batch_id: str | None = None
    anchored: bool = False


class RecordPage(BaseModel):
    items: list[RecordOut]
    next_token: str | None = None


class CreditOut(BaseModel):
    serial: str = Field(description="The block holding the serial asked for")
    series: str
    start: int
    end: int
    quantity: int
    status: str
    holder_ref: str
    fpo_id: str
    project_id: str
    vintage: int
    record_ids: list[str] = Field(description="The ledger records of this block, oldest first")

    @classmethod
    def of(cls, block: CreditBlock) -> CreditOut:
        return cls(
            serial=block.serial,
            series=block.series,
            start=block.start,
            end=block.end,
            quantity=block.quantity,
            status=block.status,
            holder_ref=block.holder_ref,
            fpo_id=block.fpo_id,
            project_id=block.project_id,
            vintage=block.vintage,
            record_ids=block.record_ids,
        )


class AnchorOut(BaseModel):
    batch_id: str
    anchor_id: str = Field(description="The id anchored on chain: batch_id, or batch_id + '.r<n>' after n conflicts")
    batch_key: str = Field(description="sha256('agri-mrv:batch:' + anchor_id): the key on chain")
    root: str
    record_count: int
    tx_hash: str
    block_number: int
    contract_address: str
    chain_id: int
    artifact_key: str
    artifact_sha256: str
    conflicts: list[AnchorConflict] = Field(default=[], description="Foreign roots found on chain under earlier ids")


class BatchPage(BaseModel):
    items: list[Batch]
    next_token: str | None = None


class ProofOut(BaseModel):
    scheme: str
    record: dict[str, Any]
    record_hash: str
    leaf_index: int
    proof: list[dict[str, str]]
    anchor: AnchorOut


class Unlinked(BaseModel):
    """What one ``unlink_owner`` call took the account id off; ``done`` false: more remain (call again)."""

    records: int = 0
    blocks: int = 0
    done: bool = True


class WriterResult(BaseModel):
    """The writer's answer. An issuance by reference answers in pages and without the per-farmer
    lists (``record_ids``, ``credits``), so a Step Functions state stays far below 256 KB."""

    command: str
    record_ids: list[str] = []
    created: int = 0
    credits: list[CreditOut] = []
    batches: list[Batch] = []
    pending: bool = False
    farmers: int | None = Field(None, description="Issuance: farmers in the run")
    credits_total: int | None = Field(None, description="Issuance: credits of the whole run (all pages)")
    credits_in_page: int | None = Field(None, description="Issuance: credits held by this page's farmers")
    next_farmer: int | None = Field(
        None, description="Issuance by reference: the next page's from_farmer, null once every farmer is issued"
    )
    unlinked: Unlinked | None = Field(None, description="unlink_owner (a farmer's erasure): what was unlinked")
