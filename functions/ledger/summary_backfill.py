"""The projects' summaries recounted from their records: the backfill of projects whose records
predate the summary (decision 0021), and a repair of any summary. Idempotent: it writes what the
records add up to, only if no append changed the summary since it was read (else it counts again).

    python -m functions.ledger.summary_backfill --table <ledger table> [--project <project id> ...]

Without ``--project`` it finds every project by walking the chain once (``records_by_seq`` in
windows of :data:`WINDOW` seqs) and recounts each project that is not ``complete`` yet from its own
records (the project index); a project already backfilled is left alone (``--force`` recounts it
too). Each record is read at most twice, once: the registry then reads every project in constant
work. Until a project is backfilled the registry counts its records on every read (flagged
``totals_from: records``), so its answers are right, only slower.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from agri_common.platform.errors import DependencyError
from functions.ledger import models as m
from functions.ledger.ports import LedgerStore
from functions.ledger.summary import summarize

WINDOW = 10_000  # seqs read per step of the walk that finds the projects
PAGE = 200  # records per Query of a project's records
ATTEMPTS = 5  # recounts of one project when appends keep changing its summary meanwhile


@dataclass
class Rebuilt:
    project_id: str
    records: int
    status: str  # "written", "complete" (left alone) or "empty" (no record)


def project_records(store: LedgerStore, project_id: str) -> Iterable[m.StoredRecord]:
    cursor = None
    while True:
        page, cursor = store.query_records("project_id", project_id, PAGE, cursor, {})
        yield from page
        if not cursor:
            return


def rebuild_project(store: LedgerStore, project_id: str, *, force: bool = False) -> Rebuilt:
    """Recount ``project_id``'s summary from its records and store it ``complete``; compare-and-set
    on the summary's ``last_seq``, so an append that lands meanwhile (and adds to the summary) makes
    it read and count again rather than overwrite that append."""
    for _attempt in range(ATTEMPTS):
        current = store.project_summary(project_id)
        if current is not None and current.complete and not force:
            return Rebuilt(project_id, current.records, "complete")
        records = list(project_records(store, project_id))
        upto = current.last_seq if current is not None else max((r.seq for r in records), default=0)
        if current is not None and not any(r.seq == upto for r in records):
            continue  # the index does not show the summary's last record yet (eventually consistent)
        counted = summarize(project_id, (r for r in records if r.seq <= upto), complete=True)
        if counted is None:
            return Rebuilt(project_id, 0, "empty")
        if store.put_project_summary(counted, current.last_seq if current is not None else None):
            return Rebuilt(project_id, counted.records, "written")
    raise DependencyError(f"project {project_id}: its summary kept changing during the recount; run again")


def project_ids(store: LedgerStore, window: int = WINDOW) -> list[str]:
    """Every project with a record, by walking the chain once up to its head."""
    head, _ = store.head()
    found: dict[str, None] = {}
    for start in range(1, head + 1, window):
        for record in store.records_by_seq(start, min(head, start + window - 1)):
            found.setdefault(str(record.body["project_id"]), None)
    return list(found)


def rebuild(store: LedgerStore, projects: Sequence[str] | None = None, *, force: bool = False) -> list[Rebuilt]:
    return [rebuild_project(store, p, force=force) for p in (projects or project_ids(store))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Recount the ledger's project summaries from their records")
    parser.add_argument("--table", required=True, help="the ledger table (LEDGER_TABLE)")
    parser.add_argument("--project", action="append", help="only this project (repeatable)")
    parser.add_argument("--force", action="store_true", help="recount projects already backfilled too")
    args = parser.parse_args(argv)
    from functions.ledger.dal import DynamoLedgerStore

    for done in rebuild(DynamoLedgerStore(args.table), args.project, force=args.force):
        print(json.dumps({"project_id": done.project_id, "records": done.records, "status": done.status}))
    return 0


if __name__ == "__main__":  # pragma: no cover - the command line
    raise SystemExit(main())
