"""In-memory fakes for the MRV domains (projects, verification, pipeline): the generic item store
(same contract as agri_common.farm.store.DynamoFarmStore), S3 objects, Step Functions, the
season source."""

from __future__ import annotations

import copy
from typing import Any, Sequence

from agri_common.farm.store import Check, Delete, Put, Update, WriteConflict


class MemoryStore:
    """get / batch_get / query (prefix, gsi1) / transact with the conditions DynamoDB applies."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict] = {}
        self.fail_next_transact = 0

    def get(self, key):
        item = self.items.get(tuple(key))
        return copy.deepcopy(item) if item else None

    def batch_get(self, keys):
        return [copy.deepcopy(self.items[tuple(k)]) for k in dict.fromkeys(map(tuple, keys)) if tuple(k) in self.items]

    def query(self, pk, *, prefix="", index=False, limit=None, start=None):
        pk_name, sk_name = ("gsi1pk", "gsi1sk") if index else ("pk", "sk")
        rows = sorted((i for i in self.items.values() if i.get(pk_name) == pk and str(i.get(sk_name, "")).startswith(prefix)),
                      key=lambda i: (i[sk_name], i["pk"], i["sk"]))
        if start:
            rows = [r for r in rows if (r[sk_name], r["pk"], r["sk"]) > (start[sk_name], start["pk"], start["sk"])]
        if limit and len(rows) > limit:
            last = rows[limit - 1]
            return [copy.deepcopy(r) for r in rows[:limit]], {k: last[k] for k in {"pk", "sk", pk_name, sk_name}}
        return [copy.deepcopy(r) for r in rows], None

    def _matches(self, item, expect):
        for attr, value in expect.items():
            current = item.get(attr) if item else None
            if value == 0 and current in (None, 0):
                continue
            if current != value:
                return False
        return True

    def transact(self, ops: Sequence[Any]) -> None:
        failed = []
        for i, op in enumerate(ops):
            if isinstance(op, Put):
                if op.if_absent and (op.item["pk"], op.item["sk"]) in self.items:
                    failed.append(i)
            elif isinstance(op, Check):
                item = self.items.get(tuple(op.key))
                if item is None or not self._matches(item, op.expect):
                    failed.append(i)
            elif isinstance(op, Update):
                item = self.items.get(tuple(op.key))
                if (op.if_exists and item is None) or (op.expect and not self._matches(item, op.expect)):
                    failed.append(i)
        if failed:
            raise WriteConflict(failed)
        for op in ops:
            if isinstance(op, Put):
                self.items[(op.item["pk"], op.item["sk"])] = copy.deepcopy(dict(op.item))
            elif isinstance(op, Delete):
                self.items.pop(tuple(op.key), None)
            elif isinstance(op, Update):
                item = self.items.setdefault(tuple(op.key), {"pk": op.key[0], "sk": op.key[1]})
                for k, v in op.set.items():  # "a.b" sets key b of map a, as DynamoDB does
                    *parents, leaf = k.split(".")
                    target = item
                    for parent in parents:
                        target = target[parent]
                    target[leaf] = copy.deepcopy(v)
                for k, v in op.add.items():
                    if isinstance(v, (set, frozenset)):
                        item[k] = sorted(set(item.get(k) or []) | set(v))
                    else:
                        item[k] = item.get(k, 0) + v
                for k in op.remove:
                    item.pop(k, None)
                for k, v in op.delete.items():  # DynamoDB drops a set with its last element
                    item[k] = sorted(set(item.get(k) or []) - set(v))
                    if not item[k]:
                        del item[k]


class MemoryObjects:
    """The object store interface of the pipeline (put/get/exists/list), in memory."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.puts: list[str] = []

    def put(self, key: str, body: bytes, content_type: str = "application/octet-stream") -> None:
        self.puts.append(key)
        self.objects[key] = bytes(body)

    def get(self, key: str) -> bytes:
        return self.objects[key]

    def exists(self, key: str) -> bool:
        return key in self.objects


class FakeStepFunctions:
    def __init__(self) -> None:
        self.started: list[dict] = []
        self.successes: list[tuple[str, dict]] = []
        self.failures: list[tuple[str, str, str]] = []
        self.heartbeats: list[str] = []

    def start(self, name: str, payload: dict) -> str:
        self.started.append({"name": name, "input": payload})
        return f"arn:aws:states:ap-south-1:123456789012:execution:Mrv:{name}"

    def describe(self, execution_arn: str) -> dict:
        return {"status": "RUNNING", "executionArn": execution_arn}

    def send_success(self, token: str, output: dict) -> None:
        self.successes.append((token, output))

    def send_failure(self, token: str, error: str, cause: str) -> None:
        self.failures.append((token, error, cause))

    def heartbeat(self, token: str) -> None:
        self.heartbeats.append(token)


def pipeline_context(project_id: str, run_id: str, *, draws: int = 300, **project: Any):
    """A pipeline task context on in-memory stores holding one project (vm0051 unless overridden)
    and its running run of the 2025 kharif period."""
    from agri_common import mrv
    from functions.pipeline import core

    store, objects = MemoryStore(), MemoryObjects()
    fields = dict(project_id=project_id, name="Delta", fpo_ids=["FPO-1"], methodology="vm0051", profile="vm0051",
                  gwp="AR5", region="south_asia", climate="wet", crediting_start="2024-06-01", crediting_end="2030-05-31",
                  draws=draws, created_by="a", created_at="t")
    record = mrv.ProjectRecord(**{**fields, **project})
    store.items[record.key()] = record.to_item()
    run = mrv.RunRecord(project_id=project_id, run_id=run_id, period="2025-kharif", status="running", attempt=1,
                        started_by="a", started_at="t", updated_at="t")
    store.items[run.key()] = run.to_item()
    return core.Context(store=store, objects=objects, clock=lambda: "2025-01-01T00:00:00Z")
