"""functions/health: the liveness probe. No data access, on purpose: it must answer when a dependency is down."""

from infra.domain_constructs.base import DomainConstruct


class HealthDomain(DomainConstruct):
    """No grants beyond its own log group and X-Ray."""
