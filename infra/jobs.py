"""Scheduled jobs: EventBridge rules, each invoking one small function (pipeline stack; docs/scheduled-jobs.md).

| rule (construct id)        | schedule                 | function                                | what |
| -------------------------- | ------------------------ | --------------------------------------- | ---- |
| ``Ledger/AnchorSchedule``  | rate(15 minutes)         | the ledger writer, ``{"command": "anchor"}`` | anchors pending ledger records (infra/domain_constructs/ledger.py) |
| ``Jobs/SweepRunsSchedule`` | rate(15 minutes)         | ``functions/pipeline/sweep.py``         | fails stuck monitoring runs with their cause |
| ``Jobs/ExportLedgerSchedule`` | cron(30 0 * * ? *)    | ``functions/ledger/export_job.py``      | the previous UTC day's ledger as JSON lines in the audit bucket |
| ``Jobs/SweepErasuresSchedule`` | rate(15 minutes)     | ``functions/farmers/erasure_sweep_job.py`` | deletes evidence posted after a farmer's erasure with a URL issued before it (decision 0022) |

Each function has its own role (least privilege), log group and X-Ray tracing
(:class:`~infra.function.DomainFunction`); EventBridge sends it the scheduled event (no fixed input).
The export's conflict metric has an alarm. The local twin runs every rule of the template that has a
``ScheduleExpression`` (infra/local/jobs.py), these and any other.
"""

from __future__ import annotations

import dataclasses

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import nag
from infra.domain_constructs.base import METRICS_NAMESPACE, SERVICE_NAME, Platform
from infra.domains import Domain
from infra.function import DomainFunction
from infra.pipeline import PIPELINE

PIPELINE_JOBS = ("sweep",)  # jobs whose code is functions/pipeline/<entry>.py (label pipeline-<entry>)
SWEEP_MINUTES = 15
SWEEP_STALL_HOURS = "6"
EXPORT_AT = {"minute": "30", "hour": "0"}  # cron(30 0 * * ? *): 00:30 UTC, the previous UTC day is over
EXPORT_PREFIX = "ledger/exports/*"
EXPORT_CONFLICT_METRIC = "LedgerExportConflict"  # functions/ledger/export_job.py
ERASURE_SWEEP_MINUTES = 15
EVIDENCE_PREFIX = "evidence/"  # the uploads bucket's evidence objects (infra/domain_constructs/farmers.py)


