"""Keys of a run's objects in the pipeline bucket that a domain other than the pipeline reads (the
farmers domain's credit statement reads the plan, the chunk manifests and one chunk's rows). The
pipeline (functions/pipeline/core.py) builds every key of its objects through these, so the writer and
the readers spell each key once.

A run's objects live under ``runs/<run_id>/g<generation>/``: ``plan.json`` (``chunk_count``),
``manifests/<index>.json`` (``units``: the chunk's farmer ids, sorted; chunks hold consecutive runs of
the sorted farmer ids, so one farmer's plot-seasons are all in one chunk) and
``chunks/<index>/rows.jsonl`` (one JSON line per computed plot-season, with its ``farmer_id``).
"""

from __future__ import annotations


def run_prefix(run_id: str, generation: int) -> str:
    return f"runs/{run_id}/g{generation}"


def plan_key(run_id: str, generation: int) -> str:
    return f"{run_prefix(run_id, generation)}/plan.json"


def manifest_key(run_id: str, generation: int, index: int) -> str:
    return f"{run_prefix(run_id, generation)}/manifests/{index:06d}.json"


def chunk_key(run_id: str, generation: int, index: int, name: str) -> str:
    return f"{run_prefix(run_id, generation)}/chunks/{index:06d}/{name}"


ROWS = "rows.jsonl"  # a chunk's per plot-season rows
