"""Lazily built, cached boto3 clients and resources.

Never called at import time: building clients at import breaks moto and slows cold starts.
Endpoints follow boto3's standard configuration, so ``AWS_ENDPOINT_URL`` points every client at
the local twin without this code knowing.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache, lru_cache
from typing import Any

BATCH_GET_ROUNDS = 6  # BatchGetItem rounds for keys DynamoDB leaves unprocessed (throttled), with backoff


@lru_cache(maxsize=1)
def _traced() -> None:
    """X-Ray subsegments for AWS calls, set up only when a function first talks to AWS."""
    from agri_common.platform.observability import tracer

    tracer.patch(("botocore",))


@cache
def client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    _traced()
    return boto3.client(service, config=Config(retries={"mode": "standard", "max_attempts": 4}))


@cache
def dynamodb_table(name: str) -> Any:
    import boto3

    _traced()
    return boto3.resource("dynamodb").Table(name)


class DynamoTable:
    """The base of every store on one DynamoDB table (the farm and pipeline tables' store, the
    revocation store; the ledger's store can inherit it the same way): the table, built on first use
    and never at import, and the one mapping of AWS throttling or unavailability to the 503
    ``service_unavailable`` (:func:`agri_common.platform.errors.aws_unavailable`).

    Where a store must tell "AWS is busy" from its own outcomes (a cancelled transaction: busy, a
    failed condition, or a race), it calls :meth:`_raise_if_busy` first. Anything else it lets
    through unchanged: the shared resolver answers the same mapping for every route, and a Step
    Functions task retries the botocore error by name (``infra/pipeline.py``)."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    @property
    def _table(self) -> Any:
        return dynamodb_table(self.table_name)

    @staticmethod
    def _raise_if_busy(exc: BaseException) -> None:
        """Raise the 503 (from ``exc``) when it is AWS throttling or unavailability; else return."""
        from agri_common.platform.errors import aws_unavailable

        busy = aws_unavailable(exc)
        if busy is not None:
            raise busy from exc


def reset_clients() -> None:
    """Forget cached clients (tests that switch endpoints)."""
    client.cache_clear()
    dynamodb_table.cache_clear()


def batch_get_responses(
    client: Any, request_items: dict[str, Any], *, rounds: int = BATCH_GET_ROUNDS
) -> Iterator[dict[str, Any]]:
    """Every BatchGetItem response for ``request_items``, re-asking for the keys DynamoDB left
    unprocessed (it does so when throttled) with exponential backoff; after ``rounds`` rounds with
    keys still unprocessed, a 503 ``service_unavailable`` instead of spinning until the timeout."""
    import time

    pending = request_items
    for round_ in range(rounds):
        resp = client.batch_get_item(RequestItems=pending)
        yield resp
        pending = resp.get("UnprocessedKeys") or {}
        if not pending:
            return
        if round_ < rounds - 1:
            time.sleep(min(0.05 * 2**round_, 0.8))
    from agri_common.platform.errors import SERVICE_UNAVAILABLE_MESSAGE, DependencyError

    raise DependencyError(SERVICE_UNAVAILABLE_MESSAGE)


def put_verified_object(bucket: str, key: str, body: bytes, content_type: str) -> str:
    """PutObject with the body's SHA-256 sent as ``ChecksumSHA256``: S3 refuses bytes that do not match,
    and an Object Lock bucket (the audit bucket) requires an integrity checksum. Returns the hex SHA-256."""
    import base64
    import hashlib

    digest = hashlib.sha256(body).digest()
    client("s3").put_object(
        Bucket=bucket,
        Key=key,
        Body=body,
        ContentType=content_type,
        ChecksumAlgorithm="SHA256",
        ChecksumSHA256=base64.b64encode(digest).decode(),
    )
    return digest.hex()