class ScheduledJobs(Construct):
    """Attributes: ``sweeper``, ``exporter`` and ``erasure_sweeper`` (DomainFunctions; the last None without
    the farmers domain), ``rules`` (name -> Rule), ``conflict_alarm``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        platform: Platform,
        state_machine: sfn.StateMachine,
        ledger: Domain,
        farmers: Domain | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        storage = platform.storage
        self.rules: dict[str, events.Rule] = {}

        # ---- the stuck-run sweeper (the pipeline's code asset) --------------------------------
        self.sweeper = DomainFunction(
            self,
            "SweepRuns",
            domain=dataclasses.replace(
                PIPELINE,
                entry=PIPELINE_JOBS[0],
                description="Scheduled: fail monitoring runs stuck past their deadline, with the cause",
                timeout_s=300,
            ),
            config=platform.config,
            layers=platform.layers.for_domain(PIPELINE),
            environment=platform.base_environment(),
        )
        self.sweeper.add_environment(
            PIPELINE_TABLE=storage.pipeline.table_name,
            PIPELINE_BUCKET=storage.pipeline_data.bucket_name,  # the pipeline context's setting; not read
            SWEEP_STALL_HOURS=SWEEP_STALL_HOURS,
            ACTIVITY_TABLE=storage.activity.table_name,  # one event per run it fails (pipeline.sweep)
        )
        storage.grant_pipeline_read(self.sweeper.role)
        storage.grant_pipeline_write(self.sweeper.role)
        storage.grant_activity_append(self.sweeper.role)
        executions = (
            f"arn:aws:states:{state_machine.env.region}:{state_machine.env.account}:execution:"
            f"{state_machine.state_machine_name}:*"
        )
        self.sweeper.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["states:DescribeExecution", "states:StopExecution"], resources=[executions])
        )
        Validations.of(self.sweeper.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::arn:aws:states:<AWS::Region>:<AWS::AccountId>:execution:"
                f"{nag.arn(self, state_machine, 'Name')}:*]",
                reason="Describe and stop executions of this one state machine (their names are per run attempt)",
            )
        )
        self.rules["sweep_runs"] = events.Rule(
            self,
            "SweepRunsSchedule",
            description="Fail monitoring runs stuck past their deadline (functions/pipeline/sweep.py)",
            schedule=events.Schedule.rate(Duration.minutes(SWEEP_MINUTES)),
            targets=[targets.LambdaFunction(self.sweeper.function)],
        )

        # ---- the daily ledger export (the ledger's code asset) --------------------------------
        self.exporter = DomainFunction(
            self,
            "ExportLedger",
            domain=dataclasses.replace(
                ledger,
                entry="export_job",
                description="Scheduled: the previous day's ledger records and anchors as JSON lines (audit bucket)",
                layers=("common",),
                memory_mb=512,
                timeout_s=300,
            ),
            config=platform.config,
            layers=platform.layers.for_domain(dataclasses.replace(ledger, layers=("common",))),
            environment=platform.base_environment(),
        )
        self.exporter.add_environment(LEDGER_TABLE=storage.ledger.table_name, AUDIT_BUCKET=storage.audit.bucket_name)
        storage.grant_ledger_read(self.exporter.role)
        self.exporter.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject"], resources=[storage.audit.arn_for_objects(EXPORT_PREFIX)]
            )
        )
        # Without ListBucket, S3 answers GetObject of a missing key with 403 AccessDenied instead of 404
        # NoSuchKey: the job could not tell "not exported yet" from a refusal. Only under its prefix.
        self.exporter.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[storage.audit.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [EXPORT_PREFIX]}},
            )
        )
        for store, suffix, reason in (
            (storage.audit, EXPORT_PREFIX, "Daily exports are objects under ledger/exports/ of the audit bucket"),
            (storage.ledger, "index/*", "Query on the ledger table's own indexes (the chain by seq); never Scan"),
        ):
            Validations.of(self.exporter.role).acknowledge(
                Acknowledgment(id=f"AwsSolutions-IAM5[Resource::{nag.arn(self, store)}/{suffix}]", reason=reason)
            )
        self.rules["export_ledger"] = events.Rule(
            self,
            "ExportLedgerSchedule",
            description="Export the previous UTC day's ledger records and anchors (functions/ledger/export_job.py)",
            schedule=events.Schedule.cron(**EXPORT_AT),
            targets=[targets.LambdaFunction(self.exporter.function)],
        )
        self.conflict_alarm = cloudwatch.Alarm(
            self,
            "ExportConflictAlarm",
            alarm_description="A daily ledger export differed from the one already stored for that day "
            "(never overwritten): find out why the ledger's past changed (logs of the export function)",
            metric=cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=EXPORT_CONFLICT_METRIC,
                dimensions_map={"service": SERVICE_NAME, "job": "export_ledger"},
                statistic="Sum",
                period=Duration.hours(1),
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.erasure_sweeper = self._erasure_sweeper(platform, farmers) if farmers is not None else None

    def _erasure_sweeper(self, platform: Platform, farmers: Domain) -> DomainFunction:
        """The late-upload sweep of erasures (the farmers' code asset, decision 0022): the evidence eraser's
        reads and writes of the farm table (its one index by name, never Scan) and the uploads bucket's
        evidence versions (list under ``evidence/``, delete), nothing else."""
        storage = platform.storage
        domain = dataclasses.replace(
            farmers,
            entry="erasure_sweep_job",
            description="Scheduled: delete evidence posted after a farmer's erasure with an upload URL issued before it",
            layers=("common",),
            memory_mb=256,
            timeout_s=300,
        )
        fn = DomainFunction(
            self,
            "SweepErasures",
            domain=domain,
            config=platform.config,
            layers=platform.layers.for_domain(domain),
            environment=platform.base_environment(),
        )
        fn.add_environment(FARM_TABLE=storage.farm.table_name, UPLOADS_BUCKET=storage.uploads.bucket_name)
        storage.grant_farm(fn.role, "dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
        fn.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucketVersions"],
                resources=[storage.uploads.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{EVIDENCE_PREFIX}*"]}},
            )
        )
        fn.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:DeleteObject", "s3:DeleteObjectVersion"],
                resources=[storage.uploads.arn_for_objects(f"{EVIDENCE_PREFIX}*")],
            )
        )
        Validations.of(fn.role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag.arn(self, storage.uploads)}/{EVIDENCE_PREFIX}*]",
                reason="Evidence objects get generated keys per upload (evidence/<fpo>/<plot>/<upload>.<ext>): the "
                "sweep deletes the versions under an erased farmer's plots, nothing else of the bucket",
            )
        )
        self.rules["sweep_erasures"] = events.Rule(
            self,
            "SweepErasuresSchedule",
            description="Delete evidence posted after a farmer's erasure (functions/farmers/erasure_sweep_job.py)",
            schedule=events.Schedule.rate(Duration.minutes(ERASURE_SWEEP_MINUTES)),
            targets=[targets.LambdaFunction(fn.function)],
        )
        return fn
