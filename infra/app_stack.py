"""The agri-mrv stacks, split by lifecycle: they compose the constructs, nothing else.

- :class:`DataStack` (``AgriMrv-<stage>``): everything that holds data or identity and must never
  be replaced by an API change: the DynamoDB tables, the S3 buckets, the Cognito user pool with its
  groups and app client, the secrets. No code (no Lambda function, no custom resource). It keeps the
  name of the pre-split single stack, and every one of its resources keeps its logical id, so a
  stage deployed before the split migrates by an ordinary update (docs/stacks.md).
- :class:`PipelineStack` (``AgriMrv-<stage>-pipeline``): stateless, what runs behind the API: the
  shared layers, the MRV state machine and its task functions, the ledger writer and its anchoring
  schedule, the scheduled jobs. It reads the data stack.
- :class:`AppStack` (``AgriMrv-<stage>-app``): stateless, the API: one function per API domain and
  the REST API. It reads the data stack and the pipeline stack (layers, state machine, writer).

Every cross-stack reference is weak (``Fn::GetStackOutput``, see cdk.json and docs/stacks.md), and
the dependencies run one way: data <- pipeline <- app, so ``cdk deploy --all`` deploys them in
that order.

For every domain of ``infra.domains.API_DOMAINS``, its construct (infra/domain_constructs/) creates
the function with its grants and the API gets the routes that the domain's handler declares.
"""

from __future__ import annotations

import dataclasses

from aws_cdk import CfnOutput, CfnResource, Duration, RemovalPolicy, Stack
from constructs import Construct

from infra.alarms import OperationsAlarms, alarms_topic_key
from infra.api import Api
from infra.config import AppSettings, StageConfig
from infra.domain_constructs import DomainConstruct, Platform, construct_for
from infra.domain_constructs.activity import ActivityJobs
from infra.domain_constructs.admin import AdminDomain
from infra.domain_constructs.ledger import LedgerSecrets, LedgerWriter
from infra.domain_constructs.notifications import NotificationDelivery
from infra.domains import API_DOMAINS, Domain
from infra.function import SharedLayers
from infra.identity import Identity
from infra.jobs import ScheduledJobs
from infra.pipeline import MrvPipeline
from infra.routes import load_routes
from infra.storage import Storage

APP_STACK_SUFFIX = "-app"
PIPELINE_STACK_SUFFIX = "-pipeline"
NOTIFYING_TASKS = ("await_decision", "outcome")  # the pipeline tasks that hand events to the notification port
NOTIFYING_DOMAINS = ("farmers", "ledger")  # the API domains that do


def app_stack_name(config: StageConfig) -> str:
    """``AgriMrv-<stage>-app``: the API stack (the data stack is ``config.stack_name``)."""
    return f"{config.stack_name}{APP_STACK_SUFFIX}"


def pipeline_stack_name(config: StageConfig) -> str:
    """``AgriMrv-<stage>-pipeline``: layers, state machine, ledger writer, scheduled jobs."""
    return f"{config.stack_name}{PIPELINE_STACK_SUFFIX}"


