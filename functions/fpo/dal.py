"""The FPO dashboard's reads of the pipeline table: the FPO's per-run carbon items and their runs.

Constant cost per request: one Query (``FPO#<fpo_id>`` begins_with ``RUN#``, at most
``MAX_CARBON_RUNS`` + 1 items, some 300 bytes each: one page) and, when there are runs, one
BatchGetItem of their run items (at most 100 keys: one call) for the status. The status is read
from the run, not copied onto the FPO item, because several steps and routes move it.
"""

from __future__ import annotations

from typing import Any, Protocol

from agri_common import pipeline_table

MAX_CARBON_RUNS = 100  # an FPO's runs: its projects x periods (a few a year); bounds the overview's cost


class CarbonRuns(Protocol):
    def runs(self, fpo_id: str) -> tuple[list[tuple[pipeline_table.FpoRunRecord, pipeline_table.RunStatus]], bool]:
        """(record, run status) by period, and whether more than ``MAX_CARBON_RUNS`` exist."""
        ...


class PipelineCarbonRuns:
    def __init__(self, store: Any):
        self.store = store  # the generic store (agri_common.single_table) on the pipeline table

    def runs(self, fpo_id: str) -> tuple[list[tuple[pipeline_table.FpoRunRecord, pipeline_table.RunStatus]], bool]:
        pk, _ = pipeline_table.fpo_run(fpo_id, "", "")
        # newest periods first, so a truncated list drops the oldest runs; shown oldest first
        items, _ = self.store.query(
            pk, prefix=pipeline_table.FPO_RUN_PREFIX, limit=MAX_CARBON_RUNS + 1, newest_first=True
        )
        records = [pipeline_table.FpoRunRecord.from_item(i) for i in reversed(items[:MAX_CARBON_RUNS])]
        if not records:
            return [], False
        runs = {
            (i["project_id"], i["run_id"]): i
            for i in self.store.batch_get([pipeline_table.run(r.project_id, r.run_id) for r in records])
        }
        found = [(r, runs[(r.project_id, r.run_id)]["status"]) for r in records if (r.project_id, r.run_id) in runs]
        return found, len(items) > MAX_CARBON_RUNS
