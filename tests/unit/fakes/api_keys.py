"""API Gateway's keys and usage plans in memory (functions.admin.api_keys.ApiKeyGateway)."""

from __future__ import annotations

import itertools

from functions.admin.api_keys import StoredKey


class FakeKeyGateway:
    def __init__(self, plans: dict[str, str]):
        self.plans = dict(plans)  # usage plan name -> id
        self.keys: dict[str, StoredKey] = {}
        self.plan_keys: dict[str, set[str]] = {plan_id: set() for plan_id in plans.values()}
        self._ids = (f"k{n:09d}" for n in itertools.count(1))
        self.fail_add_to_plan = False

    def plan_ids(self, names: set[str]) -> dict[str, str]:
        return {name: plan_id for name, plan_id in self.plans.items() if name in names}

    def plan_key_ids(self, plan_id: str) -> set[str]:
        return set(self.plan_keys.get(plan_id, set()))

    def get_key(self, key_id: str) -> StoredKey | None:
        key = self.keys.get(key_id)
        return None if key is None else StoredKey(key.key_id, key.name, key.enabled, key.created_at, dict(key.meta))

    def create_key(self, name: str, meta: dict[str, str]) -> StoredKey:
        key_id = next(self._ids)
        key = StoredKey(key_id, name, True, "2026-01-01T00:00:00+00:00", dict(meta), value=f"value-of-{key_id}")
        self.keys[key_id] = key
        return key

    def add_to_plan(self, plan_id: str, key_id: str) -> None:
        if self.fail_add_to_plan:
            raise RuntimeError("simulated API Gateway failure")
        self.plan_keys[plan_id].add(key_id)

    def delete_key(self, key_id: str) -> None:
        self.keys.pop(key_id, None)
        for ids in self.plan_keys.values():
            ids.discard(key_id)
