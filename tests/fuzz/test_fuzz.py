"""Bounded property-based fuzzing of every operation of the committed OpenAPI document, over HTTP
against the local twin, once per role.

    .venv/bin/python -m pytest -p no:cacheprovider -m fuzz tests/fuzz

Schemathesis generates requests from functions/docs/openapi.json (valid and invalid ones), sends them
with the role's ID token, and checks every response: no 5xx, every status documented for the
operation, the documented content type, the body valid against the documented schema, headers,
invalid data refused, valid data not refused for a non-documented reason, and private operations
refusing a missing or forged token. Fixed seed, deterministic generation, no example database:
the same code gives the same requests. ``AGRI_FUZZ_EXAMPLES`` bounds the examples per operation
of the fuzzing phase (default 6); ``AGRI_FUZZ_PATHS`` (a regex) fuzzes only the matching paths;
``AGRI_FUZZ_KEEP_GOING=1`` records every failing request instead of stopping each operation at its
first, and fails once at the end; ``AGRI_FUZZ_STRICT=1`` also fails schema-valid data refused with
400/422. Each failing request is written, one JSON line each, to ``AGRI_FUZZ_REPORT`` (or a file
under pytest's tmp dir, printed at the end).
"""

from __future__ import annotations

import os
import threading

import pytest
import requests
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup

from infra.local.twin import login_tokens
from infra.openapi import SPEC_PATH

ROLES = ("farmer", "fpo_manager", "auditor", "admin")
SEED = 20261127
EXAMPLES = int(os.environ.get("AGRI_FUZZ_EXAMPLES", "6"))
PATHS = os.environ.get("AGRI_FUZZ_PATHS")  # optional regex: fuzz only the matching paths
# Triage: record every failing request (not only each operation's first) and fail once, at the end.
KEEP_GOING = os.environ.get("AGRI_FUZZ_KEEP_GOING") == "1"
POSITIVE_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
if os.environ.get("AGRI_FUZZ_STRICT") != "1":
    POSITIVE_STATUSES += ["400", "422"]

pytestmark = [
    pytest.mark.fuzz,
]


def fuzz_config() -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "color": False,
            # Hypothesis' health checks judge generation speed and filtering (the phone pattern within
            # its length bounds filters many candidates; the shared machine is slow): they would make the
            # run fail on the machine's load, not on the API's behaviour.
            "suppress-health-check": ["all"],
            "request-timeout": 60,
            # Failures are reported unshrunk: shrinking replays a failing operation tens of times.
            "generation": {
                "mode": "all",
                "max-examples": EXAMPLES,
                "deterministic": True,
                "database": "none",
                "no-shrink": True,
            },
            "output": {"sanitization": {"enabled": False}},  # the report shows the exact request (demo data only)
            # The coverage phase (every boundary and negation of every field, deterministically) sends
            # hundreds of requests to the large bodies and took most of a 17-minute run: off, so the
            # run stays bounded by EXAMPLES per operation. Stateful links are not declared.
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": False},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": False},
            },
            "checks": {
                # API Gateway (REST) answers a method a resource does not have with its
                # MISSING_AUTHENTICATION_TOKEN gateway response (404 route_not_found here), never 405.
                "unsupported_method": {"enabled": False},
                # Schema-valid data may still be refused by rules JSON Schema cannot state: a checksum
                # (Aadhaar's Verhoeff digit), an order between two fields (sowing before harvest,
                # crediting start before end), a rule that depends on the caller's role. So 400 and
                # 422 are allowed here; AGRI_FUZZ_STRICT=1 lists every such refusal (to tighten the spec).
                "positive_data_acceptance": {"expected-statuses": POSITIVE_STATUSES},
            },
        }
    )


class Tokens:
    """One ID token per demo role, logged in lazily and again after the fuzzer logs it out."""

    def __init__(self, base_url: str, users: dict[str, dict]):
        self.base_url, self.users = base_url, users
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, role: str) -> str:
        with self._lock:
            if role not in self._tokens:
                user = self.users[role]

                def post(path: str, body: dict) -> dict:
                    r = requests.post(f"{self.base_url}{path}", timeout=60, json=body)
                    assert r.status_code == 200, f"login as {role}: {r.status_code} {r.text}"
                    answer: dict = r.json()
                    return answer

                tokens = login_tokens(post, user["username"], user["password"], user.get("totp_secret"))
                self._tokens[role] = tokens["id_token"]
            return self._tokens[role]

    def forget(self, role: str) -> None:
        with self._lock:
            self._tokens.pop(role, None)


@pytest.fixture(scope="session")
def tokens(fuzz_twin) -> Tokens:
    return Tokens(fuzz_twin["api"], {u["role"]: u for u in fuzz_twin["users"]})


@pytest.fixture(scope="session")
def http() -> requests.Session:
    return requests.Session()


# Loaded from the committed file at collection (no twin needed): one test per operation and role.
# (schemathesis.pytest.from_fixture, the lazy loader, does not run on pytest 9.2: it sets
# Node._nodeid, which pytest 9.2 replaced.)
schema = schemathesis.openapi.from_path(SPEC_PATH, config=fuzz_config())
if PATHS:
    schema = schema.include(path_regex=PATHS)


def _fuzz_as(role: str):
    @schema.parametrize()
    def test(case, fuzz_twin, tokens, http, fuzz_findings):
        fuzz_findings.sent(role, case)
        response = None
        try:
            response = case.call_and_validate(
                base_url=fuzz_twin["api"], session=http, headers={"Authorization": tokens.get(role)}
            )
        except FailureGroup as group:
            fuzz_findings.record(role, case, group)
            if not KEEP_GOING:
                raise
            return
        if case.operation.path == "/auth/logout" and response is not None and response.status_code == 200:
            tokens.forget(role)  # the fuzzer revoked this role's tokens: log in again

    test.__name__ = f"test_fuzz_as_{role}"
    return test


test_fuzz_as_farmer = _fuzz_as("farmer")
test_fuzz_as_fpo_manager = _fuzz_as("fpo_manager")
test_fuzz_as_auditor = _fuzz_as("auditor")
test_fuzz_as_admin = _fuzz_as("admin")
