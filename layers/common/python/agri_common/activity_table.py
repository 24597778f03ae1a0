"""The activity table (the audit trail): its two item kinds, their keys, and the store that appends them.

One owner for every key of the table (docs/decisions/0013-activity-log.md):

- :class:`ActivityEvent` ``pk=EVENT#<event_id>, sk=EVENT``: one per state-changing request (the event
  id is API Gateway's request id) or pipeline step attempt. Its index attributes put it in five
  global indexes, each sorted by ``g_time`` = ``<at>#<event_id>`` (newest first with
  ``ScanIndexForward=False``): ``by_actor`` (``g_actor``), ``by_target`` (``g_target`` =
  ``<kind>#<id>``), ``by_fpo``, ``by_project`` and ``by_day`` (``g_day`` = the UTC date: the
  admins' time-ordered view and the daily export). Every read is a Query; nothing scans.
- :class:`ActivityIntent` ``pk=INTENT#<deadline hour>, sk=<deadline>#<event_id>``: written *before*
  a request or step runs, holding the event as it would read if the function died before writing it
  (outcome ``interrupted``). The sweeper (functions/activity/sweeper_handler.py) queries the intents
  whose deadline has passed and appends the event of each one that has none. Intents expire by TTL
  (``expires_at``, two days after the deadline); events never carry it.

Append-only: events and intents are written with a conditional put (``attribute_not_exists(pk)``),
so nothing is ever overwritten, and no function's role may UpdateItem or DeleteItem the table
(tests/infra/test_activity.py). A put that finds its event already there is the retry of the same
request or the sweeper's copy: exactly one event per event id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Literal, Protocol

from pydantic import Field

from agri_common.single_table import Key, Stored

INDEXES = {
    "by_actor": "g_actor",
    "by_target": "g_target",
    "by_fpo": "g_fpo",
    "by_project": "g_project",
    "by_day": "g_day",
}
SORT = "g_time"
INTENT_TTL = dt.timedelta(days=2)
INTERRUPTED = "interrupted"
ANONYMOUS = "anonymous"

IndexName = Literal["by_actor", "by_target", "by_fpo", "by_project", "by_day"]


def event_key(event_id: str) -> Key:
    return f"EVENT#{event_id}", "EVENT"


def target_key(kind: str, target_id: str) -> str:
    return f"{kind}#{target_id}"


def time_key(at: str, event_id: str) -> str:
    return f"{at}#{event_id}"


class ActivityEvent(Stored):
    """One audited action. ``diff`` lists the changed field names and, only for fields known not to
    be personal data, their new values (agri_common.platform.activity.diff_of)."""

    kind: ClassVar[str] = "activity"

    event_id: str
    at: str  # UTC, fixed width: 2026-11-27T17:20:00.123456Z
    source: Literal["api", "pipeline"]
    action: str
    actor_id: str = ANONYMOUS
    actor_role: str | None = None
    target_kind: str | None = None
    target_id: str | None = None
    fpo_id: str | None = None
    project_id: str | None = None
    request_id: str | None = None
    outcome: str = "ok"  # "ok", an error code, or "interrupted"
    status: int | None = None
    diff: dict[str, Any] | None = None

    def key(self) -> Key:
        return event_key(self.event_id)

    def index(self) -> dict[str, str]:
        out = {"g_actor": self.actor_id, "g_day": self.at[:10], SORT: time_key(self.at, self.event_id)}
        if self.target_kind and self.target_id:
            out["g_target"] = target_key(self.target_kind, self.target_id)
        if self.fpo_id:
            out["g_fpo"] = self.fpo_id
        if self.project_id:
            out["g_project"] = self.project_id
        return out

    def public(self) -> dict[str, Any]:
        """The event as the API and the export show it (no key or index attributes)."""
        return self.model_dump(mode="json", exclude_none=True)


class ActivityIntent(Stored):
    """The event a running request or step will write, kept until its deadline has passed."""

    kind: ClassVar[str] = "activity_intent"

    deadline: str  # UTC, same format as ActivityEvent.at
    event: ActivityEvent
    expires_at: int = Field(ge=0)

    def key(self) -> Key:
        return intent_bucket(self.deadline), f"{self.deadline}#{self.event.event_id}"

    @classmethod
    def for_event(cls, event: ActivityEvent, deadline: dt.datetime) -> ActivityIntent:
        interrupted = event.model_copy(update={"outcome": INTERRUPTED, "status": None, "diff": None})
        return cls(deadline=stamp(deadline), event=interrupted, expires_at=int((deadline + INTENT_TTL).timestamp()))


def intent_bucket(at: str) -> str:
    """The intents' partition: the hour of their deadline (``INTENT#2026-11-27T17``)."""
    return f"INTENT#{at[:13]}"


def stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ActivityStore(Protocol):
    def append(self, event: ActivityEvent) -> bool:
        """Put the event unless one with its id exists; False if it did (nothing overwritten)."""
        ...

    def append_intent(self, intent: ActivityIntent) -> None: ...

    def existing(self, event_ids: Sequence[str]) -> set[str]: ...

    def intents(self, bucket: str, low: str, high: str) -> list[ActivityIntent]:
        """The intents of ``bucket`` whose sort key lies in [low, high]."""
        ...

    def query(
        self, index: IndexName, value: str, *, before: str | None, after: str | None, limit: int
    ) -> list[ActivityEvent]:
        """Up to ``limit`` events of one index partition, newest first, with after < g_time < before."""
        ...


