"""The MRV state machine, defined once here; the local twin runs this very definition on moto.

    Plan -> CalculateChunks (Map over chunk indexes, bounded concurrency) -> ChooseFactors
      -> ConservativeChunks (Map over the chunks pass 2 needs: none unless the profile is vm0042_qa3) -> Aggregate -> Verify
      -> Reports (monitoring) -> AwaitAuditor (.waitForTaskToken, heartbeat + timeout)
      -> VerificationReport -> Ledger (stores the approved run in the audit bucket, returns its reference)
      -> IssueCredits (the ledger writer, one page of farmers) -> MoreFarmers? --next_farmer--> NextPage
         -> IssueCredits ... -> RecordApproved -> Approved | LedgerFailed
    AwaitAuditor --Rejected / CorrectionsRequested--> VerificationReportDeclined -> RecordDecision -> Decided
    any task --error after retries--> "<State> failed" (adds the run step to the error) -> RecordFailure -> Failed

States pass S3 keys and counts, never bulk data (Step Functions payloads are limited to 256 KB).
Retries: Lambda service errors (``retry_on_service_exceptions``) and transient AWS errors raised
by our handlers (``ClientError``, connection errors) with exponential backoff; deterministic
errors (bad data, missing project) fail at once into RecordFailure, which leaves the run visibly
failed with the cause. The auditor's heartbeat is sent by the task routes (an auditor opening
the task keeps it alive); a lapse or the task timeout fails the run cleanly the same way.

Functions: one per task (own role, least privilege), same code asset ``functions/pipeline``.
"""

from __future__ import annotations

import dataclasses

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra import nag
from infra.domain_constructs.base import Platform
from infra.domains import Domain
from infra.function import DomainFunction

# Error types (a Lambda's ``errorType``: the exception's class name) every task state retries: AWS
# errors as botocore raises them, and ``DependencyError``, which the shared code raises for AWS
# throttling or unavailability it has to tell apart (a DynamoDB transaction cancelled because it was
# throttled, keys a BatchGetItem kept unprocessed, a failing Step Functions call:
# agri_common.platform.errors.aws_unavailable). Every DependencyError means "busy, not our fault".
TRANSIENT_ERRORS = [
    "ClientError",
    "DependencyError",
    "EndpointConnectionError",
    "ConnectionError",
    "ReadTimeoutError",
    "ConnectTimeoutError",
    "Lambda.Unknown",
]
HEARTBEAT = Duration.days(7)
DECISION_TIMEOUT = Duration.days(30)
MAP_CONCURRENCY = 10
CHUNK_UNITS = "2000"
RUN_FIELDS = ("project_id", "run_id", "attempt", "period", "generation")
APPROVED_PREFIX = "ledger/approved/*"

PIPELINE = Domain("pipeline", "MRV pipeline task", layers=("common",), memory_mb=512, timeout_s=300)
TASKS: dict[str, dict] = {
    "plan": {"description": "MRV pipeline: list the project's farmers and write chunk manifests", "farm": True},
    "calculate": {
        "description": "MRV pipeline: carbon engine over one chunk of plot-seasons",
        "farm": True,
        "layers": ("common", "carbon_engine"),
        "memory_mb": 1769,
        "timeout_s": 900,
    },
    "aggregate": {
        "description": "MRV pipeline: sum chunk draw totals, statistics and deductions",
        "layers": ("common", "carbon_engine"),
        "memory_mb": 1769,
        "timeout_s": 900,
    },
    "basis": {
        "description": "MRV pipeline: VM0042 conservative factors, pass 2 over one chunk",
        "layers": ("common", "carbon_engine"),
        "memory_mb": 1769,
        "timeout_s": 900,
    },
    "sample_draw": {
        "description": "MRV pipeline: cross-checks and the stratified field sample",
        "layers": ("common", "carbon_engine"),
        "memory_mb": 1769,
        "timeout_s": 900,
    },
    "reports": {
        "description": "MRV pipeline: monitoring and verification reports (PDF, Excel) into the audit bucket",
        "layers": ("common", "carbon_engine", "export"),
        "memory_mb": 1769,
        "timeout_s": 600,
        "audit": True,
        "farm": True,
    },  # farm: the plots' stored boundaries for the reports' map
    "await_decision": {"description": "MRV pipeline: store the auditor's verification task with its token"},
    "outcome": {"description": "MRV pipeline: record the run's outcome (approved, rejected, corrections, failed)"},
    "approved_run": {
        "description": "MRV pipeline: store the approved run in the audit bucket for the ledger writer",
        "approved": True,
    },
}


