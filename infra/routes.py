"""Read the route table from the handlers themselves (their Powertools resolver).

A route is private when its OpenAPI operation declares ``security`` (``agri_common.platform.resolver.PRIVATE``);
otherwise it is public and API Gateway puts no authorizer in front of it.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYER_PATHS = (
    ROOT / "layers" / "common" / "python",
    ROOT / "layers" / "carbon_engine" / "python",
    ROOT / "layers" / "chain" / "python",
)
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def ensure_import_paths() -> None:
    """Make the repo and the layers importable, as /opt/python is on Lambda."""
    for path in (ROOT, *LAYER_PATHS):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


@dataclass(frozen=True, order=True)
class Route:
    path: str
    method: str  # upper case
    public: bool
    operation_id: str = ""


def resolver_for(module: str):
    ensure_import_paths()
    return importlib.import_module(module).app


def routes_from_schema(schema: dict) -> list[Route]:
    routes = []
    for path, item in schema.get("paths", {}).items():
        for method in HTTP_METHODS:
            op = item.get(method)
            if op is not None:
                routes.append(
                    Route(
                        path=path,
                        method=method.upper(),
                        public=not op.get("security"),
                        operation_id=op.get("operationId", ""),
                    )
                )
    return sorted(routes)


def load_routes(module: str) -> list[Route]:
    """The routes of ``functions.<domain>.handler``, from its resolver's OpenAPI schema."""
    import json

    from agri_common.platform.resolver import openapi_json

    return routes_from_schema(json.loads(openapi_json(resolver_for(module))))