class DynamoActivityStore:
    """The activity table on DynamoDB: conditional PutItem, GetItem/BatchGetItem and Query only."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    @property
    def _table(self) -> Any:
        from agri_common.platform.aws import dynamodb_table

        return dynamodb_table(self.table_name)

    def _put_new(self, item: dict[str, Any]) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def append(self, event: ActivityEvent) -> bool:
        from agri_common.dynamo_values import to_dynamo

        return self._put_new(to_dynamo(event.to_item()))

    def append_intent(self, intent: ActivityIntent) -> None:
        from agri_common.dynamo_values import to_dynamo

        self._put_new(to_dynamo(intent.to_item()))

    def existing(self, event_ids: Sequence[str]) -> set[str]:
        from agri_common.platform.aws import batch_get_responses, client

        found: set[str] = set()
        ids = list(dict.fromkeys(event_ids))
        for start in range(0, len(ids), 100):
            keys = [{"pk": {"S": event_key(i)[0]}, "sk": {"S": "EVENT"}} for i in ids[start : start + 100]]
            request = {self.table_name: {"Keys": keys, "ProjectionExpression": "event_id"}}
            for resp in batch_get_responses(client("dynamodb"), request):
                found |= {row["event_id"]["S"] for row in resp.get("Responses", {}).get(self.table_name, [])}
        return found

    def intents(self, bucket: str, low: str, high: str) -> list[ActivityIntent]:
        from boto3.dynamodb.conditions import Key as K

        from agri_common.dynamo_values import from_dynamo

        out: list[ActivityIntent] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": K("pk").eq(bucket) & K("sk").between(low, high)}
        while True:
            resp = self._table.query(**kwargs)
            out += [ActivityIntent.model_validate(from_dynamo(i)) for i in resp.get("Items", [])]
            if "LastEvaluatedKey" not in resp:
                return out
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def query(
        self, index: IndexName, value: str, *, before: str | None, after: str | None, limit: int
    ) -> list[ActivityEvent]:
        from boto3.dynamodb.conditions import Key as K

        from agri_common.dynamo_values import from_dynamo

        cond = K(INDEXES[index]).eq(value)
        if before and after:  # one range condition per Query: BETWEEN is inclusive, the bounds are dropped below
            cond = cond & K(SORT).between(after, before)
        elif before:
            cond = cond & K(SORT).lt(before)
        elif after:
            cond = cond & K(SORT).gt(after)
        kwargs: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": cond,
            "ScanIndexForward": False,
            "Limit": limit + 1,
        }
        out: list[ActivityEvent] = []
        while len(out) < limit + 1:
            resp = self._table.query(**kwargs)
            for item in resp.get("Items", []):
                event = ActivityEvent.model_validate(from_dynamo(item))
                key = time_key(event.at, event.event_id)
                if key != before and key != after:  # BETWEEN is inclusive; the bounds are exclusive
                    out.append(event)
            if "LastEvaluatedKey" not in resp:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        return out[:limit]


class InMemoryActivityStore:
    """The same contract in memory (unit tests, and any process without ``ACTIVITY_TABLE`` that opts in)."""

    def __init__(self) -> None:
        self.events: dict[str, ActivityEvent] = {}
        self.intent_items: dict[Key, ActivityIntent] = {}
        self.fail_appends = 0  # tests: the next N appends raise (an injected outage)

    def append(self, event: ActivityEvent) -> bool:
        if self.fail_appends > 0:
            self.fail_appends -= 1
            raise ConnectionError("injected activity store failure")
        if event.event_id in self.events:
            return False
        self.events[event.event_id] = event.model_copy(deep=True)
        return True

    def append_intent(self, intent: ActivityIntent) -> None:
        self.intent_items.setdefault(intent.key(), intent.model_copy(deep=True))

    def existing(self, event_ids: Sequence[str]) -> set[str]:
        return {i for i in event_ids if i in self.events}

    def intents(self, bucket: str, low: str, high: str) -> list[ActivityIntent]:
        return [i for (pk, sk), i in sorted(self.intent_items.items()) if pk == bucket and low <= sk <= high]

    def query(
        self, index: IndexName, value: str, *, before: str | None, after: str | None, limit: int
    ) -> list[ActivityEvent]:
        attr = INDEXES[index]
        rows = [(e.index(), e) for e in self.events.values()]
        hits = [
            (idx[SORT], e)
            for idx, e in rows
            if idx.get(attr) == value
            and (before is None or idx[SORT] < before)
            and (after is None or idx[SORT] > after)
        ]
        return [e for _, e in sorted(hits, key=lambda h: h[0], reverse=True)[:limit]]

    def all(self) -> list[ActivityEvent]:
        return sorted(self.events.values(), key=lambda e: (e.at, e.event_id))


def sorted_newest_first(events: Iterable[ActivityEvent]) -> list[ActivityEvent]:
    return sorted(events, key=lambda e: time_key(e.at, e.event_id), reverse=True)
