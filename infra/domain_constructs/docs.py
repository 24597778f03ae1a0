"""functions/docs: serves the committed OpenAPI document shipped inside its own asset. No data access."""

from infra.domain_constructs.base import DomainConstruct


class DocsDomain(DomainConstruct):
    """No grants beyond its own log group and X-Ray."""
