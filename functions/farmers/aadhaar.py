"""Aadhaar numbers: format and Verhoeff check, then only the last four digits and a keyed hash.

The number itself is never stored or logged. The hash is HMAC-SHA256 with a key from Secrets
Manager (``AADHAAR_HMAC_SECRET_ARN``), so the stored hashes cannot be reversed by enumerating the
10^11 valid numbers without the key. The hash makes a number unique across farmers.
"""

from __future__ import annotations

import hashlib
import hmac
import re

_FORMAT = re.compile(r"^[2-9][0-9]{11}$")  # 12 digits; UIDAI never issues numbers starting with 0 or 1

# Verhoeff: multiplication table of the dihedral group D5, the permutation, the inverse.
_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)


def verhoeff_valid(digits: str) -> bool:
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _D[c][_P[i % 8][int(ch)]]
    return c == 0


def verhoeff_check_digit(digits: str) -> str:
    """The digit to append to ``digits`` (used by tests and the demo data to build valid numbers)."""
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _D[c][_P[(i + 1) % 8][int(ch)]]
    return str(_INV[c])


def normalise(raw: str) -> str:
    """Digits only (people write ``1234 5678 9012`` or ``1234-5678-9012``)."""
    return re.sub(r"[\s-]", "", raw)


def validation_error(number: str) -> str | None:
    """Why ``number`` is not a valid Aadhaar number, or None."""
    if not _FORMAT.match(number):
        return "An Aadhaar number is 12 digits and does not start with 0 or 1"
    if not verhoeff_valid(number):
        return "The Aadhaar number fails its Verhoeff checksum"
    return None


def keyed_hash(number: str, key: bytes) -> str:
    return hmac.new(key, number.encode(), hashlib.sha256).hexdigest()
