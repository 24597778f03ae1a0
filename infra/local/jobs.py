"""Scheduled jobs on the twin: every EventBridge rule of the template that has a ``ScheduleExpression``.

The twin never lists jobs of its own: :func:`scheduled_rules` reads each ``AWS::Events::Rule`` with
a schedule (``rate(...)`` or ``cron(...)``), its Lambda targets and their fixed ``Input``, from the
merged template. :class:`Scheduler` fires them on the twin's clock (UTC wall time) in a background
thread, with the event EventBridge sends (or the target's ``Input``), through the same in-process
functions the API and Step Functions invoke. ``python -m infra.local --no-schedules`` turns the
thread off (tests are deterministic); a job can always be fired now:

    python -m infra.local.jobs list [--api http://127.0.0.1:8000]
    python -m infra.local.jobs run sweep-runs [--api ...] [--input '{"day": "2026-11-26"}']

A rule is named by its logical id or its short name (the logical id without CDK's hash, in kebab
case, less ``-schedule``: ``jobs-sweep-runs``), or any part of the short name that names one rule
(``sweep``). The commands talk to the running twin's control endpoint, ``/_twin/jobs`` on the API
port (``GET``: the rules; ``POST /_twin/jobs/<rule>``: fire it now, answering the function's
result); ``list --template PATH`` reads a template instead. The endpoint is the twin's own, in
infra/local only (functions/ knows nothing of it); like the rest of the twin it has no
authentication: do not expose the twin's port beyond your machine.
"""

from __future__ import annotations

import argparse
import calendar
import json
import re
import sys
import threading
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from infra.local.template import ACCOUNT_ID, Resolver, resources_of

CONTROL_PREFIX = "/_twin/jobs"
DEFAULT_API = "http://127.0.0.1:8000"


# ---- reading the template ------------------------------------------------------------------------
@dataclass(frozen=True)
class RuleTarget:
    function_logical_id: str
    input: dict[str, Any] | None  # the target's fixed Input; None: EventBridge's scheduled event


@dataclass(frozen=True)
class ScheduledRule:
    logical_id: str
    name: str  # short name (see the module doc)
    schedule: str  # rate(...) / cron(...)
    description: str
    enabled: bool
    targets: tuple[RuleTarget, ...] = field(default_factory=tuple)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "logical_id": self.logical_id,
            "schedule": self.schedule,
            "description": self.description,
            "enabled": self.enabled,
            "targets": [t.function_logical_id for t in self.targets],
        }


def short_name(logical_id: str) -> str:
    base = re.sub(r"[0-9A-F]{8}$", "", logical_id)
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", base)
    name = "-".join(w.lower() for w in words) or logical_id.lower()
    return name.removesuffix("-schedule")


def _function_of(arn: Any) -> str | None:
    """The logical id of a target ``Arn`` that is ``Fn::GetAtt [<function>, Arn]``."""
    if isinstance(arn, dict) and "Fn::GetAtt" in arn:
        target = arn["Fn::GetAtt"]
        return str(target[0] if isinstance(target, list) else target.split(".")[0])
    return None


def scheduled_rules(template: dict[str, Any], resolver: Resolver | None = None) -> dict[str, ScheduledRule]:
    """Short name -> rule, for every rule with a schedule whose targets are functions of the template."""
    functions = {lid for lid, _ in resources_of(template, "AWS::Lambda::Function")}
    rules: dict[str, ScheduledRule] = {}
    for lid, res in resources_of(template, "AWS::Events::Rule"):
        props = res.get("Properties") or {}
        schedule = props.get("ScheduleExpression")
        if not isinstance(schedule, str):
            continue  # an event-pattern rule: nothing to schedule
        parse_schedule(schedule)  # refuse what the twin cannot run at start, not at firing time
        targets = []
        for target in props.get("Targets") or []:
            fn = _function_of(target.get("Arn"))
            if fn is None or fn not in functions:
                continue
            raw = target.get("Input")
            if raw is not None and resolver is not None:
                raw = resolver.resolve(raw)
            targets.append(RuleTarget(fn, json.loads(raw) if isinstance(raw, str) else None))
        name = short_name(lid)
        rules[name] = ScheduledRule(
            logical_id=lid,
            name=name,
            schedule=schedule,
            description=str(props.get("Description") or ""),
            enabled=props.get("State", "ENABLED") != "DISABLED",
            targets=tuple(targets),
        )
    return rules


