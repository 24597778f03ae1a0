"""The Lambda building blocks: the shared layers and :class:`DomainFunction`.

A DomainFunction is one API domain's function with everything it owns and nothing shared: its own
IAM role (no ``AWSLambdaBasicExecutionRole``: it may write only to its own log group), its own log
group with the stage's retention, active X-Ray tracing. Data grants are added by the domain's
construct (infra/domain_constructs/), never here.

Every Lambda resource carries the metadata ``{"agri:domain": "<name>"}`` (layers:
``{"agri:layer": "<name>"}``) so the local twin maps template resources to ``functions/<name>``
without parsing logical ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.bundling import LAYERS_DIR, function_code, layer_code, layer_exists
from infra.config import StageConfig
from infra.domains import Domain

# The newest Python runtime CDK offers (cdk-nag L1 accepts only the newest); the layers' wheels
# are installed for this same version (infra/bundling.py derives it from the runtime).
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.X86_64
DOMAIN_METADATA_KEY = "agri:domain"
LAYER_METADATA_KEY = "agri:layer"


class SharedLayers(Construct):
    """One layer per folder ``layers/<name>/python`` present in the repo (common, carbon_engine...).

    A layer whose folder does not exist yet is simply not built; a domain that asks for it fails
    the synth (:meth:`for_domain`), because its function would fail at import time instead.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, install_requirements: bool = True
    ) -> None:
        super().__init__(scope, construct_id)
        self.layers: dict[str, lambda_.LayerVersion] = {}
        for folder in sorted(p for p in LAYERS_DIR.iterdir() if p.is_dir()):
            if not layer_exists(folder.name):
                continue
            layer = lambda_.LayerVersion(
                self,
                "".join(part.title() for part in folder.name.split("_")),
                code=layer_code(folder.name, RUNTIME, install_requirements=install_requirements),
                compatible_runtimes=[RUNTIME],
                compatible_architectures=[ARCHITECTURE],
                description=f"agri-mrv {folder.name} layer (layers/{folder.name})",
                removal_policy=config.cdk_removal_policy,
            )
            layer.node.default_child.add_metadata(LAYER_METADATA_KEY, folder.name)
            self.layers[folder.name] = layer

    def for_domain(self, domain: Domain) -> list[lambda_.ILayerVersion]:
        missing = [name for name in domain.layers if name not in self.layers]
        if missing:
            raise ValueError(
                f"Domain {domain.name!r} needs layer(s) {missing}, but layers/<name>/python does not exist"
            )
        return [self.layers[name] for name in domain.layers]


class DomainFunction(Construct):
    """A domain's Lambda function with its own role and log group.

    Attributes: ``function``, ``role``, ``log_group``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain: Domain,
        config: StageConfig,
        layers: Sequence[lambda_.ILayerVersion],
        environment: Mapping[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.domain = domain
        self.log_group = logs.LogGroup(
            self, "LogGroup", retention=config.log_retention, removal_policy=config.cdk_removal_policy
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"agri-mrv {domain.label} function: own log group, X-Ray, and its domain construct's grants",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            description=domain.description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=domain.handler,
            code=function_code(domain.name, RUNTIME, domain.entry),
            layers=list(layers),
            memory_size=domain.memory_mb,
            timeout=Duration.seconds(domain.timeout_s),
            tracing=lambda_.Tracing.ACTIVE,
            role=self.role,
            log_group=self.log_group,
            environment=dict(environment),
        )
        self.function.node.default_child.add_metadata(DOMAIN_METADATA_KEY, domain.label)
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="Active X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no "
                "resource-level permissions, so AWS requires Resource '*'. Every other statement of "
                "this role names its resource (the infra tests enforce it).",
            )
        )

    def add_environment(self, **variables: str) -> None:
        for key, value in variables.items():
            self.function.add_environment(key, value)
