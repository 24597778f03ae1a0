"""Integration tests: our data-access code against moto, with resources provisioned from the
synthesized template exactly as the local twin does (same keys, indexes, pool policy, clients)."""

from __future__ import annotations

import pytest
from moto import mock_aws

from agri_common.platform.aws import reset_clients
from agri_common.platform.settings import clear_settings_cache
from infra.local import moto_ext
from infra.local.provision import Provisioner
from infra.local.template import Resolver, function_specs

REGION = "ap-south-1"


@pytest.fixture
def aws(monkeypatch, synthesized):
    """A fresh moto account with the stack's data resources; yields the resolver (logical id -> name)."""
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    moto_ext.install()
    reset_clients()
    clear_settings_cache()
    with mock_aws():
        resolver = Resolver(REGION, synthesized.stack_name)
        provisioner = Provisioner(synthesized.template, resolver)
        provisioner.run()
        resolver.provisioner = provisioner
        yield resolver
    reset_clients()
    clear_settings_cache()


@pytest.fixture
def function_env(aws, synthesized, monkeypatch):
    """Set one function's environment, resolved from its template definition."""

    def apply(domain: str) -> dict[str, str]:
        spec = next(s for s in function_specs(synthesized.template).values() if s.domain == domain)
        env = {k: str(aws.resolve(v)) for k, v in spec.environment.items()}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        clear_settings_cache()
        return env

    return apply
