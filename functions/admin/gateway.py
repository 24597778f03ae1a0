"""API Gateway's API keys and usage plans behind :class:`functions.admin.api_keys.ApiKeyGateway`.

The key's holder (owner, contact, plan, creator) is kept in the key's description as compact JSON:
API Gateway is the one store of keys, as Cognito is of users. The function's role may call only the
operations used here, on this API's usage plans (infra/domain_constructs/admin.py).
"""

from __future__ import annotations

import json
from typing import Any

from agri_common.platform.aws import client
from agri_common.platform.errors import aws_error_code
from functions.admin.api_keys import StoredKey

PAGE = 500  # API Gateway's largest page of keys


def _stored(item: dict[str, Any]) -> StoredKey:
    try:
        meta = json.loads(item.get("description") or "{}")
    except ValueError:
        meta = {}
    created: Any = item.get("createdDate")
    return StoredKey(
        key_id=str(item["id"]),
        name=str(item.get("name") or ""),
        enabled=bool(item.get("enabled")),
        created_at=None
        if created is None
        else (created.isoformat() if hasattr(created, "isoformat") else str(created)),
        meta={k: str(v) for k, v in meta.items()} if isinstance(meta, dict) else {},
        value=item.get("value"),
    )


class ApiGatewayKeys:
    def __init__(self) -> None:
        self._api = client("apigateway")

    def plan_ids(self, names: set[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        kwargs: dict[str, Any] = {"limit": PAGE}
        while True:
            resp = self._api.get_usage_plans(**kwargs)
            found.update({p["name"]: str(p["id"]) for p in resp.get("items", []) if p.get("name") in names})
            if not resp.get("position"):
                return found
            kwargs["position"] = resp["position"]

    def plan_key_ids(self, plan_id: str) -> set[str]:
        ids: set[str] = set()
        kwargs: dict[str, Any] = {"usagePlanId": plan_id, "limit": PAGE}
        while True:
            resp = self._api.get_usage_plan_keys(**kwargs)
            ids.update(str(k["id"]) for k in resp.get("items", []) if k.get("type", "API_KEY") == "API_KEY")
            if not resp.get("position"):
                return ids
            kwargs["position"] = resp["position"]

    def get_key(self, key_id: str) -> StoredKey | None:
        try:
            return _stored(self._api.get_api_key(apiKey=key_id, includeValue=False))
        except Exception as exc:
            if aws_error_code(exc) == "NotFoundException":
                return None
            raise

    def create_key(self, name: str, meta: dict[str, str]) -> StoredKey:
        created = self._api.create_api_key(
            name=name, description=json.dumps(meta, sort_keys=True, separators=(",", ":")), enabled=True
        )
        return _stored(created)

    def add_to_plan(self, plan_id: str, key_id: str) -> None:
        self._api.create_usage_plan_key(usagePlanId=plan_id, keyId=key_id, keyType="API_KEY")

    def delete_key(self, key_id: str) -> None:
        try:
            self._api.delete_api_key(apiKey=key_id)
        except Exception as exc:
            if aws_error_code(exc) != "NotFoundException":  # already gone: the wanted outcome
                raise
