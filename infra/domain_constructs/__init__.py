"""One construct per API domain, mirroring functions/: ``functions/<name>`` <-> ``<name>.py`` here.

:data:`DOMAIN_CONSTRUCTS` maps each name of ``infra.domains.API_DOMAINS`` to its construct. A new
domain without an entry fails the synth: its grants must be decided, never defaulted.
"""

from __future__ import annotations

from infra.domain_constructs.activity import ActivityDomain
from infra.domain_constructs.admin import AdminDomain
from infra.domain_constructs.auth import AuthDomain
from infra.domain_constructs.base import DomainConstruct, Platform
from infra.domain_constructs.docs import DocsDomain
from infra.domain_constructs.farmers import FarmersDomain
from infra.domain_constructs.fpo import FpoDomain
from infra.domain_constructs.health import HealthDomain
from infra.domain_constructs.ledger import LedgerDomain
from infra.domain_constructs.notifications import NotificationsDomain
from infra.domain_constructs.projects import ProjectsDomain
from infra.domain_constructs.registry import RegistryDomain
from infra.domain_constructs.verification import VerificationDomain
from infra.domains import Domain

DOMAIN_CONSTRUCTS: dict[str, type[DomainConstruct]] = {
    "health": HealthDomain,
    "docs": DocsDomain,
    "auth": AuthDomain,
    "admin": AdminDomain,
    "ledger": LedgerDomain,
    "projects": ProjectsDomain,
    "registry": RegistryDomain,
    "verification": VerificationDomain,
    "farmers": FarmersDomain,
    "fpo": FpoDomain,
    "notifications": NotificationsDomain,
    "activity": ActivityDomain,
}


def construct_for(domain: Domain) -> type[DomainConstruct]:
    try:
        return DOMAIN_CONSTRUCTS[domain.name]
    except KeyError:
        raise ValueError(
            f"functions/{domain.name} has no construct: add infra/domain_constructs/{domain.name}.py "
            "declaring its grants, and register it in DOMAIN_CONSTRUCTS"
        ) from None


__all__ = ["DOMAIN_CONSTRUCTS", "DomainConstruct", "Platform", "construct_for"]
