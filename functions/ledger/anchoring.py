"""Batching and anchoring: consecutive records are grouped into batches, each batch's Merkle root is
written to the audit bucket (the batch file) and anchored on chain, and ``MANIFEST.json`` names the
newest anchored batch (for a verifier of an export).

Why it cannot fork or anchor twice: a batch covers a seq range fixed when it is created (the batch
cursor moves in the same conditional write), so re-running never regroups records; on chain the batch
key can be anchored once (the contract refuses a second root), and a batch with a transaction hash
is re-checked, never blindly re-sent: pending until a receipt proves it mined. A foreign root under
a batch's key (another ledger anchored with the same contract) is a *conflict*: recorded, raised,
and the batch moves on to the next id (``<batch_id>.r<n>``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agri_common.ledger_crypto import (
    GENESIS_HASH,
    HASH_SCHEME,
    MANIFEST_KIND,
    MANIFEST_NAME,
    LedgerIntegrityError,
    batch_key,
    canonical_json,
    merkle_root,
    sha256_hex,
    verify_chain,
)
from agri_common.notify import NotificationEvent, notify
from agri_common.platform.observability import logger, metrics
from functions.ledger import models as m
from functions.ledger.ports import ArtifactStore, Chain, LedgerStore, OnChainAnchor

MAX_BATCH_RECORDS = 10_000
MAX_CONFLICTS_PER_RUN = 8  # foreign roots stepped over per anchoring run before the batch waits for the next run
ARTIFACT_PREFIX = "ledger/batches/"
ZERO_ROOT = "0" * 64


def _no_sleep(_seconds: float) -> None:
    return None


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff; ``sleep`` is injected so tests never wait."""

    rpc_attempts: int = 4
    receipt_polls: int = 8
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    sleep: Callable[[float], None] = _no_sleep

    def delay(self, attempt: int) -> float:
        return float(min(self.base_delay_s * (2**attempt), self.max_delay_s))


