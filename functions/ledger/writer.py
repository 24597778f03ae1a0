"""The ledger writer: the last step of the MRV state machine, and the only code that writes the
ledger. It runs one :class:`~functions.ledger.models.WriterEvent` (issue, transfer, retire, cancel,
anchor, unlink_owner) through the module that does it (issuance, moves, anchoring, unlinking); its
Lambda entry point is writer_handler.py.

No boto3 and no web3 here: data, artifacts and the chain come in through the interfaces of ports.py
(DynamoDB/S3 in dal.py, agri_chain on AWS, fakes in the unit tests).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from agri_common.notify import NotificationEvent, notify_all
from agri_common.platform.errors import UnprocessableError
from agri_common.platform.observability import logger, metrics
from functions.ledger import issuance
from functions.ledger import models as m
from functions.ledger.anchoring import MAX_BATCH_RECORDS, Anchorer, RetryPolicy
from functions.ledger.issuance import Issuer
from functions.ledger.moves import Mover
from functions.ledger.ports import ArtifactStore, Chain, LedgerStore
from functions.ledger.unlinking import OwnerUnlinker

T = TypeVar("T")


STUCK_AFTER = timedelta(hours=1)


def _given(value: T | None, name: str) -> T:
    """A part of the event its command needs (WriterEvent's validator refuses an event without it)."""
    if value is None:
        raise UnprocessableError(f"The writer command needs {name}")
    return value


class LedgerWriter:
    """Runs the writer's commands: :attr:`issuer` issues, :attr:`mover` moves, :attr:`anchorer` anchors."""

    def __init__(
        self,
        store: LedgerStore,
        artifacts: ArtifactStore,
        chain: Callable[[], Chain],
        *,
        now: Callable[[], str],
        retry: RetryPolicy = RetryPolicy(),
        max_batch: int = MAX_BATCH_RECORDS,
    ):
        self.store = store
        self.now = now
        self.issuer = Issuer(store, artifacts, now=now)
        self.mover = Mover(store, now=now)
        self.unlinker = OwnerUnlinker(store)
        self.anchorer = Anchorer(store, artifacts, chain, now=now, retry=retry, max_batch=max_batch)

    def handle(self, event: m.WriterEvent) -> m.WriterResult:
        if event.command == "issue" and event.run_ref is not None:
            run = self.issuer.load_run(event.run_ref)
            result = self.issuer.issue(run, first=event.from_farmer, page=issuance.ISSUE_PAGE, with_credits=False)
            result.record_ids = []  # pages answer with counts: the state stays small
        elif event.command == "issue":
            result = self.issuer.issue(_given(event.run, "run"))
        elif event.command == "transfer":
            result = self.mover.transfer(_given(event.transfer, "transfer"), _given(event.actor, "actor"))
        elif event.command == "retire":
            result = self.mover.retire(_given(event.retire, "retire"), _given(event.actor, "actor"))
        elif event.command == "cancel":
            result = self.mover.cancel(_given(event.cancel, "cancel"), _given(event.actor, "actor"))
        elif event.command == "unlink_owner":
            return self.unlinker.unlink(_given(event.unlink_owner, "unlink_owner"))
        else:
            result = m.WriterResult(command="anchor")
        if event.command == "anchor" or (event.command == "issue" and result.next_farmer is None):
            # Transfers and retirements only append: the next issuance or the anchoring schedule
            # batches them, so the chain sees one transaction per batch, never one per record.
            # A paged issuance anchors once, after its last page.
            failed = False
            if event.command == "anchor":
                result.batches = self.anchorer.anchor()
            else:
                result.batches, failed = self._anchor_after_write()
            result.pending = failed or any(b.status != "anchored" for b in result.batches)
            self._tell_stuck(result.batches)
        return result

    def _tell_stuck(self, batches: list[m.Batch]) -> None:
        """Admins are told (once per batch) of a batch still not anchored :data:`STUCK_AFTER` after
        it was created; a conflict is told where it is detected (anchoring.py)."""
        now = datetime.fromisoformat(self.now().replace("Z", "+00:00"))
        notify_all(
            NotificationEvent(
                kind="anchoring_stuck",
                event_id=f"anchoring_stuck:{b.batch_id}",
                values={"batch_id": b.batch_id, "status": b.status},
            )
            for b in batches
            if b.status != "anchored"
            and b.created_at
            and now - datetime.fromisoformat(b.created_at.replace("Z", "+00:00")) > STUCK_AFTER
        )

    def _anchor_after_write(self) -> tuple[list[m.Batch], bool]:
        """Anchoring after an issuance: its records are committed whatever happens here, so a failure
        to anchor (beyond the chain outages and conflicts the anchorer already handles) is logged and
        counted and the answer says ``pending``, instead of failing a write that succeeded (the
        anchoring schedule retries it, and fails loudly there)."""
        try:
            return self.anchorer.anchor(), False
        except Exception:
            logger.exception("anchoring after an issuance failed; the records are stored and stay pending")
            metrics.add_metric(name="LedgerAnchorFailures", unit="Count", value=1)
            _next_seq, pending = self.store.batch_cursor()
            batch = self.store.get_batch(int(pending)) if pending is not None else None
            return ([batch] if batch is not None else []), True
