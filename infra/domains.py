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
    entry: str = "handler"  # the module of functions/<name>/ holding lambda_handler (e.g. "writer_handler")

    @property
    def handler(self) -> str:
        return f"functions.{self.name}.{self.entry}.lambda_handler"

    @property
    def module(self) -> str:
        return f"functions.{self.name}.{self.entry}"

    @property
    def label(self) -> str:
        """The function's ``agri:domain`` metadata: the domain name, or ``<name>-<entry>`` for a
        domain's second, non-API function, less a ``_handler`` suffix (entry ``writer_handler``:
        ``ledger-writer``)."""
        return self.name if self.entry == "handler" else f"{self.name}-{self.entry.removesuffix('_handler')}"


API_DOMAINS: tuple[Domain, ...] = (
    Domain("health", "Liveness probe"),
    Domain("docs", "The OpenAPI document of this API and Swagger UI over it (/docs)"),
    Domain("auth", "Sign-up, login, refresh, logout and password reset over Cognito"),
    Domain("admin", "User administration (admin role only)"),
    Domain(
        "ledger",
        "Ledger reads, Merkle proofs, credit transfers and retirements (the writer is its second function)",
        timeout_s=29,
    ),
    Domain(
        "farmers",
        "Farmers, plots, seasons, offline sync, evidence uploads, bulk import and credit statements (PDF)",
        layers=("common", "export", "geo"),
        memory_mb=1024,
        timeout_s=29,
    ),
    Domain(
        "fpo",
        "FPOs, their dashboards (overview, reports) and exports",
        layers=("common", "export"),
        memory_mb=512,
        timeout_s=29,
    ),
    Domain("projects", "Carbon projects, auditor assignment and MRV monitoring runs (start, status)", timeout_s=29),
    Domain(
        "registry",
        "Public registry view of credits and projects, for integrators with an API key (no account)",
        timeout_s=29,
    ),
    Domain(
        "verification", "Auditor queue, verification tasks and decisions, samples, reports, observations", timeout_s=29
    ),
    Domain(
        "notifications",
        "My notifications (in-app list, mark read) and preferences (the delivery function is its second function)",
    ),
    Domain(
        "activity",
        "The activity log (audit trail) as each role may read it (the sweeper and the daily export are its other "
        "functions)",
        timeout_s=29,
    ),
)
