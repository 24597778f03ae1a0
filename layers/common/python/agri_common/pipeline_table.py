"""The pipeline table (projects, auditor assignment, runs, steps, tasks, samples, reports,
remote-sensing observations): its keys, ids and stored records, shared by the projects,
verification and pipeline functions. docs/table-design.md ("Pipeline table") lists the access
patterns.

Same single-table conventions as the farm table (``pk``/``sk``, one overloaded index ``gsi1``), so
the generic store of :mod:`agri_common.single_table` (get / batch_get / query / transact, never Scan)
serves both tables: there is one DynamoDB access layer, not two.

Ids: ``prj_<8 hex>`` projects; a run id is deterministic per (project, period):
``<project_id>_<period with "-" as "_">`` (at most 24 characters of ``[A-Za-z0-9_]``, which is also
what the ledger accepts in a serial), so a second start for the same period finds the first run.
A verification task is ``<run_id>_a<attempt>``; a report ``<task_id>_<mon|ver>``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import Field

from agri_common.platform.principal import Owned, Principal
from agri_common.single_table import Key as Key  # re-exported: the pipeline table's keys
from agri_common.single_table import Stored

META = "META"

# Each id is the one before it plus a suffix (see the id builders below); the routes' path
# parameters and the logic's checks import these, so each pattern is spelled once.
_PROJECT = r"prj_[0-9a-f]{8}"
_SEASONS = r"(kharif|rabi|zaid)"
_RUN = _PROJECT + r"_\d{4}(_" + _SEASONS + r")?"
_TASK = _RUN + r"_a\d{1,3}"
PROJECT_ID = f"^{_PROJECT}$"
PERIOD = r"^\d{4}(-" + _SEASONS + r")?$"
RUN_ID = f"^{_RUN}$"
TASK_ID = f"^{_TASK}$"
REPORT_ID = f"^{_TASK}_(mon|ver)$"
REPORT_KINDS = {"mon": "monitoring", "ver": "verification"}

RunStatus = Literal["running", "awaiting_auditor", "approved", "rejected", "corrections_requested", "failed"]
RESTARTABLE = frozenset({"failed", "corrections_requested"})
STEPS = (
    "plan",
    "calculate",
    "conservative_choice",
    "conservative_basis",
    "aggregate",
    "verify",
    "reports",
    "await_decision",
    "verification_report",
    "ledger",
    "outcome",
)  # the order a run's steps are shown in


# ---- ids -----------------------------------------------------------------------------------------
def run_id(project_id: str, period: str) -> str:
    return f"{project_id}_{period.replace('-', '_')}"


def project_of_run(run: str) -> str:
    return run[:12]


def task_id(run: str, attempt: int) -> str:
    return f"{run}_a{attempt}"


def run_of_task(task: str) -> tuple[str, int]:
    run, attempt = task.rsplit("_a", 1)
    return run, int(attempt)


def report_id(task: str, kind: str) -> str:
    short = {v: k for k, v in REPORT_KINDS.items()}[kind]
    return f"{task}_{short}"


def task_of_report(report: str) -> tuple[str, str]:
    task, short = report.rsplit("_", 1)
    return task, REPORT_KINDS[short]


def execution_name(run: str, attempt: int) -> str:
    return f"{run}_a{attempt}"


def valid(pattern: str, value: str) -> bool:
    return re.match(pattern, value) is not None


# ---- keys ----------------------------------------------------------------------------------------
def project(project_id: str) -> Key:
    return f"PROJECT#{project_id}", META


def project_fpo(project_id: str, fpo_id: str) -> Key:
    return f"PROJECT#{project_id}", f"FPO#{fpo_id}"


def fpo_projects_index(fpo_id: str) -> str:
    return f"FPO#{fpo_id}#PROJECTS"


def fpo_membership(fpo_id: str) -> Key:
    """A version counter per FPO, moved by every project creation that includes the FPO, so two
    concurrent creations cannot both pass the one-project-at-a-time check."""
    return f"FPO#{fpo_id}", "PROJECTS"


def project_year(project_id: str, year: str) -> Key:
    """A version counter per project and year, moved by every run start of that year, so two
    concurrent starts of overlapping periods ("2025" and "2025-kharif") cannot both pass."""
    return f"PROJECT#{project_id}", f"YEAR#{year}"


def periods_overlap(a: str, b: str) -> bool:
    """Run periods are a year ("2025": every season of 2025) or one season ("2025-kharif")."""
    return a.startswith(b) or b.startswith(a)


def project_auditor(project_id: str, user_id: str) -> Key:
    return f"PROJECT#{project_id}", f"AUDITOR#{user_id}"


def auditor_projects_index(user_id: str) -> str:
    return f"AUDITOR#{user_id}#PROJECTS"


ALL_PROJECTS_INDEX = "PROJECTS"


def run(project_id: str, run: str) -> Key:
    return f"PROJECT#{project_id}", f"RUN#{run}"


RUN_PREFIX = "RUN#"


def step(run: str, name: str) -> Key:
    return f"RUN#{run}", f"STEP#{name}"


STEP_PREFIX = "STEP#"


def chunk(run: str, generation: int, index: int) -> Key:
    """The marker of a stored chunk result: written (if absent) after its S3 objects. Per
    generation: a restart after a correction request recomputes every chunk."""
    return f"RUN#{run}", f"CHUNK#g{generation}#{index:06d}"


def sample(run: str) -> Key:
    return f"RUN#{run}", "SAMPLE"


def task(task: str) -> Key:
    return f"TASK#{task}", META


def project_tasks_index(project_id: str) -> str:
    return f"PROJECT#{project_id}#TASKS"


TaskStatus = Literal["pending", "decided", "closed"]  # closed: the run failed (e.g. timed out) before a decision


def task_queue_prefix(status: TaskStatus) -> str:
    """The start of the index sort key of a project's tasks in ``status`` (the auditors' queue reads
    ``pending``): one spelling, shared with :meth:`TaskRecord.index`."""
    return f"{status}#"


def report(report: str) -> Key:
    return f"REPORT#{report}", META


def observation(plot_id: str, season_key: str) -> Key:
    """One item per plot-season; each source is its own attribute ``src_<source>`` (idempotent)."""
    return f"OBS#{plot_id}", f"SEASON#{season_key}"


OBSERVATION_SOURCE_PREFIX = "src_"


def observation_item(plot_id: str, season_key: str) -> dict[str, Any]:
    """The attributes of a plot-season's observation item besides its sources (an Update sets them
    with one or more :func:`observation_source` attributes, so each source is overwritten alone)."""
    return {"kind": "observation", "plot_id": plot_id, "season_key": season_key}


def observation_source(source: str) -> str:
    return f"{OBSERVATION_SOURCE_PREFIX}{source}"


def observation_sources(item: dict[str, Any]) -> dict[str, Any]:
    """An observation item's sources: ``{source: observation}``."""
    n = len(OBSERVATION_SOURCE_PREFIX)
    return {k[n:]: v for k, v in item.items() if k.startswith(OBSERVATION_SOURCE_PREFIX)}


