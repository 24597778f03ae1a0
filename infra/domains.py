"""The API domains: one folder under functions/ each, one Lambda function each.

This list is the only place that names them: the stack builds one construct per entry, the OpenAPI
generator merges their route tables, and the local twin finds their handlers through the template.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Domain:
    name: str  # folder under functions/, and the handler module functions.<name>.handler
    description: str
    layers: tuple[str, ...] = ("common",)
    memory_mb: int = 256
    timeout_s: int = 10

    @property
    def handler(self) -> str:
        return f"functions.{self.name}.handler.lambda_handler"

    @property
    def module(self) -> str:
        return f"functions.{self.name}.handler"


API_DOMAINS: tuple[Domain, ...] = (
    Domain("health", "Liveness probe"),
    Domain("docs", "The OpenAPI document of this API"),
    Domain("auth", "Sign-up, login, refresh, logout and password reset over Cognito"),
    Domain("admin", "User administration (admin role only)"),
)
