"""Request examples of the verification routes (see functions/auth/examples.py)."""

from pydantic.config import JsonDict

# Every item of the vm0051 checklist (functions/verification/checklists/vm0051.json): a decision must answer all
_PASS = (
    "data_completeness",
    "evidence_present",
    "areas_verified",
    "deviations_explained",
    "water_regime_monitoring",
    "n2o_deduction",
    "uncertainty_90ci",
)
DECISION: JsonDict = {
    "decision": "approve",
    "reason": "Sampled plots match the declared water regimes",
    "findings": [
        {
            "plot_id": "P-EXAMPLE",
            "season_key": "2025-kharif",
            "severity": "info",
            "message": "AWD pipe readings present for 6 of 6 weeks",
        }
    ],
    "checklist": {
        "sample_visited": {"answer": "pass", "note": "12 of 12 sampled plots visited"},
        **{item: {"answer": "pass"} for item in _PASS},
    },
}
OBSERVATIONS: JsonDict = {
    "observations": [
        {
            "plot_id": "P-EXAMPLE",
            "season_key": "2025-kharif",
            "source": "sentinel1_sar",
            "start_date": "2025-06-20",
            "end_date": "2025-10-25",
            "flooded_days": 80,
            "max_continuous_flooded_days": 21,
            "method": "Sentinel-1 VH backscatter threshold, 12-day revisit",
        }
    ]
}
