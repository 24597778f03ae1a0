"""Read the route table from the handlers themselves (their Powertools resolver).

A route is private when its OpenAPI operation declares the Cognito security scheme
(``agri_common.platform.resolver.PRIVATE``); otherwise it is public and API Gateway puts no
authorizer in front of it. A public route that declares the API key scheme
(``agri_common.platform.resolver.API_KEY``) gets ``apiKeyRequired``: API Gateway refuses it without a
valid key and meters it with the key's usage plan.
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
COGNITO_SCHEME = "CognitoUserPool"  # agri_common.platform.resolver.SECURITY_SCHEME (not imported: no layer path yet)
API_KEY_SCHEME = "ApiKey"  # agri_common.platform.resolver.API_KEY_SCHEME


def ensure_import_paths() -> None:
    """Make the repo and the layers importable, as /opt/python is on Lambda."""
    for path in (ROOT, *LAYER_PATHS):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


@dataclass(frozen=True, order=True)
class Route:
    path: str
    method: str  # upper case
    public: bool  # no Cognito authorizer
    operation_id: str = ""
    api_key: bool = False  # API Gateway requires an API key (x-api-key) and meters it

    def __post_init__(self) -> None:
        if self.api_key and not self.public:
            raise ValueError(f"{self.method} {self.path}: a route takes a Cognito token or an API key, not both")


def resolver_for(module: str):
    ensure_import_paths()
    return importlib.import_module(module).app


def routes_from_schema(schema: dict) -> list[Route]:
    routes = []
    for path, item in schema.get("paths", {}).items():
        for method in HTTP_METHODS:
            op = item.get(method)
            if op is not None:
                schemes = {name for requirement in op.get("security") or [] for name in requirement}
                unknown = schemes - {COGNITO_SCHEME, API_KEY_SCHEME}
                if unknown:
                    raise ValueError(f"{method.upper()} {path} declares unknown security schemes {sorted(unknown)}")
                routes.append(
                    Route(
                        path=path,
                        method=method.upper(),
                        public=COGNITO_SCHEME not in schemes,
                        operation_id=op.get("operationId", ""),
                        api_key=API_KEY_SCHEME in schemes,
                    )
                )
    return sorted(routes)


def load_routes(module: str) -> list[Route]:
    """The routes of ``functions.<domain>.handler``, from its resolver's OpenAPI schema."""
    import json

    from agri_common.platform.resolver import openapi_json

    return routes_from_schema(json.loads(openapi_json(resolver_for(module))))