def find_rule(rules: dict[str, ScheduledRule], wanted: str) -> ScheduledRule:
    """By logical id, short name, or a part of the short name that names one rule."""
    for rule in rules.values():
        if wanted in (rule.logical_id, rule.name):
            return rule
    matches = [r for r in rules.values() if wanted.lower() in r.name]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(sorted(rules))
    if not matches:
        raise KeyError(f"no scheduled rule {wanted!r}; the template has: {known}")
    raise KeyError(f"{wanted!r} names several rules: {', '.join(r.name for r in matches)}")


# ---- schedules -----------------------------------------------------------------------------------
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}


@dataclass(frozen=True)
class Rate:
    every: timedelta

    def next_after(self, moment: datetime, since: datetime) -> datetime:
        """The first firing after ``moment`` of a rate started at ``since`` (first fire: since + every)."""
        periods = int((moment - since) / self.every) + 1
        return since + periods * self.every


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None  # None: '?' or '*'
    months: frozenset[int]
    weekdays: frozenset[int] | None  # 1 = Sunday ... 7 = Saturday, as EventBridge counts
    years: frozenset[int] | None

    def matches_day(self, day: datetime) -> bool:
        weekday = (day.weekday() + 1) % 7 + 1  # Monday 0 -> 2
        return (
            day.month in self.months
            and (self.days is None or day.day in self.days)
            and (self.weekdays is None or weekday in self.weekdays)
            and (self.years is None or day.year in self.years)
        )

    def next_after(self, moment: datetime, since: datetime | None = None) -> datetime:
        start = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.replace(hour=0, minute=0)
        for _ in range(366 * 5):
            if self.matches_day(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = day.replace(hour=hour, minute=minute)
                        if candidate >= start:
                            return candidate
            day += timedelta(days=1)
        raise ValueError("the cron expression never fires in the next five years")


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int] | None:
    if text in ("*", "?"):
        return None
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part in ("*", ""):
            first, last = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            first, last = _value(a, names), _value(b, names)
        else:
            first = _value(part, names)
            last = first if step == 1 else high
        if not (low <= first <= high and low <= last <= high):
            raise ValueError(f"{text!r}: out of range {low}-{high}")
        values.update(range(first, last + 1, step))
    return frozenset(values)


