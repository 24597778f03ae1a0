"""GET /health: public liveness probe. No AWS calls, so it answers even when a dependency is down."""

from __future__ import annotations

import os

from pydantic import BaseModel

from agri_common.platform.resolver import make_handler, make_resolver

app = make_resolver()


class Health(BaseModel):
    status: str
    stage: str
    version: str


@app.get("/health", summary="Liveness probe", tags=["health"])
def health() -> Health:
    return Health(status="ok", stage=os.environ.get("STAGE", "dev"), version=os.environ.get("APP_VERSION", "0.1.0"))


lambda_handler = make_handler(app)
