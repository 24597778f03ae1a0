"""The verifier's tests check exports of a real ledger: the writer and reader over the ledger's in-memory
fakes, the fixture of the ledger domain's tests (tests/unit/functions/ledger/conftest.py)."""

from tests.unit.functions.ledger.conftest import ledger  # noqa: F401 (fixture)