def _value(text: str, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise ValueError(f"{text!r} is not supported by the twin's cron (L, W and # are not)")
    return int(text)


def parse_schedule(expression: str) -> Rate | Cron:
    """``rate(N unit)`` or EventBridge's six-field ``cron(min hour day month weekday year)``."""
    rate = _RATE.match(expression)
    if rate:
        unit = rate.group(2).rstrip("s")
        return Rate(timedelta(seconds=int(rate.group(1)) * _UNITS[unit]))
    cron = re.match(r"^cron\((.+)\)$", expression)
    if cron:
        parts = cron.group(1).split()
        if len(parts) != 6:
            raise ValueError(f"{expression}: EventBridge cron has six fields")
        minute, hour, day, month, weekday, year = parts
        return Cron(
            minutes=_field(minute, 0, 59) or frozenset(range(60)),
            hours=_field(hour, 0, 23) or frozenset(range(24)),
            days=_field(day, 1, 31),
            months=_field(month, 1, 12, _MONTHS) or frozenset(range(1, 13)),
            weekdays=_field(weekday, 1, 7, _DAYS),
            years=_field(year, 1970, 2199),
        )
    raise ValueError(f"{expression!r} is neither rate(...) nor cron(...)")


def scheduled_event(rule_arn: str, region: str, at: datetime) -> dict[str, Any]:
    """What EventBridge sends the target of a scheduled rule."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


# ---- running them ------------------------------------------------------------------------------
class Scheduler:
    """Fires the template's scheduled rules; ``start()`` runs them on the clock, ``fire()`` one now."""

    def __init__(
        self,
        rules: dict[str, ScheduledRule],
        invoke: dict[str, Callable[[dict[str, Any]], Any]],
        *,
        region: str,
        rule_names: dict[str, str],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        poll_seconds: float = 30.0,
    ) -> None:
        self.rules = rules
        self.invoke = invoke  # function logical id -> invoke(event)
        self.region = region
        self.rule_names = rule_names  # logical id -> physical name
        self.clock = clock
        self.poll_seconds = poll_seconds  # the thread looks at the clock at least this often
        self.history: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def arn(self, rule: ScheduledRule) -> str:
        name = self.rule_names.get(rule.logical_id, rule.logical_id)
        return f"arn:aws:events:{self.region}:{ACCOUNT_ID}:rule/{name}"

    def fire(self, wanted: str, input_override: dict[str, Any] | None = None) -> dict[str, Any]:
        """Invoke the rule's targets now, as EventBridge would; the answers (or errors), per target."""
        rule = find_rule(self.rules, wanted)
        at = self.clock()
        results = []
        with self._lock:  # one firing at a time (functions also take one event at a time)
            for target in rule.targets:
                event = input_override or target.input or scheduled_event(self.arn(rule), self.region, at)
                try:
                    results.append(
                        {
                            "function": target.function_logical_id,
                            "result": self.invoke[target.function_logical_id](event),
                        }
                    )
                except Exception as exc:  # as Lambda reports an unhandled error; the schedule goes on
                    results.append(
                        {
                            "function": target.function_logical_id,
                            "error": {"errorType": type(exc).__name__, "errorMessage": str(exc)},
                        }
                    )
                    traceback.print_exc()
        fired = {"rule": rule.name, "fired_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "targets": results}
        self.history.append(fired)
        return fired

    def start(self) -> Scheduler:
        self._thread = threading.Thread(target=self._run, name="twin-scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        since = self.clock()
        parsed = {name: parse_schedule(rule.schedule) for name, rule in self.rules.items() if rule.enabled}
        due = {name: schedule.next_after(since, since) for name, schedule in parsed.items()}
        while due and not self._stop.is_set():
            name = min(due, key=lambda n: due[n])
            wait = (due[name] - self.clock()).total_seconds()
            if wait > 0:
                self._stop.wait(min(wait, self.poll_seconds))
                continue
            try:
                self.fire(name)
            except Exception:  # never let one rule stop the others
                traceback.print_exc()
            due[name] = parsed[name].next_after(self.clock(), since)

    # ---- the control endpoint (the front's static hook) --------------------------------------
    def control(self, method: str, path: str) -> tuple[int, dict[str, str], bytes] | None:
        if path != CONTROL_PREFIX and not path.startswith(CONTROL_PREFIX + "/"):
            return None
        headers = {"Content-Type": "application/json"}
        rest = path[len(CONTROL_PREFIX) :].strip("/")
        if method == "GET" and not rest:
            body = {"rules": [r.describe() for r in self.rules.values()], "history": self.history[-50:]}
            return 200, headers, json.dumps(body).encode()
        if method == "POST" and rest:
            wanted, _, override = rest.partition("/")
            try:
                answer = self.fire(wanted, json.loads(_unquote(override)) if override else None)
            except (KeyError, ValueError) as exc:
                return 404, headers, json.dumps({"error": str(exc).strip('"')}).encode()
            return 200, headers, json.dumps(answer, default=str).encode()
        return (
            405,
            headers,
            json.dumps({"error": f"{method} {path}: GET {CONTROL_PREFIX} or POST {CONTROL_PREFIX}/<rule>"}).encode(),
        )


def _unquote(text: str) -> str:
    from urllib.parse import unquote

    return unquote(text)


# ---- the command ---------------------------------------------------------------------------------
def _api(args: argparse.Namespace) -> str:
    if args.ready_file:
        return str(json.loads(Path(args.ready_file).read_text())["api"])
    return str(args.api).rstrip("/")


def main(argv: list[str] | None = None) -> int:
    import requests

    parser = argparse.ArgumentParser(prog="python -m infra.local.jobs", description="The twin's scheduled jobs")
    parser.add_argument("--api", default=DEFAULT_API, help="the running twin's API (default %(default)s)")
    parser.add_argument("--ready-file", help="read the twin's API from its --ready-file")
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="the scheduled rules (and the last firings)")
    listing.add_argument("--template", type=Path, help="read a template or cloud assembly instead of a running twin")
    run = sub.add_parser("run", help="fire one rule now and print what its functions answered")
    run.add_argument("rule", help="logical id, short name, or a part of it naming one rule")
    run.add_argument("--input", help='JSON event instead of the scheduled event (e.g. the export\'s {"day": ...})')
    args = parser.parse_args(argv)

    if args.command == "list" and args.template:
        from infra.local.template import load_app_template

        for rule in scheduled_rules(load_app_template(args.template)).values():
            print(f"{rule.name:<28} {rule.schedule:<22} {rule.description}")
        return 0
    base = _api(args) + CONTROL_PREFIX
    if args.command == "list":
        answer = requests.get(base, timeout=30)
        answer.raise_for_status()
        for rule in answer.json()["rules"]:
            print(f"{rule['name']:<28} {rule['schedule']:<22} {rule['description']}")
        return 0
    path = f"{base}/{args.rule}"
    if args.input:
        from urllib.parse import quote

        path += "/" + quote(json.dumps(json.loads(args.input)), safe="")
    answer = requests.post(path, timeout=900)
    print(json.dumps(answer.json(), indent=1))
    if answer.status_code != 200:
        return 2
    return 1 if any("error" in t for t in answer.json()["targets"]) else 0


if __name__ == "__main__":
    sys.exit(main())
