"""What every farmers service needs: the store, the clock, ids, settings, the Aadhaar key, the
sync receipt hook. One object, built per request by the handler (tests build it with fakes)."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agri_common.farm_table import keys
from agri_common.farm_table.records import FpoRecord, SyncReceipt
from agri_common.platform.clock import utc_iso_seconds_offset
from agri_common.platform.errors import ConflictError, Detail, NotFoundError, UnprocessableError
from agri_common.platform.principal import Principal
from agri_common.single_table import Put, TableStore, Txn


def derived_id(prefix: str, *parts: str) -> str:
    """A deterministic id: the same inputs (an import row, a sync client id) give the same id,
    which is what makes replays and re-imports idempotent."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]
    return f"{prefix}-{digest}"


def keyed_id(prefix: str, key: bytes, *parts: str) -> str:
    """A deterministic id from personal input (an imported farmer's phone number): keyed, so the id cannot
    be reversed to the input by trying every number, as an unkeyed hash of a 10-digit phone number can
    (docs/decisions/0017: an erased farmer's id stays on their plots, runs and reports)."""
    purpose = hmac.new(key, b"agri-mrv farmer id", hashlib.sha256).digest()  # never the Aadhaar hash's own key
    digest = hmac.new(purpose, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()[:20]
    return f"{prefix}-{digest}"


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


def field_error(
    field: str, issue: str, type_: str = "value_error", message: str = "The request is invalid"
) -> UnprocessableError:
    return UnprocessableError(message, details=[{"field": field, "issue": issue, "type": type_}])


class StaleVersionDetail(Detail):
    current_version: Any
    current: dict[str, Any]


class VersionConflict(ConflictError):
    """409 for a stale write: carries the current version and content (also reported by sync)."""

    code = "version_conflict"

    def __init__(self, what: str, current: dict[str, Any]):
        super().__init__(
            f"The {what} has changed since the version you based this on",
            details=[
                StaleVersionDetail(
                    field="body.version",
                    issue=f"current version is {current.get('version')}",
                    type="stale_version",
                    current_version=current.get("version"),
                    current=current,
                )
            ],
        )
        self.current = current


class ReceiptExists(Exception):
    """The sync receipt of this client id is already stored: the change was applied before."""


@dataclass(frozen=True)
class Receipt:
    """Sync idempotency: written in the same transaction as the change it acknowledges."""

    user_id: str
    client_id: str
    content_hash: str

    def op(self, entity: str, record_id: str, version: int, now: str) -> Put:
        return Put(
            SyncReceipt(
                user_id=self.user_id,
                client_id=self.client_id,
                entity=entity,
                id=record_id,
                version=version,
                content_hash=self.content_hash,
                created_at=now,
            ).to_item(),
            if_absent=True,
        )


def content_hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


@dataclass
class OverlapPolicy:
    """Refuse a plot (409) whose overlap with another plot exceeds either threshold; smaller
    overlaps are accepted and flagged on both plots."""

    max_fraction_of_smaller: float = 0.05
    max_ha: float = 0.05


@dataclass
class FarmContext:
    store: TableStore
    aadhaar_key: Callable[[], bytes]
    overlap: OverlapPolicy = field(default_factory=OverlapPolicy)
    clock: Callable[[], str] = utc_iso_seconds_offset

    _fpos: dict[str, FpoRecord | None] = field(default_factory=dict)

    def fpo(self, fpo_id: str, field_name: str = "body.fpo_id") -> FpoRecord:
        """The FPO, read once per request (a sync batch or an import names the same FPO many times;
        FPOs are never deleted, so a request-long cache cannot go stale)."""
        if fpo_id not in self._fpos:
            self._fpos[fpo_id] = FpoRecord.from_item(self.store.get(keys.fpo(fpo_id)))
        record = self._fpos[fpo_id]
        if record is None:
            raise field_error(
                field_name, f"FPO {fpo_id} does not exist (an admin creates it with POST /fpos)", "unknown_fpo"
            )
        return record

    @staticmethod
    def with_receipt(txn: Txn, receipt: Receipt | None, entity: str, record_id: str, version: int, now: str) -> Txn:
        if receipt is not None:
            txn.add(receipt.op(entity, record_id, version, now), on_fail=ReceiptExists())
        return txn


def not_found(what: str) -> NotFoundError:
    return NotFoundError(f"{what} not found")


def caller_label(principal: Principal) -> str:
    return f"{principal.role.value}:{principal.user_id}"
