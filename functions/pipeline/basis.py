"""Pass 2 of the VM0042 conservative choice for one chunk: evaluate the chunk's stored engine request
(exactly the plots of pass 1) at the project's chosen factors and store the additive metrics.

Idempotent: the object's key carries the choice's digest; an existing object (an earlier attempt
with the same choice) is reused. One chunk's plots only, so memory is bounded by the chunk size.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

from functions.pipeline import core
from functions.pipeline.models import ChunkInput, ChunkOutput
from functions.pipeline.task import task


@task("conservative_basis", ChunkInput)
def basis(run: ChunkInput, ctx: core.Context) -> ChunkOutput:
    from carbon_engine import chunk_basis

    index = run.index
    choice = ctx.get_json(core.choice_key(run))
    key = core.basis_key(run, index, choice["digest"])
    if ctx.objects.exists(key):
        return ChunkOutput(index=index, reused=True)
    request = json.loads(gzip.decompress(ctx.objects.get(core.engine_request_key(run, index))))
    ctx.put_json(key, chunk_basis(request, choice["chosen"]))
    return ChunkOutput(index=index, reused=False)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return basis(event, core.default_context())
