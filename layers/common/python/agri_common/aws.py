"""Lazily built, cached boto3 clients and resources.

Never called at import time: building clients at import breaks moto and slows cold starts.
Endpoints follow boto3's standard configuration, so ``AWS_ENDPOINT_URL`` points every client at
the local twin without this code knowing.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _traced() -> None:
    """X-Ray subsegments for AWS calls, set up only when a function first talks to AWS."""
    from agri_common.observability import tracer

    tracer.patch(("botocore",))


@lru_cache(maxsize=None)
def client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    _traced()
    return boto3.client(service, config=Config(retries={"mode": "standard", "max_attempts": 4}))


@lru_cache(maxsize=None)
def dynamodb_table(name: str) -> Any:
    import boto3

    _traced()
    return boto3.resource("dynamodb").Table(name)


def reset_clients() -> None:
    """Forget cached clients (tests that switch endpoints)."""
    client.cache_clear()
    dynamodb_table.cache_clear()
