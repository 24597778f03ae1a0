"""A project's summary: what its records add up to (issued, retired and cancelled credits by
vintage, runs, methodology profiles, how many records), kept current by the ledger so the public
registry reads a project in constant work instead of walking its records
(docs/decisions/0021-project-summary-kept-by-the-ledger.md).

The rules of what counts live here once, for all three users of them: the store's append adds the
:class:`SummaryDelta` of the records it writes to the summary in the same transaction (dal.py; the
unit tests' fake does the same), the backfill recounts a project from its records
(summary_backfill.py), and the registry's fallback walk for a project not backfilled yet
(functions/registry/logic.py) counts with :func:`summarize` too. So the three cannot disagree.

- an issuance adds its quantity to ``issued`` of its vintage, its series to ``runs`` and its
  methodology profile to ``methodology_profiles``;
- a retirement adds to ``retired``, a cancellation to ``cancelled``;
- a transfer moves credits between holders: it changes no total (only the record count);
- every record counts in ``records``.

No boto3 here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from functions.ledger import models as m

COLUMNS = {"issuance": "issued", "retirement": "retired", "cancellation": "cancelled"}


@dataclass
class SummaryDelta:
    """What some records of one project add to its summary."""

    project_id: str
    records: int = 0
    first_seq: int = 0
    last_seq: int = 0
    runs: set[str] = field(default_factory=set)
    profiles: set[str] = field(default_factory=set)
    totals: dict[tuple[int, str], int] = field(default_factory=dict)  # (vintage, column) -> credits

    def add(self, record: m.StoredRecord) -> None:
        body = record.body
        seq = record.seq
        self.records += 1
        self.first_seq = seq if not self.first_seq else min(self.first_seq, seq)
        self.last_seq = max(self.last_seq, seq)
        kind = str(body.get("kind"))
        column = COLUMNS.get(kind)
        if column is None:  # a transfer: no total changes
            return
        key = (int(body["vintage"]), column)
        self.totals[key] = self.totals.get(key, 0) + int(body["quantity"])
        if kind == "issuance":
            self.runs.add(str(body["series"]))
            self.profiles.add(str(body["methodology_profile"]))


def deltas(records: Iterable[m.StoredRecord]) -> dict[str, SummaryDelta]:
    """The delta of each project that ``records`` belong to (one summary update per project)."""
    out: dict[str, SummaryDelta] = {}
    for record in records:
        project_id = str(record.body["project_id"])
        out.setdefault(project_id, SummaryDelta(project_id)).add(record)
    return out


def apply(summary: m.ProjectSummary | None, delta: SummaryDelta) -> m.ProjectSummary:
    """``summary`` (None: not stored yet) with ``delta`` added: what the store's update does."""
    if summary is None:
        summary = m.ProjectSummary(project_id=delta.project_id, first_seq=delta.first_seq, last_seq=delta.last_seq)
    vintages = {v: c.model_copy() for v, c in summary.vintages.items()}
    for (vintage, column), quantity in delta.totals.items():
        count = vintages.setdefault(vintage, m.VintageCount())
        setattr(count, column, getattr(count, column) + quantity)
    return summary.model_copy(
        update={
            "records": summary.records + delta.records,
            "first_seq": summary.first_seq or delta.first_seq,
            "last_seq": max(summary.last_seq, delta.last_seq),
            "runs": sorted(set(summary.runs) | delta.runs),
            "methodology_profiles": sorted(set(summary.methodology_profiles) | delta.profiles),
            "vintages": dict(sorted(vintages.items())),
        }
    )


def summarize(project_id: str, records: Iterable[m.StoredRecord], *, complete: bool) -> m.ProjectSummary | None:
    """The summary of these records of ``project_id`` (None if there are none): the walk's count."""
    delta = SummaryDelta(project_id)
    for record in records:
        delta.add(record)
    if not delta.records:
        return None
    return apply(None, delta).model_copy(update={"complete": complete})
