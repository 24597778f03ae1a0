"""What every domain construct shares: the platform it draws on and the base class.

A domain construct (one module per folder of functions/, same name) creates the domain's
:class:`~infra.function.DomainFunction` and grants it exactly what that domain's code calls, in
:meth:`DomainConstruct.grant`. The stack only composes them; nothing else grants data access.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import StageConfig
from infra.domains import Domain
from infra.function import DomainFunction, SharedLayers
from infra.identity import Identity
from infra.routes import Route
from infra.storage import Storage

if TYPE_CHECKING:
    from infra.domain_constructs.ledger import LedgerSecrets

SERVICE_NAME = "agri-mrv"
METRICS_NAMESPACE = "AgriMrv"


@dataclass(frozen=True)
class Platform:
    """The shared resources a domain construct may use or grant access to."""

    config: StageConfig
    app_version: str
    layers: SharedLayers
    storage: Storage
    identity: Identity
    ledger_secrets: LedgerSecrets
    # The ledger writer (pipeline stack), for the API domains that invoke it; None while building it.
    ledger_writer: lambda_.IFunction | None = None

    def base_environment(self) -> dict[str, str]:
        """Variables every function gets (Powertools, stage, CORS for the resolver, version)."""
        return {
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": self.config.log_level,
            "STAGE": self.config.name,
            "CORS_ORIGINS": ",".join(self.config.cors_origins),
            "APP_VERSION": self.app_version,
            # No pydantic plugins are used; skipping their entry-point scan saves ~20 ms of cold start.
            "PYDANTIC_DISABLE_PLUGINS": "__all__",
        }


class DomainConstruct(Construct):
    """One API domain: its function, plus the grants of :meth:`grant` (none by default).

    Generic rules applied here: a domain with at least one private route checks token revocation
    on every such request, so it gets ``REVOCATION_TABLE`` and read access (BatchGetItem/GetItem); a
    domain with a mutating route appends activity events (``ACTIVITY_TABLE``, PutItem only).
    Attributes: ``handler`` (the DomainFunction), ``domain``, ``routes``.
    """

    def __init__(self, scope: Construct, *, domain: Domain, platform: Platform, routes: Sequence[Route]) -> None:
        super().__init__(scope, "".join(part.title() for part in domain.name.split("_")))
        self.domain = domain
        self.routes = tuple(routes)
        self.handler = DomainFunction(
            self,
            "Handler",
            domain=domain,
            config=platform.config,
            layers=platform.layers.for_domain(domain),
            environment=platform.base_environment(),
        )
        if self.has_private_routes:
            self.use_revocation(platform, write=False)
        if self.has_mutating_routes:  # the activity hook of make_handler: an intent and an event per request
            self.handler.add_environment(ACTIVITY_TABLE=platform.storage.activity.table_name)
            platform.storage.grant_activity_append(self.handler.role)
        self.grant(platform)

    @property
    def has_private_routes(self) -> bool:
        return any(not route.public for route in self.routes)

    @property
    def has_mutating_routes(self) -> bool:
        return any(route.method in ("POST", "PUT", "PATCH", "DELETE") for route in self.routes)

    def grant(self, platform: Platform) -> None:
        """Override to add the domain's own environment and permissions."""

    def use_revocation(self, platform: Platform, *, write: bool) -> None:
        """The revocation table's name, read access, and PutItem when ``write``."""
        storage = platform.storage
        self.handler.add_environment(REVOCATION_TABLE=storage.revocation.table_name)
        storage.grant_revocation_check(self.handler.role)
        if write:
            storage.grant_revocation_write(self.handler.role)
