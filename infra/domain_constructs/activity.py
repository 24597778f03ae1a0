"""functions/activity: three functions around the activity table (docs/decisions/0013-activity-log.md).

- The **API** (``GET /activity``): Query on the activity table's indexes (never Scan); the pipeline
  table read-only for an auditor's project assignments.
- The **sweeper** (every 5 minutes): Query of the due intents, BatchGetItem of their events, and the
  conditional PutItem of each missing one.
- The **export** (daily, 00:30 UTC): Query of yesterday's events, one JSON-lines object under
  ``activity/`` of the audit bucket (Object Lock).

No function anywhere may UpdateItem or DeleteItem the activity table (tests/infra/test_activity.py).
"""

from __future__ import annotations

import dataclasses

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra import nag
from infra.domain_constructs.base import DomainConstruct, Platform
from infra.domains import Domain
from infra.function import DomainFunction

EXPORT_PREFIX = "activity/*"
SWEEP_MINUTES = 5


class ActivityDomain(DomainConstruct):
    def grant(self, platform: Platform) -> None:
        storage = platform.storage
        self.handler.add_environment(
            ACTIVITY_TABLE=storage.activity.table_name, PIPELINE_TABLE=storage.pipeline.table_name
        )
        storage.grant_activity_read(self.handler.role)
        storage.grant_pipeline_read(self.handler.role)  # an auditor's assignments
        # The sweeper and the export (ActivityJobs) are scheduled jobs: the pipeline stack holds them.


class ActivityJobs(Construct):
    """The activity log's scheduled jobs (in the pipeline stack with the other scheduled jobs, infra/app_stack.py).
    Attributes: ``sweeper``, ``export`` (DomainFunctions)."""

    def __init__(self, scope: Construct, construct_id: str, *, domain: Domain, platform: Platform) -> None:
        super().__init__(scope, construct_id)
        self.domain = domain
        storage = platform.storage
        self.sweeper = self._job(
            platform, "Sweeper", "sweeper_handler", "Activity log: append the events of dead intents"
        )
        storage.grant_activity_read(self.sweeper.role)
        storage.grant_activity_append(self.sweeper.role)
        events.Rule(
            self,
            "SweepSchedule",
            description="Activity log: append the event of every request or step that died before writing it",
            schedule=events.Schedule.rate(Duration.minutes(SWEEP_MINUTES)),
            targets=[targets.LambdaFunction(self.sweeper.function, event=events.RuleTargetInput.from_object({}))],
        )

        self.export = self._job(
            platform, "Export", "export_handler", "Activity log: yesterday's events into the audit bucket"
        )
        self.export.add_environment(AUDIT_BUCKET=storage.audit.bucket_name)
        storage.grant_activity_read(self.export.role)
        self.export.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[storage.audit.arn_for_objects(EXPORT_PREFIX)])
        )
        Validations.of(self.export.role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag.arn(self, storage.audit)}/{EXPORT_PREFIX}]",
                reason="One JSON-lines object per day under activity/ of the audit bucket; PutObject only.",
            )
        )
        events.Rule(
            self,
            "ExportSchedule",
            description="Activity log: export yesterday's events (UTC) as JSON lines under Object Lock",
            schedule=events.Schedule.cron(minute="30", hour="0"),
            targets=[targets.LambdaFunction(self.export.function, event=events.RuleTargetInput.from_object({}))],
        )

    def _job(self, platform: Platform, construct_id: str, entry: str, description: str) -> DomainFunction:
        domain = dataclasses.replace(self.domain, entry=entry, timeout_s=300, description=description)
        fn = DomainFunction(
            self,
            construct_id,
            domain=domain,
            config=platform.config,
            layers=platform.layers.for_domain(domain),
            environment=platform.base_environment(),
        )
        fn.add_environment(ACTIVITY_TABLE=platform.storage.activity.table_name)
        return fn
