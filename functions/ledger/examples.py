"""Request examples of the ledger routes (see functions/auth/examples.py)."""

from pydantic.config import JsonDict

SERIAL = "AGM-prj_0000abcd-2025-prj_0000abcd_2025_kharif-000000001-000000010"
INLINE_RUN: JsonDict = {
    "project_id": "prj_0000abcd",
    "run_id": "prj_0000abcd_2025_kharif",
    "vintage": 2025,
    "methodology_profile": "vm0051",
    "gwp": "AR5",
    "approved_by": "auditor-user-id",
    "approved_at": "2026-01-15T10:00:00Z",
    "deductions": {"uncertainty": "1.5", "leakage": "0.5"},
    "creditable_net_t": "12.5",
    "farmers": [
        {"farmer_id": "F-0001", "owner_user_id": "farmer-user-id-1", "fpo_id": "FPO-DEMO-1", "net_t": "7.25"},
        {"farmer_id": "F-0002", "owner_user_id": "farmer-user-id-2", "fpo_id": "FPO-DEMO-1", "net_t": "7.25"},
    ],
}
TRANSFER: JsonDict = {"serial": SERIAL, "quantity": 5, "to_ref": "buyer:acct-42", "client_token": "transfer-2026-0001"}
RETIRE: JsonDict = {
    "serial": SERIAL,
    "quantity": 5,
    "beneficiary_ref": "acme-foods:fy2025",
    "reason": "voluntary",
    "client_token": "retire-2026-0001",
}
CANCEL: JsonDict = {"serial": SERIAL, "quantity": 1, "reason": "issuance_error", "client_token": "cancel-2026-0001"}
