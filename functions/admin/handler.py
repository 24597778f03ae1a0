"""Admin routes: user administration. Every route requires the admin role (checked before routing)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from agri_common.platform.activity import audited
from agri_common.platform.identity import CognitoIdentityProvider
from agri_common.platform.principal import Principal, Role
from agri_common.platform.resolver import PRIVATE, current_principal, make_handler, make_resolver
from agri_common.platform.revocation import revocation_store
from agri_common.platform.settings import BaseSettingsModel, load_settings
from functions.admin import models as m
from functions.admin.api_keys import ApiKeyService, parse_plans
from functions.admin.logic import AdminService

app = make_resolver()
TAGS = ["admin"]
Username = Annotated[str, Path(pattern=m.USERNAME)]
KeyId = Annotated[str, Path(pattern=m.API_KEY_ID)]


class AdminSettings(BaseSettingsModel):
    user_pool_id: str


class ApiKeySettings(BaseSettingsModel):
    usage_plans: str  # name=plan-id,... (infra/domain_constructs/admin.py)


_revocation = revocation_store  # looked up per call by make_handler: tests swap it


def get_service() -> AdminService:
    s = load_settings(AdminSettings)
    return AdminService(CognitoIdentityProvider(s.user_pool_id, client_id=""), _revocation())


def get_api_keys() -> ApiKeyService:
    from functions.admin.gateway import ApiGatewayKeys

    return ApiKeyService(ApiGatewayKeys(), parse_plans(load_settings(ApiKeySettings).usage_plans))


def get_principal() -> Principal:
    return current_principal(app)


Service = Annotated[AdminService, Depends(get_service)]
ApiKeys = Annotated[ApiKeyService, Depends(get_api_keys)]
Caller = Annotated[Principal, Depends(get_principal)]


@app.post(
    "/admin/users",
    status_code=201,
    tags=TAGS,
    security=PRIVATE,
    summary="Create a user with a role",
    openapi_extensions=audited("user.create", errors=[409]),
)
def create_user(body: m.CreateUserRequest, svc: Service, caller: Caller) -> m.UserOut:
    return svc.create_user(body)


@app.get("/admin/users", tags=TAGS, security=PRIVATE, summary="List users, paginated, optionally by role")
def list_users(
    svc: Service,
    caller: Caller,
    limit: Annotated[int, Query(ge=1, le=60)] = 20,
    next_token: Annotated[str | None, Query(max_length=4096)] = None,
    role: Annotated[Role | None, Query()] = None,
) -> m.UserPage:
    return svc.list_users(limit, next_token, role)


@app.get("/admin/users/<username>", tags=TAGS, security=PRIVATE, summary="One user")
def get_user(username: Username, svc: Service, caller: Caller) -> m.UserOut:
    return svc.get_user(username)


@app.post(
    "/admin/users/<username>/disable",
    tags=TAGS,
    security=PRIVATE,
    summary="Disable a user and revoke their tokens",
    openapi_extensions=audited("user.disable", errors=[409]),
)
def disable_user(username: Username, svc: Service, caller: Caller) -> m.UserOut:
    return svc.set_enabled(caller, username, False)


@app.post(
    "/admin/users/<username>/enable",
    tags=TAGS,
    security=PRIVATE,
    summary="Re-enable a user",
    openapi_extensions=audited("user.enable"),
)
def enable_user(username: Username, svc: Service, caller: Caller) -> m.UserOut:
    return svc.set_enabled(caller, username, True)


@app.put(
    "/admin/users/<username>/role",
    tags=TAGS,
    security=PRIVATE,
    summary="Change a user's role (and FPO)",
    openapi_extensions=audited("user.change_role", errors=[409]),
)
def change_role(username: Username, body: m.ChangeRoleRequest, svc: Service, caller: Caller) -> m.UserOut:
    return svc.change_role(caller, username, body)


@app.post(
    "/admin/api-keys",
    status_code=201,
    tags=TAGS,
    security=PRIVATE,
    summary="Create an integrator API key on a usage plan (the public registry view); its value is shown once",
    openapi_extensions=audited("api_key.create", target="key", errors=[409]),
)
def create_api_key(body: m.CreateApiKeyRequest, keys: ApiKeys, caller: Caller) -> m.CreatedApiKey:
    return keys.create(caller, body)


@app.get("/admin/api-keys", tags=TAGS, security=PRIVATE, summary="Integrator API keys of this API (never their values)")
def list_api_keys(keys: ApiKeys, caller: Caller) -> m.ApiKeyList:
    return keys.list()


@app.delete(
    "/admin/api-keys/<key_id>",
    tags=TAGS,
    security=PRIVATE,
    summary="Revoke (delete) an integrator API key; answers the key as it was, disabled",
    openapi_extensions=audited("api_key.revoke", target="key"),
)
def delete_api_key(key_id: KeyId, keys: ApiKeys, caller: Caller) -> m.ApiKeyOut:
    return keys.delete(key_id)


lambda_handler = make_handler(app, roles=[Role.ADMIN], revocation=lambda: _revocation())  # looked up per call
