"""Admin domain models: inputs and outputs kept apart; Cognito is the store."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agri_common.platform.inputs import Input, Line
from agri_common.platform.principal import ROLES_NEEDING_FPO, Role
from functions.admin import examples

USERNAME = r"^[A-Za-z0-9._@+-]{3,128}$"
FPO_ID = r"^[A-Za-z0-9_-]{1,64}$"


def _check_fpo(role: Role, fpo_id: str | None) -> None:
    if role in ROLES_NEEDING_FPO and not fpo_id:
        raise ValueError(f"fpo_id is required for role {role.value}")
    if role not in ROLES_NEEDING_FPO and fpo_id:
        raise ValueError(f"fpo_id is only for roles farmer and fpo_manager, not {role.value}")


class CreateUserRequest(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CREATE_USER]})
    username: str = Field(pattern=USERNAME)
    role: Role
    fpo_id: str | None = Field(default=None, pattern=FPO_ID)
    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    phone_number: str | None = Field(default=None, pattern=r"^\+[1-9][0-9]{7,14}$")
    temporary_password: str | None = Field(
        default=None,
        min_length=12,
        max_length=256,
        description="If omitted, Cognito generates one and sends the invitation itself",
    )

    @model_validator(mode="after")
    def _fpo(self) -> CreateUserRequest:
        _check_fpo(self.role, self.fpo_id)
        return self


class ChangeRoleRequest(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CHANGE_ROLE]})
    role: Role
    fpo_id: str | None = Field(default=None, pattern=FPO_ID)

    @model_validator(mode="after")
    def _fpo(self) -> ChangeRoleRequest:
        _check_fpo(self.role, self.fpo_id)
        return self


class UserOut(BaseModel):
    username: str
    user_id: str | None = None
    role: Role | None = None
    fpo_id: str | None = None
    name: str | None = None
    email: str | None = None
    phone_number: str | None = None
    enabled: bool
    status: str | None = None
    created_at: str | None = None


class UserPage(BaseModel):
    items: list[UserOut]
    next_token: str | None = Field(default=None, description="Pass back as ?next_token= for the next page")


# ---- integrator API keys (the public registry view) ------------------------------------------------
API_KEY_ID = r"^[A-Za-z0-9]{1,64}$"
PLAN_NAME = r"^[a-z][a-z0-9]{1,15}$"


class CreateApiKeyRequest(Input):
    """An integrator's key: who holds it and which usage plan meters it. The key's value is answered
    once, by this call; nothing can show it again (create another and delete this one)."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.CREATE_API_KEY]})
    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$",
        description="The key's name, unique among this API's keys (e.g. the integrator's slug)",
    )
    owner: Line = Field(min_length=1, max_length=120, description="The integrator (organisation)")
    contact: str = Field(
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254, description="Who to write to about the key"
    )
    plan: str = Field(pattern=PLAN_NAME, description="A usage plan of this stage (trial, standard...)")


class ApiKeyOut(BaseModel):
    key_id: str
    name: str
    owner: str | None = None
    contact: str | None = None
    plan: str
    enabled: bool
    created_at: str | None = None
    created_by: str | None = Field(None, description="Username of the admin who created it")


class CreatedApiKey(ApiKeyOut):
    value: str = Field(description="The key to send as x-api-key. Shown once: store it now")


class ApiKeyList(BaseModel):
    items: list[ApiKeyOut]
