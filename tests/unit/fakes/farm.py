"""An in-memory TableStore with DynamoDB's semantics for what the services use (conditions,
ADD from 0 or to a set, nested SET, DELETE from a set, all-or-nothing transactions), for unit tests
without moto. One store serves the farm table's and the pipeline table's services (same contract:
agri_common.single_table.DynamoTableStore); ``calls`` records the DynamoDB request each call stands for."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from agri_common.single_table import Check, Delete, Op, Put, Update, WriteConflict, check_item_sizes, check_query_start


class InMemoryFarmStore:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict] = {}
        self.calls: list[str] = []

    def get(self, key):
        self.calls.append("GetItem")
        item = self.items.get(tuple(key))
        return copy.deepcopy(item) if item else None

    def batch_get(self, keys):
        self.calls.append("BatchGetItem")
        return [copy.deepcopy(self.items[tuple(k)]) for k in dict.fromkeys(map(tuple, keys)) if tuple(k) in self.items]

    def query(self, pk, *, prefix="", index=False, limit=None, start=None, newest_first=False):
        self.calls.append("Query")
        start = check_query_start(start, pk, prefix=prefix, index=index)  # as DynamoTableStore does
        pk_name, sk_name = ("gsi1pk", "gsi1sk") if index else ("pk", "sk")
        order = lambda i: (i[sk_name], i["pk"], i["sk"])
        found = sorted(
            (i for i in self.items.values() if i.get(pk_name) == pk and str(i.get(sk_name, "")).startswith(prefix)),
            key=order,
            reverse=newest_first,
        )
        if start:
            after = order(start)
            found = [i for i in found if (order(i) < after if newest_first else order(i) > after)]
        if limit and len(found) > limit:
            last = found[limit - 1]
            return copy.deepcopy(found[:limit]), {k: last[k] for k in {"pk", "sk", pk_name, sk_name}}
        return copy.deepcopy(found), None

    @staticmethod
    def _expect_ok(item: dict | None, expect: dict[str, Any]) -> bool:
        for attr, value in expect.items():
            current = (item or {}).get(attr)
            if not (current == value or (value == 0 and current is None)):
                return False
        return True

    def _ok(self, op: Op) -> bool:
        if isinstance(op, Put):
            return not (op.if_absent and (op.item["pk"], op.item["sk"]) in self.items)
        if isinstance(op, Delete):
            return True
        item = self.items.get(op.key)
        if isinstance(op, Check):
            return item is not None and self._expect_ok(item, dict(op.expect))
        return not (op.if_exists and item is None) and self._expect_ok(item, dict(op.expect))

    def transact(self, ops: Sequence[Op]) -> None:
        self.calls.append("TransactWriteItems")
        check_item_sizes(ops)  # as DynamoTableStore does: 413 item_too_large before anything is written
        failed = [i for i, op in enumerate(ops) if not self._ok(op)]
        if failed:
            raise WriteConflict(failed)
        for op in ops:
            if isinstance(op, Put):
                self.items[(op.item["pk"], op.item["sk"])] = copy.deepcopy(dict(op.item))
            elif isinstance(op, Delete):
                self.items.pop(op.key, None)
            elif isinstance(op, Update):
                item = self.items.setdefault(op.key, {"pk": op.key[0], "sk": op.key[1]})
                for name, value in op.set.items():
                    *parents, leaf = name.split(".")
                    target = item
                    for parent in parents:
                        target = target[parent]
                    target[leaf] = copy.deepcopy(value)
                for name, value in op.add.items():
                    if isinstance(value, (set, frozenset)):  # ADD to a set: union
                        item[name] = sorted(set(item.get(name) or []) | set(value))
                    else:
                        item[name] = item.get(name, 0) + value
                for name in op.remove:
                    *parents, leaf = name.split(".")
                    target = item
                    for parent in parents:
                        target = target.get(parent, {})
                    target.pop(leaf, None)
                for name, value in op.delete.items():  # DynamoDB drops a set with its last element
                    item[name] = sorted(set(item.get(name) or []) - set(value))
                    if not item[name]:
                        del item[name]
