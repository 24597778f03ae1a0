"""The agri-mrv stacks, split by lifecycle: they compose the constructs, nothing else.

- :class:`DataStack` (``AgriMrv-<stage>``): everything that holds data or identity and must never
  be replaced by an API change: the DynamoDB tables, the S3 buckets, the Cognito user pool with its
  groups and app client, the secrets. No code (no Lambda function, no custom resource). It keeps the
  name of the pre-split single stack, and every one of its resources keeps its logical id, so a
  stage deployed before the split migrates by an ordinary update (docs/stacks.md).
- :class:`AppStack` (``AgriMrv-<stage>-app``): the stateless rest: layers, one function per API
  domain, the REST API, the MRV state machine and its task functions, the ledger writer and its
  schedule. It reads the data stack's resources through cross-stack references (weak by default:
  ``Fn::GetStackOutput``, see cdk.json and docs/stacks.md), so ``cdk deploy --all`` deploys the
  data stack first.

For every domain of ``infra.domains.API_DOMAINS``, its construct (infra/domain_constructs/) creates
the function with its grants and the API gets the routes that the domain's handler declares.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, CfnResource, RemovalPolicy, Stack
from constructs import Construct

from infra.api import Api
from infra.config import AppSettings, StageConfig
from infra.domain_constructs import DomainConstruct, Platform, construct_for
from infra.domain_constructs.admin import AdminDomain
from infra.domain_constructs.ledger import LedgerDomain, LedgerSecrets
from infra.domain_constructs.notifications import NotificationsDomain
from infra.domains import API_DOMAINS, Domain
from infra.function import SharedLayers
from infra.identity import Identity
from infra.pipeline import MrvPipeline
from infra.routes import load_routes
from infra.storage import Storage

APP_STACK_SUFFIX = "-app"
NOTIFYING_TASKS = ("await_decision", "outcome")  # the pipeline tasks that hand events to the notification port


def app_stack_name(config: StageConfig) -> str:
    """``AgriMrv-<stage>-app``: the stateless stack (the data stack is ``config.stack_name``)."""
    return f"{config.stack_name}{APP_STACK_SUFFIX}"


class DataStack(Stack):
    """``AgriMrv-<stage>``: the stateful stack. Attributes: ``storage``, ``identity``, ``ledger_secrets``.

    In a stage whose data is kept (prod: ``removal_policy: retain``) the stack has termination
    protection and every resource of it is retained on deletion or replacement, including the
    Cognito groups and app client, which the constructs would otherwise delete.
    """

    def __init__(self, scope: Construct, settings: AppSettings) -> None:
        config = settings.stage
        super().__init__(
            scope,
            config.stack_name,
            termination_protection=not config.is_ephemeral,
            description=f"agri-mrv data: tables, buckets, user pool, secrets ({config.name})",
        )
        self.storage = Storage(self, "Storage", config=config)
        self.identity = Identity(self, "Identity", config=config)
        # Construct id "Ledger": the secret keeps the logical id it had under the ledger domain's
        # construct in the single pre-split stack.
        self.ledger_secrets = LedgerSecrets(self, "Ledger", config=config)
        if not config.is_ephemeral:
            for child in self.node.find_all():
                if isinstance(child, CfnResource):
                    child.apply_removal_policy(RemovalPolicy.RETAIN)
        CfnOutput(self, "UserPoolId", value=self.identity.user_pool.user_pool_id)
        CfnOutput(self, "UserPoolClientId", value=self.identity.client.user_pool_client_id)


class AppStack(Stack):
    """``AgriMrv-<stage>-app``. Attributes: ``layers``, ``api``, ``domains``, ``pipeline``; ``data``
    is the :class:`DataStack` it reads."""

    def __init__(
        self, scope: Construct, settings: AppSettings, data: DataStack, *, domains: tuple[Domain, ...] = API_DOMAINS
    ) -> None:
        config = settings.stage
        super().__init__(
            scope,
            app_stack_name(config),
            description=f"agri-mrv serverless backend for agricultural carbon MRV: API, functions, "
            f"pipeline ({config.name})",
        )
        self.data = data
        self.add_stack_dependency(data, "reads the data stack's tables, buckets, user pool and secrets")
        self.layers = SharedLayers(self, "Layers", config=config, install_requirements=settings.bundle_layers)
        self.api = Api(self, "Api", config=config, user_pool=data.identity.user_pool)
        platform = Platform(
            config=config,
            app_version=settings.app_version,
            layers=self.layers,
            storage=data.storage,
            identity=data.identity,
            ledger_secrets=data.ledger_secrets,
        )

        self.domains: dict[str, DomainConstruct] = {}
        for domain in domains:
            routes = load_routes(domain.module)
            construct = construct_for(domain)(self, domain=domain, platform=platform, routes=routes)
            self.api.add_routes(domain.name, routes, construct.handler.function)
            self.domains[domain.name] = construct
        admin = self.domains.get("admin")
        if isinstance(admin, AdminDomain):  # integrator API keys on this API's usage plans
            admin.manage_api_keys(self.api.usage_plans)

        # The MRV state machine: its task functions, the ledger writer step (the ledger domain's
        # function) and the grants of the API domains that start it and answer its task tokens.
        ledger = self.domains.get("ledger")
        self.pipeline = MrvPipeline(
            self,
            "Pipeline",
            platform=platform,
            ledger_writer=ledger.writer.function if isinstance(ledger, LedgerDomain) else None,
        )
        if "projects" in self.domains:
            self.pipeline.grant_start(self.domains["projects"].handler)
        if "verification" in self.domains:
            self.pipeline.grant_task_response(self.domains["verification"].handler)

        # Notification producers: each may only enqueue (docs/decisions/0014).
        notifications = self.domains.get("notifications")
        if isinstance(notifications, NotificationsDomain):
            producers = [self.pipeline.functions[t].function for t in NOTIFYING_TASKS]
            for name in ("farmers", "ledger"):
                if name in self.domains:
                    producers.append(self.domains[name].handler.function)
            if isinstance(ledger, LedgerDomain):
                producers.append(ledger.writer.function)
            for function in producers:
                notifications.delivery.grant_enqueue(function)

        CfnOutput(self, "ApiUrl", value=self.api.url, description="Base URL of the REST API stage")


def build_stacks(scope: Construct, settings: AppSettings) -> tuple[DataStack, AppStack]:
    """The app's stacks in deployment order."""
    data = DataStack(scope, settings)
    return data, AppStack(scope, settings, data)
