"""The operations alarms: one encrypted, TLS-only SNS topic that emails the stage's operators, and the
alarms that must wake someone (docs/decisions/0020, docs/operations.md).

| alarm (construct id)                  | metric                                                    | fires when |
| ------------------------------------- | --------------------------------------------------------- | ---------- |
| ``Operations/NotificationDeadLettersAlarm`` | SQS ``ApproximateNumberOfMessagesVisible`` of the notification DLQ (max, 5 min) | a notification failed 5 deliveries |
| ``Jobs/ExportConflictAlarm``          | ``AgriMrv/LedgerExportConflict`` (infra/jobs.py)          | a daily ledger export differed from the stored one |
| ``Operations/ExecutionsFailedAlarm``  | Step Functions ``ExecutionsFailed`` of the MRV state machine (sum, 5 min) | a monitoring run's execution failed |
| ``Operations/ExecutionsTimedOutAlarm`` | Step Functions ``ExecutionsTimedOut`` (sum, 5 min)       | an execution timed out (e.g. an auditor's heartbeat lapsed) |
| ``Operations/LedgerWriterErrorsAlarm`` | Lambda ``Errors`` of the ledger writer (sum, 5 min)      | an issuance or a scheduled anchoring run failed |
| ``Operations/AnchorFailuresAlarm``    | ``AgriMrv/LedgerAnchorFailures`` (sum, 5 min)             | anchoring after an issuance failed (records stored, pending) |
| ``Operations/AnchorConflictsAlarm``   | ``AgriMrv/LedgerAnchorConflicts`` (sum, 5 min)            | a foreign root was found on chain under our batch's key |

Each alarm notifies the topic when it goes into ALARM and again when it returns to OK; missing data is
"not breaching" (no traffic is no failure). The topic is encrypted with its own customer-managed KMS key
(CloudWatch cannot publish to a topic under the AWS-managed SNS key), whose policy lets CloudWatch use
it (the key is in the data stack, :func:`alarms_topic_key`); the topic's policy refuses non-TLS publishes and lets CloudWatch publish only for alarms of this
account. Subscribers are ``alarm_emails`` of the stage (cdk.json): each confirms once by email. The
local twin creates none of this (it sends no email); the alarms are asserted on the template.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.config import StageConfig
from infra.domain_constructs.base import METRICS_NAMESPACE, SERVICE_NAME

PERIOD = Duration.minutes(5)
CLOUDWATCH = "cloudwatch.amazonaws.com"


def alarms_topic_key(scope: Construct, construct_id: str, *, config: StageConfig) -> kms.Key:
    """The topic's customer-managed key (data stack: a key is kept like data, tests/infra/test_stacks.py).

    CloudWatch encrypts what it publishes to the topic with it (the AWS-managed SNS key cannot be shared
    with a service), so its policy lets the CloudWatch service use it, nothing else."""
    key = kms.Key(
        scope,
        construct_id,
        description=f"agri-mrv operations alarms topic ({config.name})",
        enable_key_rotation=True,
        removal_policy=RemovalPolicy.DESTROY if config.is_ephemeral else RemovalPolicy.RETAIN,
        pending_window=Duration.days(7 if config.is_ephemeral else 30),
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="CloudWatchAlarmsPublish",
            principals=[iam.ServicePrincipal(CLOUDWATCH)],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            resources=["*"],  # in a key policy, "*" is this key
        )
    )
    return key


class OperationsAlarms(Construct):
    """Attributes: ``key``, ``topic``, ``alarms`` (construct id -> Alarm, every alarm that notifies the topic)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self.key = key
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name=f"agri-mrv {config.name} alarms",
            master_key=self.key,
            enforce_ssl=True,
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisAccount",
                principals=[iam.ServicePrincipal(CLOUDWATCH)],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "ArnLike": {"aws:SourceArn": stack.format_arn(service="cloudwatch", resource="alarm:*")},
                    "StringEquals": {"aws:SourceAccount": stack.account},
                },
            )
        )
        for address in config.alarm_emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(address))

    def notify(self, construct_id: str, alarm: cloudwatch.Alarm) -> cloudwatch.Alarm:
        """Make ``alarm`` notify the topic on ALARM and on OK."""
        action = actions.SnsAction(self.topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        self.alarms[construct_id] = alarm
        return alarm

    def alarm(self, construct_id: str, metric: cloudwatch.IMetric, description: str) -> cloudwatch.Alarm:
        """An alarm in this construct: at least one in a 5-minute period, missing data not breaching."""
        return self.notify(
            construct_id,
            cloudwatch.Alarm(
                self,
                construct_id,
                alarm_description=description,
                metric=metric,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
        )

    def service_metric(self, name: str) -> cloudwatch.Metric:
        """A metric the functions emit (Powertools: namespace AgriMrv, dimension service=agri-mrv)."""
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=name,
            dimensions_map={"service": SERVICE_NAME},
            statistic="Sum",
            period=PERIOD,
        )
