"""Request examples of the fpo routes (see functions/auth/examples.py)."""

from pydantic.config import JsonDict

CREATE_FPO: JsonDict = {
    "fpo_id": "FPO-PB-LDH-01",
    "name": "Ludhiana Kisan Producer Company",
    "state": "Punjab",
    "district": "Ludhiana",
    "registration_number": "U01100PB2019PTC012345",
}