# ---- records -------------------------------------------------------------------------------------
class ProjectRecord(Stored):
    kind: ClassVar[str] = "project"
    project_id: str
    name: str
    fpo_ids: list[str]
    methodology: str  # checklist template: vm0042 | vm0051 | gold_standard | ccts
    profile: str  # carbon-engine profile
    gwp: str
    region: str
    climate: str
    crediting_start: str
    crediting_end: str
    buffer_fraction: float | None = None
    baseline_water_regime: str = "continuously_flooded"
    baseline_organic_amendments_unknown: bool = False
    country_factors: dict[str, dict[str, Any]] = Field(default_factory=dict)  # name -> value, low, high, source
    draws: int = 2000
    confidence: float = 0.9
    target_precision: float = 0.1
    auditors: list[str] = Field(default_factory=list)
    created_by: str
    created_at: str

    def key(self) -> Key:
        return project(self.project_id)

    def index(self) -> dict[str, str]:
        return {"gsi1pk": ALL_PROJECTS_INDEX, "gsi1sk": f"{self.created_at}#{self.project_id}"}

    def owned_for(self, principal: Principal) -> Owned:
        """The policy's view of a project for this caller: a project belongs to several FPOs, so
        the FPO compared is the caller's own when it is one of them."""
        fpo = principal.fpo_id if principal.fpo_id in self.fpo_ids else (self.fpo_ids[0] if self.fpo_ids else None)
        return Owned(fpo_id=fpo, project_id=self.project_id, assigned_auditors=frozenset(self.auditors))


class RunRecord(Stored):
    kind: ClassVar[str] = "run"
    project_id: str
    run_id: str
    period: str
    status: RunStatus
    attempt: int
    generation: int = 1  # +1 when restarted after a correction request: stored chunk results are then stale
    execution_arn: str | None = None
    started_by: str
    started_at: str
    updated_at: str
    error: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    task_id: str | None = None
    outcome: dict[str, Any] | None = None

    def key(self) -> Key:
        return run(self.project_id, self.run_id)


class StepRecord(Stored):
    kind: ClassVar[str] = "step"
    run_id: str
    step: str
    attempt: int
    status: Literal["running", "succeeded", "failed", "skipped"]
    started_at: str
    finished_at: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
    chunks_done: int | None = None  # calculate: chunks computed by this attempt
    chunks_reused: int | None = None  # calculate: chunks stored by an earlier attempt and skipped

    def key(self) -> Key:
        return step(self.run_id, self.step)


