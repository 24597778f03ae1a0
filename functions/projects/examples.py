"""Request examples of the projects routes (see functions/auth/examples.py)."""

from pydantic.config import JsonDict

CREATE_PROJECT: JsonDict = {
    "name": "Punjab AWD rice 2025",
    "fpo_ids": ["FPO-DEMO-1"],
    "methodology": "vm0051",
    "profile": "vm0051",
    "gwp": "AR5",
    "region": "south_asia",
    "climate": "wet",
    "crediting_start": "2025-04-01",
    "crediting_end": "2030-03-31",
    "buffer_fraction": 0.1,
    "baseline_water_regime": "continuously_flooded",
    "draws": 2000,
    "confidence": 0.9,
    "target_precision": 0.1,
}
ASSIGN_AUDITOR: JsonDict = {"username": "auditor.meera"}
START_RUN: JsonDict = {"period": "2025-kharif"}
