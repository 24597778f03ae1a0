"""Projects data access: the pipeline table through the shared item store, Cognito for auditors,
and the farm table (read only) for the FPOs a project names."""

from __future__ import annotations

from collections.abc import Sequence

from agri_common.platform.errors import NotFoundError
from agri_common.platform.identity import CognitoIdentityProvider


class CognitoAuditorDirectory:
    """Resolves a username to its user id (sub) when the user holds the auditor role."""

    def __init__(self, user_pool_id: str):
        self.idp = CognitoIdentityProvider(user_pool_id, client_id="")

    def auditor_user_id(self, username: str) -> str | None:
        try:
            user = self.idp.admin_get_user(username)
        except NotFoundError:
            return None
        if "auditor" not in self.idp.groups_for_user(username):
            return None
        return user.user_id or user.attributes.get("sub")


class FarmFpoDirectory:
    """Which FPOs are registered: their items in the farm table (BatchGetItem, read only)."""

    def __init__(self, farm_table: str):
        self.farm_table = farm_table

    def existing(self, fpo_ids: Sequence[str]) -> set[str]:
        from agri_common.farm_table import keys
        from agri_common.single_table import DynamoTableStore

        found = DynamoTableStore(self.farm_table).batch_get([keys.fpo(f) for f in dict.fromkeys(fpo_ids)])
        return {item["fpo_id"] for item in found}  # FpoRecord