class TaskRecord(Stored):
    kind: ClassVar[str] = "task"
    task_id: str
    project_id: str
    run_id: str
    attempt: int
    status: TaskStatus
    task_token: str
    methodology: str
    findings_key: str
    sample_key: str
    summary: dict[str, Any] = Field(default_factory=dict)
    finding_counts: dict[str, int] = Field(default_factory=dict)
    report_ids: list[str] = Field(default_factory=list)
    created_at: str
    decision: dict[str, Any] | None = None
    heartbeat_at: str | None = None  # the last heartbeat an auditor's opening of the task sent (the reminder's clock)

    def key(self) -> Key:
        return task(self.task_id)

    def index(self) -> dict[str, str]:
        return {
            "gsi1pk": project_tasks_index(self.project_id),
            "gsi1sk": f"{task_queue_prefix(self.status)}{self.created_at}#{self.task_id}",
        }

    def moved_to(self, status: TaskStatus) -> dict[str, Any]:
        """The attributes a status change sets: the status and the index sort key that follows it
        (a decided or closed task leaves the auditors' queue)."""
        return {"status": status, "gsi1sk": self.model_copy(update={"status": status}).index()["gsi1sk"]}


class ReportRecord(Stored):
    kind: ClassVar[str] = "report"
    report_id: str
    project_id: str
    run_id: str
    report_kind: Literal["monitoring", "verification"]
    pdf_key: str
    pdf_sha256: str
    xlsx_key: str
    xlsx_sha256: str
    created_at: str

    def key(self) -> Key:
        return report(self.report_id)


class ProjectFpoRecord(Stored):
    """An FPO of a project, on the FPO's index (which projects cover an FPO)."""

    kind: ClassVar[str] = "project_fpo"
    project_id: str
    fpo_id: str

    def key(self) -> Key:
        return project_fpo(self.project_id, self.fpo_id)

    def index(self) -> dict[str, str]:
        return {"gsi1pk": fpo_projects_index(self.fpo_id), "gsi1sk": self.project_id}


class AuditorAssignmentRecord(Stored):
    """An auditor assigned to a project, on the auditor's index (which projects they audit)."""

    kind: ClassVar[str] = "project_auditor"
    project_id: str
    user_id: str
    username: str
    assigned_by: str
    assigned_at: str

    def key(self) -> Key:
        return project_auditor(self.project_id, self.user_id)

    def index(self) -> dict[str, str]:
        return {"gsi1pk": auditor_projects_index(self.user_id), "gsi1sk": self.project_id}


class SampleRecord(Stored):
    """A run's verification sample: its design figures; the plots are in S3 (``object_key``)."""

    kind: ClassVar[str] = "sample"
    run_id: str
    project_id: str
    generation: int
    seed: int
    size: dict[str, Any]  # the sample-size computation (n, z, cv, the formula): sampling.sample_size
    strata: list[dict[str, Any]]
    object_key: str
    selected: int
    created_at: str

    def key(self) -> Key:
        return sample(self.run_id)


class ChunkMarker(Stored):
    """A stored chunk result (its S3 objects written first). Run, generation and index are in the key only."""

    kind: ClassVar[str] = "chunk"
    run_id: str = Field(exclude=True)
    generation: int = Field(exclude=True)
    chunk_index: int = Field(exclude=True)
    rows: int
    findings: int
    has_totals: bool
    at: str

    def key(self) -> Key:
        return chunk(self.run_id, self.generation, self.chunk_index)


# ---- an FPO's share of a run (the FPO dashboard's carbon section) --------------------------------
def fpo_run(fpo_id: str, period: str, run: str) -> Key:
    """Sorted by period, so an FPO's runs read in time order with one Query."""
    return f"FPO#{fpo_id}", f"RUN#{period}#{run}"


FPO_RUN_PREFIX = "RUN#"


class FpoRunRecord(Stored):
    """One FPO's share of one run's carbon figures, written (overwritten) by the aggregate step.

    The run's status is not copied here: the FPO read joins the run item (one BatchGetItem), since
    the status has several writers (run start and restart, await_decision, outcome) and a copy
    would drift. Sums over the FPO's plot-season rows; ``farmers`` counts its farmers with a
    computed plot-season; ``creditable_net_share_t`` is the run's creditable net pro rata to the
    FPO's farmers' net contributions, each taken as the ledger does (non-negative, 6 decimals)."""

    kind: ClassVar[str] = "fpo_run"
    fpo_id: str
    project_id: str
    run_id: str
    period: str
    attempt: int
    generation: int
    plot_seasons: int
    farmers: int
    area_ha: float
    emissions_baseline_t: float
    emissions_project_t: float
    removals_t: float
    net_t: float
    creditable_net_share_t: float

    def key(self) -> Key:
        return fpo_run(self.fpo_id, self.period, self.run_id)
