"""What the ledger's rules need from the outside, as small interfaces: the ledger table
(:class:`LedgerStore`, DynamoDB in dal.py), the batch artifacts (:class:`ArtifactStore`, S3), the
anchoring registry (:class:`Chain`, agri_chain on AWS) and, for the API, the writer
(:class:`WriterGateway`, a Lambda invoke). The unit tests pass in-memory fakes of each.

No boto3 and no web3 here, nor in the modules that use these interfaces (issuance, moves,
anchoring, queries).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from functions.ledger import models as m

MAX_TRANSACTION_ITEMS = 100  # DynamoDB's TransactWriteItems limit: an append (head, records, ...) stays within it


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
    blocks: list[tuple[m.CreditBlock, int | None]] = field(
        default_factory=list
    )  # (block, expected version or None = new)
    salt: tuple[str, str] | None = None  # (farmer id, salt): the farmer's first record stores their salt with it
    absent: list[str] = field(default_factory=list)  # record ids that must not exist (same client token, other kind)


class LedgerStore(Protocol):
    """The ledger table: the chain of records and its head, credit blocks, batches, salts, run claims,
    and each project's summary (added to by :meth:`append` in the same transaction, summary.py)."""

    def head(self) -> tuple[int, str]: ...
    def append(self, entries: Sequence[Append], expected_seq: int) -> None: ...
    def get_record(self, record_id: str) -> m.StoredRecord | None: ...
    def get_records(self, record_ids: Sequence[str]) -> dict[str, m.StoredRecord]: ...
    def records_by_seq(self, from_seq: int, to_seq: int) -> list[m.StoredRecord]: ...
    def query_records(
        self, index: str, value: str, limit: int, cursor: Any, filters: dict[str, str]
    ) -> tuple[list[m.StoredRecord], Any]: ...
    def project_summary(self, project_id: str) -> m.ProjectSummary | None: ...
    def put_project_summary(self, summary: m.ProjectSummary, expected_last_seq: int | None) -> bool: ...
    def project_seq_from(self, project_id: str, from_seq: int) -> int | None: ...
    def count_project_records_from(self, project_id: str, from_seq: int, at_most: int) -> int: ...
    def salts(self, farmer_ids: Sequence[str]) -> dict[str, str | None]:
        """Stored salts; a farmer without a record is absent, an erased farmer maps to None."""
        ...

    def claim_run(self, run_key: str, input_hash: str) -> str: ...
    def find_block(self, series: str, serial_number: int) -> m.CreditBlock | None: ...
    def blocks_between(self, series: str, start: int, end: int) -> list[m.CreditBlock]: ...
    def unlink_owner(self, user_id: str, record_ids: Sequence[str], blocks: Sequence[m.CreditBlock]) -> None:
        """Take ``user_id`` off these blocks (``owner_user_id``; the version moves, so a move checked
        against the old one fails) and then off these records (``g_owner``), in transactions of at most
        100 writes; a block or record that no longer names it is left alone (idempotent)."""
        ...

    def batch_cursor(self) -> tuple[int, str | None]: ...
    def create_batch(self, batch: m.Batch, expected_next_seq: int) -> bool: ...
    def get_batch(self, from_seq: int) -> m.Batch | None: ...
    def update_batch(self, batch: m.Batch, **changes: Any) -> m.Batch: ...
    def close_batch(self, batch: m.Batch) -> None: ...
    def find_batch(self, seq: int) -> m.Batch | None: ...
    def list_batches(
        self, limit: int, cursor: Any, *, status: str | None, conflicts_only: bool
    ) -> tuple[list[m.Batch], Any]: ...


class ArtifactStore(Protocol):
    """Batch files, the manifest and approved runs (the audit bucket)."""

    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...


class Receipt(Protocol):
    """A mined transaction (agri_chain.Receipt)."""

    @property
    def tx_hash(self) -> str: ...
    @property
    def block_number(self) -> int: ...
    @property
    def status(self) -> int: ...


class OnChainAnchor(Protocol):
    """What the registry holds under a batch key (agri_chain.OnChainAnchor); root all zeros if nothing."""

    @property
    def root(self) -> str: ...
    @property
    def record_count(self) -> int: ...
    @property
    def block_number(self) -> int: ...


class Chain(Protocol):
    """The anchoring registry on one chain (agri_chain.ChainClient)."""

    @property
    def contract_address(self) -> str: ...
    @property
    def chain_id(self) -> int: ...
    def send_anchor(self, batch_key: bytes, root_hex: str, record_count: int) -> str: ...
    def receipt(self, tx_hash: str) -> Receipt | None: ...
    def transaction_known(self, tx_hash: str) -> bool: ...
    def anchored(self, batch_key: bytes) -> OnChainAnchor: ...
    def anchor_transaction(self, batch_key: bytes, block_number: int) -> str | None: ...


class WriterGateway(Protocol):
    """How the read API reaches the writer (the only role that may write the ledger)."""

    def submit(self, event: m.WriterEvent) -> m.WriterResult: ...