class Anchorer:
    """The writer's anchoring: batches the unanchored records and anchors each batch's root."""

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
        self.artifacts = artifacts
        self._chain_factory = chain
        self._chain: Chain | None = None
        self.now = now
        self.retry = retry
        self.max_batch = max_batch

    def chain(self) -> Chain:
        """The chain client, connected on first use (an issuance without anchoring never connects)."""
        if self._chain is None:
            self._chain = self._chain_factory()
        return self._chain

    def anchor(self, max_batches: int = 50) -> list[m.Batch]:
        """Anchor every unanchored record, batch by batch; stop at the first batch left pending."""
        out: list[m.Batch] = []
        for _ in range(max_batches):
            next_seq, pending = self.store.batch_cursor()
            if pending is not None:
                found = self.store.get_batch(int(pending))
                if found is None:
                    raise LedgerIntegrityError(f"the batch cursor names pending batch {pending}, which is not stored")
                batch = found
            else:
                head_seq, _ = self.store.head()
                if head_seq < next_seq:
                    break
                to_seq = min(head_seq, next_seq + self.max_batch - 1)
                batch = m.Batch(
                    batch_id=f"{next_seq:012d}-{to_seq:012d}", from_seq=next_seq, to_seq=to_seq, created_at=self.now()
                )
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
            raise LedgerIntegrityError(
                f"batch {batch.batch_id} expects {batch.record_count} records, found {len(bodies)}"
            )
        verify_chain(
            bodies,
            start_prev_hash=bodies[0]["prev_hash"] if batch.from_seq > 1 else GENESIS_HASH,
            start_seq=batch.from_seq,
        )
        root = merkle_root([b["record_hash"] for b in bodies])
        if batch.artifact_sha256 is None:
            batch = self._write_artifact(batch, root, bodies)
        elif batch.root != root:
            raise LedgerIntegrityError(
                f"batch {batch.batch_id}: stored records hash to {root}, the batch says {batch.root}"
            )
        for attempt in range(self.retry.rpc_attempts):
            try:
                return self._anchor_on_chain(batch, root, bodies)
            except Exception as exc:
                from agri_chain import ChainUnavailable

                if not isinstance(exc, ChainUnavailable):
                    raise
                logger.warning(
                    "chain unavailable; batch stays pending",
                    extra={"batch_id": batch.batch_id, "attempt": attempt + 1, "error": str(exc)},
                )
                batch = self.store.get_batch(batch.from_seq) or batch
                self.retry.sleep(self.retry.delay(attempt))
        return batch

    def _write_artifact(self, batch: m.Batch, root: str, bodies: list[dict[str, Any]]) -> m.Batch:
        """The batch file (every record, the root, and once re-keyed its anchor id and the conflicts
        that moved it) in the audit bucket; a rewrite adds an object version (Object Lock)."""
        doc: dict[str, Any] = {
            "scheme": HASH_SCHEME,
            "batch_id": batch.batch_id,
            "from_seq": batch.from_seq,
            "to_seq": batch.to_seq,
            "root": root,
            "records": bodies,
        }
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
            logger.error(
                "anchor conflict: every id tried holds a foreign root; the batch stays in conflict",
                extra={"batch_id": batch.batch_id, "anchor_id": batch.key_id},
            )
            return batch
        key = batch_key(batch.key_id)
        tx_hash = batch.tx_hash
        if not (tx_hash and chain.transaction_known(tx_hash)):
            # Never sent, or dropped by the node: (re)send. The contract refuses a second root for
            # the same batch key, so even a duplicate that slipped through cannot anchor twice.
            tx_hash = chain.send_anchor(key, root, batch.record_count)
            batch = self.store.update_batch(
                batch, tx_hash=tx_hash, contract_address=chain.contract_address, chain_id=chain.chain_id
            )
        for poll in range(self.retry.receipt_polls):
            receipt = chain.receipt(tx_hash)
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
        logger.warning(
            "anchor transaction not mined yet; batch stays pending",
            extra={"batch_id": batch.batch_id, "tx_hash": batch.tx_hash},
        )
        return batch

    def _conflict(self, batch: m.Batch, root: str, bodies: list[dict[str, Any]], on_chain: OnChainAnchor) -> m.Batch:
        """A foreign root holds this batch's key on chain (the contract refuses ours forever): record
        what is there, mark the batch ``conflict``, raise it (error log, metric, ``GET /ledger/batches``)
        and move the batch to the next id, ``<batch_id>.r<n>``; its artifact is rewritten to name it."""
        conflict = m.AnchorConflict(
            anchor_id=batch.key_id,
            root=on_chain.root,
            record_count=on_chain.record_count,
            block_number=on_chain.block_number,
            detected_at=self.now(),
        )
        conflicts = [*batch.conflicts, conflict]
        next_id = f"{batch.batch_id}.r{len(conflicts)}"
        logger.error(
            "anchor conflict: a foreign root is on chain under this batch's key; anchoring under the next id",
            extra={
                "batch_id": batch.batch_id,
                "anchor_id": conflict.anchor_id,
                "root_on_chain": on_chain.root,
                "our_root": root,
                "next_anchor_id": next_id,
            },
        )
        metrics.add_metric(name="LedgerAnchorConflicts", unit="Count", value=1)
        notify(
            NotificationEvent(
                kind="anchoring_conflict",
                event_id=f"anchoring_conflict:{conflict.anchor_id}",
                values={"batch_id": batch.batch_id, "next_anchor_id": next_id},
            )
        )
        batch = self.store.update_batch(
            batch,
            status="conflict",
            anchor_id=next_id,
            tx_hash=None,
            conflicts=[c.model_dump(mode="json") for c in conflicts],
        )
        return self._write_artifact(batch, root, bodies)

    def _settle(self, batch: m.Batch, on_chain: OnChainAnchor) -> m.Batch:
        chain = self.chain()
        tx = None
        if batch.tx_hash:
            receipt = chain.receipt(batch.tx_hash)
            tx = batch.tx_hash if receipt is not None and receipt.status == 1 else None
        tx = tx or chain.anchor_transaction(batch_key(batch.key_id), on_chain.block_number)
        return self._mark_anchored(batch, tx, on_chain.block_number, chain)

    def _mark_anchored(self, batch: m.Batch, tx_hash: str | None, block_number: int, chain: Chain) -> m.Batch:
        batch = self.store.update_batch(
            batch,
            status="anchored",
            tx_hash=tx_hash,
            block_number=block_number,
            contract_address=chain.contract_address,
            chain_id=chain.chain_id,
            anchored_at=self.now(),
        )
        self._write_manifest(batch)  # before the cursor moves on: manifests follow the batches in order
        self.store.close_batch(batch)
        return batch

    def _write_manifest(self, batch: m.Batch) -> None:
        """``MANIFEST.json`` beside the batch files: the newest anchored batch, so a verifier of an
        export knows which batch is the newest. Never moves back (a late duplicate invocation that
        anchored an older batch leaves a newer manifest alone)."""
        key = f"{ARTIFACT_PREFIX}{MANIFEST_NAME}"
        try:
            current = json.loads(self.artifacts.get(key))["head"]["to_seq"]
        except Exception:
            current = 0
        if current > batch.to_seq:
            return
        head = {
            "batch_id": batch.batch_id,
            "anchor_id": batch.key_id,
            "from_seq": batch.from_seq,
            "to_seq": batch.to_seq,
            "root": batch.root,
            "artifact_sha256": batch.artifact_sha256,
            "chain_id": batch.chain_id,
            "contract_address": batch.contract_address,
            "tx_hash": batch.tx_hash,
            "block_number": batch.block_number,
        }
        self.artifacts.put(
            key, canonical_json({"scheme": HASH_SCHEME, "kind": MANIFEST_KIND, "head": head, "written_at": self.now()})
        )