def logical_id(construct: Construct) -> str:
    """The CloudFormation logical id (what cdk-nag's findings name)."""
    from aws_cdk import Stack

    stack = Stack.of(construct)
    return stack.resolve(stack.get_logical_id(construct.node.default_child))


class MrvPipeline(Construct):
    """Attributes: ``functions`` (task name -> DomainFunction), ``state_machine``."""

    def __init__(
        self, scope: Construct, construct_id: str, *, platform: Platform, ledger_writer: lambda_.IFunction | None
    ) -> None:
        super().__init__(scope, construct_id)
        storage = platform.storage
        self.functions: dict[str, DomainFunction] = {}
        for name, spec in TASKS.items():
            domain = dataclasses.replace(
                PIPELINE,
                entry=name,
                description=spec["description"],
                layers=spec.get("layers", PIPELINE.layers),
                memory_mb=spec.get("memory_mb", PIPELINE.memory_mb),
                timeout_s=spec.get("timeout_s", PIPELINE.timeout_s),
            )
            fn = DomainFunction(
                self,
                "".join(p.title() for p in name.split("_")) + "Fn",
                domain=domain,
                config=platform.config,
                layers=platform.layers.for_domain(domain),
                environment=platform.base_environment(),
            )
            fn.add_environment(
                PIPELINE_TABLE=storage.pipeline.table_name,
                PIPELINE_BUCKET=storage.pipeline_data.bucket_name,
                CHUNK_UNITS=CHUNK_UNITS,
            )
            fn.add_environment(ACTIVITY_TABLE=storage.activity.table_name)  # one event per step (@task)
            storage.grant_activity_append(fn.role)
            storage.grant_pipeline_read(fn.role)
            storage.grant_pipeline_write(fn.role)
            storage.pipeline_data.grant_read_write(fn.role)
            if spec.get("farm"):
                fn.add_environment(FARM_TABLE=storage.farm.table_name)
                storage.grant_farm_read(fn.role)
            if spec.get("audit"):
                fn.add_environment(AUDIT_BUCKET=storage.audit.bucket_name)
                fn.role.add_to_principal_policy(
                    iam.PolicyStatement(
                        actions=["s3:PutObject", "s3:GetObject"], resources=[storage.audit.arn_for_objects("reports/*")]
                    )
                )
            if spec.get("approved"):  # the approved run, read by the writer (which reads ledger/* only)
                fn.add_environment(AUDIT_BUCKET=storage.audit.bucket_name)
                fn.role.add_to_principal_policy(
                    iam.PolicyStatement(
                        actions=["s3:PutObject"], resources=[storage.audit.arn_for_objects(APPROVED_PREFIX)]
                    )
                )
            self._acknowledge_bucket_grants(fn.role, storage)
            self.functions[name] = fn
        self.state_machine = self._state_machine(platform, ledger_writer)

    def _acknowledge_bucket_grants(self, role: iam.IRole, storage) -> None:
        pipeline, audit = nag.arn(self, storage.pipeline_data), nag.arn(self, storage.audit)
        for pattern in (
            "Action::s3:GetObject*",
            "Action::s3:GetBucket*",
            "Action::s3:List*",
            "Action::s3:DeleteObject*",
            "Action::s3:Abort*",
            f"Resource::{pipeline}/*",
            f"Resource::{audit}/reports/*",
            f"Resource::{audit}/{APPROVED_PREFIX}",
        ):
            Validations.of(role).acknowledge(
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[{pattern}]",
                    reason="The pipeline's working objects (and its reports under reports/, approved runs under "
                    "ledger/approved/ of the audit bucket) are keyed per run and chunk; the grant is scoped to "
                    "that one bucket (prefix).",
                )
            )

    # ---- the definition ---------------------------------------------------------------------
    def _invoke(
        self,
        name: str,
        state: str,
        *,
        result_path: str | None,
        selector: dict | None = None,
        payload: sfn.TaskInput | None = None,
        fn: lambda_.IFunction | None = None,
        patient: list[str] | None = None,
    ) -> tasks.LambdaInvoke:
        """A Lambda task that retries ``TRANSIENT_ERRORS``; ``patient``: error types retried longer, by a
        retrier listed first (Step Functions uses the first retrier whose errors match)."""
        task = tasks.LambdaInvoke(
            self,
            state,
            lambda_function=fn or self.functions[name].function,
            payload=payload,
            retry_on_service_exceptions=True,
            result_selector=selector,
            result_path=result_path,
        )
        if patient:
            task.add_retry(errors=patient, interval=Duration.seconds(5), max_attempts=6, backoff_rate=2.0)
        task.add_retry(errors=TRANSIENT_ERRORS, interval=Duration.seconds(2), max_attempts=3, backoff_rate=2.0)
        return task

    def _state_machine(self, platform: Platform, ledger_writer: lambda_.IFunction | None) -> sfn.StateMachine:
        run_fields = {f"{k}.$": f"$.{k}" for k in RUN_FIELDS}
        failed = sfn.Fail(self, "Failed", error="RunFailed", cause="A step failed; the run records the cause")
        record_failure = self._invoke(
            "outcome", "RecordFailure", result_path="$.outcome", selector={"status.$": "$.Payload.status"}
        ).next(failed)

        def guarded(task: sfn.TaskStateBase, step: str) -> sfn.TaskStateBase:
            """Any error after the retries -> "<state> failed" (adds the run step to the error:
            ``$.error.step``) -> RecordFailure. The name travels with the error, so the run names
            the step even when its task never wrote a step record (it timed out, could not read
            its payload, crashed first)."""
            name = sfn.Pass(
                self, f"{task.node.id} failed", result=sfn.Result.from_string(step), result_path="$.error.step"
            )
            task.add_catch(name.next(record_failure), errors=["States.ALL"], result_path="$.error")
            return task

        plan = guarded(
            self._invoke(
                "plan",
                "Plan",
                result_path="$.plan",
                selector={"chunks.$": "$.Payload.chunks", "chunk_count.$": "$.Payload.chunk_count"},
            ),
            "plan",
        )

        def chunk_map(map_id: str, items_path: str, domain: str, task_id: str, step: str) -> sfn.Map:
            """One task per chunk index (at most MAP_CONCURRENCY at once), its results discarded."""
            each = sfn.Map(
                self,
                map_id,
                items_path=items_path,
                max_concurrency=MAP_CONCURRENCY,
                item_selector={**run_fields, "index.$": "$$.Map.Item.Value"},
                result_path=sfn.JsonPath.DISCARD,
            )
            each.item_processor(
                self._invoke(
                    domain,
                    task_id,
                    result_path=None,
                    selector={"index.$": "$.Payload.index", "reused.$": "$.Payload.reused"},
                )
            )
            guarded(each, step)
            return each

        chunks = chunk_map("CalculateChunks", "$.plan.chunks", "calculate", "CalculateChunk", "calculate")
        # VM0042 conservative factors (carbon_engine/chunks.py): the aggregate function chooses once over the
        # chunks' pass-1 sensitivities; pass 2 re-evaluates each chunk at the choice. Other profiles: no items.
        choose = guarded(
            self._invoke(
                "aggregate",
                "ChooseFactors",
                result_path="$.conservative",
                payload=sfn.TaskInput.from_object({**run_fields, "plan.$": "$.plan", "phase": "choose"}),
                selector={"chunks.$": "$.Payload.chunks"},
            ),
            "conservative_choice",
        )
        conservative = chunk_map(
            "ConservativeChunks", "$.conservative.chunks", "basis", "ConservativeChunk", "conservative_basis"
        )
        aggregate = guarded(
            self._invoke(
                "aggregate",
                "Aggregate",
                result_path="$.aggregate",
                selector={"summary_key.$": "$.Payload.summary_key", "plots.$": "$.Payload.plots"},
            ),
            "aggregate",
        )
        verify = guarded(
            self._invoke(
                "sample_draw",
                "Verify",
                result_path="$.verify",
                selector={
                    "findings_key.$": "$.Payload.findings_key",
                    "sample_key.$": "$.Payload.sample_key",
                    "counts.$": "$.Payload.counts",
                },
            ),
            "verify",
        )
        reports = guarded(
            self._invoke(
                "reports", "Reports", result_path="$.reports", selector={"report_ids.$": "$.Payload.report_ids"}
            ),
            "reports",
        )
        wait = tasks.LambdaInvoke(
            self,
            "AwaitAuditor",
            lambda_function=self.functions["await_decision"].function,
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object(
                {**run_fields, "task_token": sfn.JsonPath.task_token, "verify.$": "$.verify", "reports.$": "$.reports"}
            ),
            heartbeat_timeout=sfn.Timeout.duration(HEARTBEAT),
            task_timeout=sfn.Timeout.duration(DECISION_TIMEOUT),
            retry_on_service_exceptions=True,
            result_path="$.decision",
        )
        wait.add_retry(errors=TRANSIENT_ERRORS, interval=Duration.seconds(2), max_attempts=3, backoff_rate=2.0)
        record_decision = self._invoke(
            "outcome", "RecordDecision", result_path="$.outcome", selector={"status.$": "$.Payload.status"}
        ).next(sfn.Succeed(self, "Decided"))
        decided = {**{f"{k}.$": f"$.{k}" for k in (*RUN_FIELDS, "plan")}, "phase": "decided"}
        report_declined = guarded(
            self._invoke(
                "reports",
                "VerificationReportDeclined",
                result_path=sfn.JsonPath.DISCARD,
                payload=sfn.TaskInput.from_object(decided),
                selector={"report_ids.$": "$.Payload.report_ids"},
            ),
            "verification_report",
        )
        report_declined.next(record_decision)
        wait.add_catch(report_declined, errors=["Rejected", "CorrectionsRequested"], result_path="$.error")
        guarded(wait, "await_decision")
        report_approved = guarded(
            self._invoke(
                "reports",
                "VerificationReport",
                result_path=sfn.JsonPath.DISCARD,
                payload=sfn.TaskInput.from_object(decided),
                selector={"report_ids.$": "$.Payload.report_ids"},
            ),
            "verification_report",
        )
        record_approved = guarded(
            self._invoke(
                "outcome", "RecordApproved", result_path="$.outcome", selector={"status.$": "$.Payload.status"}
            ),
            "outcome",
        )
        done = (
            sfn.Choice(self, "LedgerWritten?")
            .when(sfn.Condition.string_equals("$.outcome.status", "approved"), sfn.Succeed(self, "Approved"))
            .otherwise(
                sfn.Fail(
                    self, "LedgerFailed", error="LedgerRefused", cause="The ledger writer refused the approved run"
                )
            )
        )
        chain = (
            plan.next(chunks)
            .next(choose)
            .next(conservative)
            .next(aggregate)
            .next(verify)
            .next(reports)
            .next(wait)
            .next(report_approved)
        )
        record_approved.next(done)
        chain.next(self._issuance(ledger_writer, guarded, then=record_approved) if ledger_writer else record_approved)

        log_group = logs.LogGroup(
            self,
            "StateMachineLogs",
            retention=platform.config.log_retention,
            removal_policy=platform.config.cdk_removal_policy,
        )
        machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(plan),
            comment="agri-mrv monitoring run: calculate, verify, auditor decision, ledger",
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
        Validations.of(machine.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="Step Functions log delivery (logs:CreateLogDelivery etc.) and X-Ray support no resource-level "
                "permissions; every Lambda invoke of this role names its function.",
            )
        )
        for fn in [f.function for f in self.functions.values()] + ([ledger_writer] if ledger_writer else []):
            lid = logical_id(fn)
            Validations.of(machine.role).acknowledge(
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::<{lid}.Arn>:*]",
                    reason="lambda:InvokeFunction on the function's versions/aliases, added by CDK's LambdaInvoke",
                )
            )
        return machine

    def _issuance(self, writer: lambda_.IFunction, guarded, *, then: sfn.IChainable) -> sfn.IChainable:
        """Ledger -> IssueCredits -> MoreFarmers? -> NextPage -> IssueCredits ... : the writer takes
        the approved run by reference, one page of farmers per call; its answer's ``next_farmer``
        (a number while farmers remain, null after the last page or on a refusal) drives the loop.
        Each page is idempotent (record ids derive from the farmer's index), so a retried or
        restarted page writes nothing twice; only the last page anchors."""
        prepare = guarded(
            self._invoke(
                "approved_run",
                "Ledger",
                result_path="$.ledger",
                selector={
                    "run_ref.$": "$.Payload.run_ref",
                    "from_farmer.$": "$.Payload.from_farmer",
                    "farmers.$": "$.Payload.farmers",
                },
            ),
            "ledger",
        )
        issue = guarded(
            self._invoke(
                "ledger_writer",
                "IssueCredits",
                fn=writer,
                result_path="$.issued",
                payload=(
                    sfn.TaskInput.from_object(
                        {"command": "issue", "run_ref.$": "$.ledger.run_ref", "from_farmer.$": "$.ledger.from_farmer"}
                    )
                ),
                selector={"ok.$": "$.Payload.ok", "next_farmer.$": "$.Payload.next_farmer", "body.$": "$.Payload"},
                # the writer raises its transient (5xx) errors for a page: retry them longer than a plain task
                patient=["DependencyError"],
            ),
            "ledger",
        )
        next_page = sfn.Pass(
            self,
            "NextPage",
            result_path="$.ledger",
            parameters={
                "run_ref.$": "$.ledger.run_ref",
                "from_farmer.$": "$.issued.next_farmer",
                "farmers.$": "$.ledger.farmers",
            },
        )
        more = sfn.Choice(self, "MoreFarmers?").when(sfn.Condition.is_numeric("$.issued.next_farmer"), next_page)
        more.otherwise(then)
        prepare.next(issue).next(more)
        next_page.next(issue)
        return prepare

    # ---- grants for the API domains ----------------------------------------------------------
    def grant_start(self, fn: DomainFunction) -> None:
        """Start and describe executions (the projects routes)."""
        fn.add_environment(STATE_MACHINE_ARN=self.state_machine.state_machine_arn)
        self.state_machine.grant_start_execution(fn.role)
        Validations.of(fn.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::arn:aws:states:<AWS::Region>:<AWS::AccountId>:execution:"
                f"{nag.arn(fn, self.state_machine, 'Name')}:*]",
                reason="DescribeExecution of this state machine's executions (their names are per run attempt)",
            )
        )
        fn.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["states:DescribeExecution"],
                resources=[
                    f"arn:aws:states:{self.state_machine.env.region}:{self.state_machine.env.account}:execution:"
                    f"{self.state_machine.state_machine_name}:*"
                ],
            )
        )

    def grant_task_response(self, fn: DomainFunction) -> None:
        """SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat (the auditor's decision routes)."""
        fn.add_environment(STATE_MACHINE_ARN=self.state_machine.state_machine_arn)
        self.state_machine.grant_task_response(fn.role)
