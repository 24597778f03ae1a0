"""The ledger writer's Lambda entry point (the :class:`~functions.ledger.writer.LedgerWriter` is in
writer.py): the last step of the MRV state machine, and the only function whose role may write the
ledger table.

Input: a :class:`~functions.ledger.models.WriterEvent` (``issue`` an approved run — inline, or by
reference to an object in the audit bucket, one page of farmers per call — ``transfer``,
``retire``, or ``anchor`` the pending records). Output: ``{"ok": true, "result": {...}, "error":
null, "next_farmer": n | null}`` or ``{"ok": false, "result": null, "error": {"status", "code",
"message", "details"}, "next_farmer": null}`` for domain errors, so the API (which invokes it
synchronously) can answer with the same envelope and Step Functions can branch on ``ok`` and loop
on ``next_farmer``. Unexpected failures raise, so Lambda/Step Functions retry them, and so do
dependency errors (5xx, e.g. a ledger head that kept moving) of a page by reference: a refused page
would leave a half-issued run, a retried one completes it.

Chain by configuration (agri_chain): ``CHAIN_RPC_URL``, ``CHAIN_CONTRACT_ADDRESS``, and on AWS the
signing key from Secrets Manager (``CHAIN_KEY_SECRET_ARN``), read once per container.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from agri_common.platform import activity
from agri_common.platform.clock import utc_iso_seconds_z
from agri_common.platform.errors import AppError, Detail, validation_details
from agri_common.platform.observability import logger, metrics
from agri_common.platform.settings import BaseSettingsModel, load_settings
from functions.ledger import models as m
from functions.ledger.anchoring import RetryPolicy
from functions.ledger.dal import DynamoLedgerStore, S3ArtifactStore
from functions.ledger.ports import Chain
from functions.ledger.writer import LedgerWriter

IN_PROCESS_URL = "eth-tester://in-process"  # agri_chain.IN_PROCESS_URL, without importing web3 here


class WriterSettings(BaseSettingsModel):
    ledger_table: str
    audit_bucket: str
    chain_rpc_url: str = IN_PROCESS_URL
    chain_contract_address: str | None = None
    chain_key_secret_arn: str | None = None
    anchor_receipt_polls: int = 8


def _chain() -> Chain:
    from agri_chain import connect

    s = load_settings(WriterSettings)
    key = None
    if s.chain_key_secret_arn:
        from agri_common.platform.aws import client

        key = client("secretsmanager").get_secret_value(SecretId=s.chain_key_secret_arn)["SecretString"].strip()
    return connect(s.chain_rpc_url, contract_address=s.chain_contract_address, private_key=key)


@lru_cache(maxsize=1)
def get_writer() -> LedgerWriter:
    s = load_settings(WriterSettings)
    return LedgerWriter(
        DynamoLedgerStore(s.ledger_table),
        S3ArtifactStore(s.audit_bucket),
        _chain,
        now=utc_iso_seconds_z,
        retry=RetryPolicy(receipt_polls=s.anchor_receipt_polls, sleep=time.sleep),
    )


def _error(status: int, code: str, message: str, details: Sequence[Detail] | None = None) -> dict[str, Any]:
    return {
        "ok": False,
        "result": None,
        "next_farmer": None,
        "error": {"status": status, "code": code, "message": message, "details": list(details) if details else None},
    }


def handle(event: dict[str, Any], writer: LedgerWriter) -> dict[str, Any]:
    try:
        command = m.WriterEvent.model_validate(event)
    except ValidationError as exc:
        return _error(
            422,
            "validation_error",
            "The writer command is invalid",
            validation_details([dict(e) for e in exc.errors()]),
        )
    try:
        result = writer.handle(command)
    except AppError as exc:
        if command.run_ref is not None and exc.status >= 500:
            raise  # a page of the state machine's issuance: transient, so Step Functions retries it
        return _error(exc.status, exc.code, exc.message, exc.details)
    metrics.add_metric(name="LedgerRecordsAppended", unit="Count", value=result.created)
    return {"ok": True, "result": result.model_dump(mode="json"), "error": None, "next_farmer": result.next_farmer}


def _system_recording(event: Any) -> activity.Recording | None:
    """The activity event of an invocation that is no API request (those have their route's event):
    a page of the state machine's issuance (``pipeline.issue_credits``, target the run, from the
    approved run's key ``ledger/approved/<project>/<run>/a<n>.json``) or the anchoring schedule."""
    if not isinstance(event, dict):
        return None
    ref = event.get("run_ref")
    if event.get("command") == "issue" and isinstance(ref, dict):
        parts = str(ref.get("key") or "").split("/")
        project_id, run_id = (parts[2], parts[3]) if len(parts) == 5 else (None, None)
        return activity.begin_step("issue_credits", run_id=run_id, project_id=project_id)
    if event.get("command") == "anchor":
        return activity.begin_system("ledger.anchor", target=None)
    return None


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    recording = _system_recording(event)  # raises if its intent cannot be written: nothing runs
    outcome = "internal_error"
    try:
        out = handle(event, get_writer())
        outcome = "ok" if out.get("ok") else str((out.get("error") or {}).get("code") or "error")
        return out
    except Exception as exc:
        outcome = type(exc).__name__
        raise
    finally:
        if recording is not None:
            activity.finish(recording, outcome=outcome)
