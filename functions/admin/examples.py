"""Request examples of the admin routes (see functions/auth/examples.py)."""

from pydantic.config import JsonDict

CREATE_USER: JsonDict = {
    "username": "ravi.kumar",
    "role": "fpo_manager",
    "fpo_id": "FPO-DEMO-1",
    "name": "Ravi Kumar",
    "email": "ravi.kumar@example.org",
    "phone_number": "+919876543210",
}
CHANGE_ROLE: JsonDict = {"role": "auditor"}
CREATE_API_KEY: JsonDict = {
    "name": "verra-registry-sync",
    "owner": "Example Carbon Registry",
    "contact": "integrations@registry.example",
    "plan": "standard",
}
