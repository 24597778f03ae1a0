"""Integrator API keys for the public registry view (admin role only; the handler enforces it).

A key belongs to this API when it is in one of this stage's usage plans (``USAGE_PLANS``): those are
the only keys listed, shown or deleted here; any other key of the account answers 404 like a key
that does not exist. Who holds a key (name, owner, contact, plan, creator) is kept with the key in
API Gateway, the only store (docs/decisions/0016-integrator-api-keys-and-registry.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from agri_common.platform.errors import ConflictError, DependencyError, NotFoundError, UnprocessableError
from agri_common.platform.principal import Principal
from functions.admin import models as m


@dataclass(frozen=True)
class StoredKey:
    key_id: str
    name: str
    enabled: bool
    created_at: str | None
    meta: dict[str, str]  # owner, contact, plan, created_by
    value: str | None = None  # only on creation


class ApiKeyGateway(Protocol):
    """API Gateway's keys and usage plans (functions/admin/gateway.py; a fake in the unit tests)."""

    def plan_ids(self, names: set[str]) -> dict[str, str]: ...  # usage plan name -> id, for those that exist
    def plan_key_ids(self, plan_id: str) -> set[str]: ...
    def get_key(self, key_id: str) -> StoredKey | None: ...
    def create_key(self, name: str, meta: dict[str, str]) -> StoredKey: ...
    def add_to_plan(self, plan_id: str, key_id: str) -> None: ...
    def delete_key(self, key_id: str) -> None: ...


def parse_plans(text: str) -> dict[str, str]:
    """``USAGE_PLANS``: ``tier=usage-plan-name`` pairs, comma-separated (the stack writes it). Names,
    not ids: a function cannot reference its API's usage plans (they depend on the stage, which
    depends on the function), so it finds their ids by name."""
    plans = {}
    for part in text.split(","):
        name, sep, plan_id = part.strip().partition("=")
        if sep and name and plan_id:
            plans[name] = plan_id
    return plans


def _out(key: StoredKey, plan: str) -> m.ApiKeyOut:
    return m.ApiKeyOut(
        key_id=key.key_id,
        name=key.name,
        owner=key.meta.get("owner"),
        contact=key.meta.get("contact"),
        plan=plan,
        enabled=key.enabled,
        created_at=key.created_at,
        created_by=key.meta.get("created_by"),
    )


class ApiKeyService:
    def __init__(self, gateway: ApiKeyGateway, plans: dict[str, str]):
        self.gateway = gateway
        self.plan_names = plans  # tier -> usage plan name
        self._plan_ids: dict[str, str] | None = None

    @property
    def plans(self) -> dict[str, str]:
        """tier -> usage plan id (looked up by name once per service)."""
        if self._plan_ids is None:
            ids = self.gateway.plan_ids(set(self.plan_names.values()))
            missing = sorted(set(self.plan_names.values()) - set(ids))
            if missing:
                raise DependencyError(f"The usage plans {', '.join(missing)} do not exist", code="usage_plan_missing")
            self._plan_ids = {tier: ids[name] for tier, name in self.plan_names.items()}
        return self._plan_ids

    def _ours(self) -> dict[str, str]:
        """key id -> tier, for every key in this stage's usage plans."""
        return {key_id: name for name, plan_id in self.plans.items() for key_id in self.gateway.plan_key_ids(plan_id)}

    def _keys(self) -> list[tuple[StoredKey, str]]:
        found = []
        for key_id, plan in sorted(self._ours().items()):
            key = self.gateway.get_key(key_id)
            if key is not None:  # deleted meanwhile
                found.append((key, plan))
        return found

    def create(self, caller: Principal, req: m.CreateApiKeyRequest) -> m.CreatedApiKey:
        if req.plan not in self.plan_names:
            raise UnprocessableError(
                "The request is invalid",
                details=[
                    {"field": "body.plan", "issue": f"one of {', '.join(sorted(self.plan_names))}", "type": "enum"}
                ],
            )
        plan_id = self.plans[req.plan]
        if any(key.name == req.name for key, _ in self._keys()):
            raise ConflictError(f"An API key named {req.name} exists", code="api_key_exists")
        meta = {"owner": req.owner, "contact": req.contact, "plan": req.plan, "created_by": caller.username}
        key = self.gateway.create_key(req.name, meta)
        try:
            self.gateway.add_to_plan(plan_id, key.key_id)
        except Exception:
            self.gateway.delete_key(key.key_id)  # a key in no plan would be unmetered and unlisted: none is left
            raise
        assert key.value is not None
        return m.CreatedApiKey(**_out(key, req.plan).model_dump(), value=key.value)

    def list(self) -> m.ApiKeyList:
        return m.ApiKeyList(items=[_out(key, plan) for key, plan in self._keys()])

    def delete(self, key_id: str) -> m.ApiKeyOut:
        plan = self._ours().get(key_id)
        key = self.gateway.get_key(key_id) if plan is not None else None
        if key is None or plan is None:
            raise NotFoundError("API key not found")
        self.gateway.delete_key(key_id)
        return _out(key, plan).model_copy(update={"enabled": False})