class DataStack(Stack):
    """``AgriMrv-<stage>``: the stateful stack. Attributes: ``storage``, ``identity``, ``ledger_secrets``,
    ``alarms_key`` (the operations alarms topic's KMS key).

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
        # The operations alarms topic's key (the topic is in the pipeline stack: infra/alarms.py).
        self.alarms_key = alarms_topic_key(self, "OperationsAlarmsKey", config=config)
        if not config.is_ephemeral:
            for child in self.node.find_all():
                if isinstance(child, CfnResource):
                    child.apply_removal_policy(RemovalPolicy.RETAIN)
        CfnOutput(self, "UserPoolId", value=self.identity.user_pool.user_pool_id)
        CfnOutput(self, "UserPoolClientId", value=self.identity.client.user_pool_client_id)


class PipelineStack(Stack):
    """``AgriMrv-<stage>-pipeline``: what runs behind the API, stateless. Attributes: ``layers``,
    ``ledger_writer`` (:class:`LedgerWriter`, None when the app has no ledger domain), ``pipeline``
    (:class:`MrvPipeline`); ``data`` is the :class:`DataStack` it reads.

    It holds the shared layers (every function of the app uses them), the ledger writer and its
    anchoring schedule, the MRV state machine with its task functions, and the scheduled jobs. It
    depends on the data stack only; the app stack depends on it (the API starts executions,
    answers task tokens and invokes the writer), never the reverse: the state machine invokes the
    writer, which lives here too.
    """

    def __init__(
        self, scope: Construct, settings: AppSettings, data: DataStack, *, domains: tuple[Domain, ...] = API_DOMAINS
    ) -> None:
        config = settings.stage
        super().__init__(
            scope,
            pipeline_stack_name(config),
            description=f"agri-mrv pipeline: layers, MRV state machine and tasks, ledger writer, scheduled jobs "
            f"({config.name})",
        )
        self.data = data
        self.add_stack_dependency(data, "reads the data stack's tables, buckets and secrets")
        self.layers = SharedLayers(self, "Layers", config=config, install_requirements=settings.bundle_layers)
        self.platform = Platform(
            config=config,
            app_version=settings.app_version,
            layers=self.layers,
            storage=data.storage,
            identity=data.identity,
            ledger_secrets=data.ledger_secrets,
        )
        ledger = next((d for d in domains if d.name == "ledger"), None)
        # Construct id "Ledger": the writer's logical ids stay LedgerWriter... as in the app stack before.
        self.ledger_writer = LedgerWriter(self, "Ledger", domain=ledger, platform=self.platform) if ledger else None
        self.pipeline = MrvPipeline(
            self,
            "Pipeline",
            platform=self.platform,
            ledger_writer=self.ledger_writer.function.function if self.ledger_writer else None,
        )
        # Notification delivery (queue, dead letters, delivery function, hourly auditor reminder): here, so
        # that the producers of both stacks reach the queue without a cycle (the app stack reads this one).
        notifications = next((d for d in domains if d.name == "notifications"), None)
        self.notifications = (
            NotificationDelivery(self, "Notifications", domain=notifications, platform=self.platform)
            if notifications
            else None
        )
        if self.notifications is not None:
            for task in NOTIFYING_TASKS:
                self.notifications.grant_enqueue(self.pipeline.functions[task].function)
            if self.ledger_writer is not None:
                self.notifications.grant_enqueue(self.ledger_writer.function.function)
        # The activity log's sweeper and daily export (infra/domain_constructs/activity.py).
        activity = next((d for d in domains if d.name == "activity"), None)
        self.activity_jobs = (
            ActivityJobs(self, "Activity", domain=activity, platform=self.platform) if activity else None
        )
        # The scheduled jobs (infra/jobs.py; the anchoring schedule is the writer's own rule above).
        self.jobs = (
            ScheduledJobs(
                self,
                "Jobs",
                platform=self.platform,
                state_machine=self.pipeline.state_machine,
                ledger=ledger,
                farmers=next((d for d in domains if d.name == "farmers"), None),
            )
            if ledger
            else None
        )
        # The operations alarms topic and what notifies it (infra/alarms.py, docs/decisions/0020).
        self.alarms = OperationsAlarms(self, "Operations", config=config, key=data.alarms_key)
        self._watch()

    def _watch(self) -> None:
        alarms, machine = self.alarms, self.pipeline.state_machine
        if self.notifications is not None:
            alarms.alarm(
                "NotificationDeadLettersAlarm",
                self.notifications.dead_letters.metric_approximate_number_of_messages_visible(
                    period=Duration.minutes(5), statistic="Maximum"
                ),
                "A notification failed every delivery and is in the dead-letter queue: see the delivery function's "
                "logs for the failed channel, fix it, then redrive the DLQ (docs/notifications.md)",
            )
        if self.jobs is not None:
            alarms.notify("ExportConflictAlarm", self.jobs.conflict_alarm)
        alarms.alarm(
            "ExecutionsFailedAlarm",
            machine.metric_failed(period=Duration.minutes(5), statistic="Sum"),
            "A monitoring run's state machine execution failed: the run shows failed with its cause "
            "(GET /projects/{id}/runs/{run}; docs/pipeline.md)",
        )
        alarms.alarm(
            "ExecutionsTimedOutAlarm",
            machine.metric_timed_out(period=Duration.minutes(5), statistic="Sum"),
            "A monitoring run's execution timed out (an auditor's 7-day heartbeat lapsed, or a task hung)",
        )
        if self.ledger_writer is not None:
            alarms.alarm(
                "LedgerWriterErrorsAlarm",
                self.ledger_writer.function.function.metric_errors(period=Duration.minutes(5), statistic="Sum"),
                "The ledger writer failed (an issuance page or a scheduled anchoring run): see its logs; "
                "issuance retries by the state machine, anchoring on the next schedule (docs/ledger.md)",
            )
            alarms.alarm(
                "AnchorFailuresAlarm",
                alarms.service_metric("LedgerAnchorFailures"),
                "Anchoring after an issuance failed: the records are stored and pending; the anchoring schedule "
                "retries (docs/ledger.md)",
            )
            alarms.alarm(
                "AnchorConflictsAlarm",
                alarms.service_metric("LedgerAnchorConflicts"),
                "A foreign Merkle root is on chain under one of our batch keys: anchoring moved to the next id "
                "(decision 0008); find out who wrote it",
            )


class AppStack(Stack):
    """``AgriMrv-<stage>-app``. Attributes: ``api``, ``domains``; ``data`` and ``pipeline_stack`` are
    the :class:`DataStack` and :class:`PipelineStack` it reads (``layers``, ``pipeline``: theirs)."""

    def __init__(
        self,
        scope: Construct,
        settings: AppSettings,
        data: DataStack,
        pipeline: PipelineStack,
        *,
        domains: tuple[Domain, ...] = API_DOMAINS,
    ) -> None:
        config = settings.stage
        super().__init__(
            scope,
            app_stack_name(config),
            description=f"agri-mrv serverless backend for agricultural carbon MRV: API and its functions "
            f"({config.name})",
        )
        self.data = data
        self.pipeline_stack = pipeline
        self.add_stack_dependency(data, "reads the data stack's tables, buckets, user pool and secrets")
        self.add_stack_dependency(
            pipeline, "uses its layers, starts and answers its state machine, invokes the ledger writer"
        )
        self.layers = pipeline.layers
        self.pipeline = pipeline.pipeline
        self.api = Api(self, "Api", config=config, user_pool=data.identity.user_pool)
        writer = pipeline.ledger_writer
        platform = dataclasses.replace(pipeline.platform, ledger_writer=writer.function.function if writer else None)

        self.domains: dict[str, DomainConstruct] = {}
        for domain in domains:
            routes = load_routes(domain.module)
            construct = construct_for(domain)(self, domain=domain, platform=platform, routes=routes)
            self.api.add_routes(domain.name, routes, construct.handler.function)
            self.domains[domain.name] = construct
        admin = self.domains.get("admin")
        if isinstance(admin, AdminDomain):  # integrator API keys on this API's usage plans
            admin.manage_api_keys(self.api.usage_plans)
        # Notification producers among the API domains: each may only enqueue (docs/decisions/0014).
        if pipeline.notifications is not None:
            for name in NOTIFYING_DOMAINS:
                if name in self.domains:
                    pipeline.notifications.grant_enqueue(self.domains[name].handler.function)

        # The API domains that start the MRV state machine and answer its task tokens.
        if "projects" in self.domains:
            self.pipeline.grant_start(self.domains["projects"].handler)
        if "verification" in self.domains:
            self.pipeline.grant_task_response(self.domains["verification"].handler)

        CfnOutput(self, "ApiUrl", value=self.api.url, description="Base URL of the REST API stage")


def build_stacks(scope: Construct, settings: AppSettings) -> tuple[DataStack, PipelineStack, AppStack]:
    """The app's stacks in deployment order."""
    data = DataStack(scope, settings)
    pipeline = PipelineStack(scope, settings, data)
    return data, pipeline, AppStack(scope, settings, data, pipeline)
