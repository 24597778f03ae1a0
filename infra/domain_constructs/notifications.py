"""functions/notifications: the in-app routes (``handler``) and, in :class:`NotificationDelivery`,
everything that delivers (docs/decisions/0014):

- the **queue** (SQS, SSE-SQS encrypted, TLS only) producers enqueue events on, and its
  **dead-letter queue** (a message whose delivery failed :data:`MAX_RECEIVES` times: 14 days kept);
- the **delivery function** (``delivery_handler``, Metadata ``agri:domain = notifications-delivery``)
  reading the queue (event source mapping, partial batch failures): the only role that may send SMS
  (``sns:Publish``: phone numbers have no ARN, so Resource ``*`` with an explicit Deny on every
  topic, i.e. texts only; ``SMS_SENDER_ID`` and the stage's DLT ids of its texts, infra/messaging.py)
  and email (``ses:SendEmail``/``SendRawEmail`` on the one sender identity, which this construct creates
  as an SES email identity, From address pinned by condition; none when the stage has no sender);
- the **auditor reminder** (``reminder_handler``), run hourly by an EventBridge rule: it reads the
  pipeline table and may only enqueue.

Producers get only ``sqs:SendMessage`` on the queue and its URL (:meth:`NotificationDelivery.grant_enqueue`).
The construct is self-contained: the pipeline stack holds it, so producers in both stateless stacks reach
the queue (infra/app_stack.py).
"""

from __future__ import annotations

import dataclasses

from aws_cdk import Acknowledgment, CfnOutput, Duration, Stack, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.domain_constructs.base import DomainConstruct, Platform
from infra.domains import Domain
from infra.function import DomainFunction
from infra.messaging import notification_sms_templates, sms_environment

DELIVERY_TIMEOUT_S = 60
MAX_RECEIVES = 5  # then the dead-letter queue; redelivery after the visibility timeout is the retry
BATCH_SIZE = 10
REMINDER_SCHEDULE = Duration.hours(1)
# the caller's own partition: read, save preferences, mark read (no Delete, no Scan)
ROUTE_ACTIONS = ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem")
DELIVERY_ACTIONS = ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem")
COGNITO_READ = ("cognito-idp:ListUsers", "cognito-idp:ListUsersInGroup")


class NotificationsDomain(DomainConstruct):
    def grant(self, platform: Platform) -> None:
        storage = platform.storage
        self.handler.add_environment(FARM_TABLE=storage.farm.table_name)
        storage.grant_farm(self.handler.role, *ROUTE_ACTIONS)
        # The delivery side (NotificationDelivery) lives in the pipeline stack (infra/app_stack.py).


class NotificationDelivery(Construct):
    """Attributes: ``queue``, ``dead_letters``, ``function`` (delivery), ``reminder``, ``email_identity``
    (the SES identity of the stage's sender, None without one)."""

    def __init__(self, scope: Construct, construct_id: str, *, domain: Domain, platform: Platform) -> None:
        super().__init__(scope, construct_id)
        storage, config = platform.storage, platform.config
        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(DELIVERY_TIMEOUT_S * 6),  # AWS's advice for an event source
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letters, max_receive_count=MAX_RECEIVES),
        )

        delivery = dataclasses.replace(
            domain,
            entry="delivery_handler",
            timeout_s=DELIVERY_TIMEOUT_S,
            description="Notifications: deliver queued events (in-app item, SMS, email) by each recipient's preferences",
        )
        self.function = DomainFunction(
            self,
            "DeliveryFn",
            domain=delivery,
            config=config,
            layers=platform.layers.for_domain(delivery),
            environment=platform.base_environment(),
        )
        fn = self.function
        fn.add_environment(
            FARM_TABLE=storage.farm.table_name,
            PIPELINE_TABLE=storage.pipeline.table_name,
            USER_POOL_ID=platform.identity.user_pool.user_pool_id,
        )
        storage.grant_farm(fn.role, *DELIVERY_ACTIONS)  # its own items: a Put if absent, channel updates
        storage.grant_pipeline_read(fn.role)
        platform.identity.user_pool.grant(fn.role, *COGNITO_READ)
        fn.function.add_event_source(
            sources.SqsEventSource(self.queue, batch_size=BATCH_SIZE, report_batch_item_failures=True)
        )
        # SMS: a publish to a phone number has no resource ARN; deny every topic so only texts remain.
        # (own Sids: CDK would merge the Allow into the X-Ray statement, which is Resource '*' too)
        fn.role.add_to_principal_policy(
            iam.PolicyStatement(sid="SmsToPhoneNumbers", actions=["sns:Publish"], resources=["*"])
        )
        fn.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="NoTopics",
                effect=iam.Effect.DENY,
                actions=["sns:Publish"],
                resources=[Stack.of(self).format_arn(service="sns", resource="*")],
            )
        )
        Validations.of(fn.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="Active X-Ray tracing, and SMS: sns:Publish to a phone number has no resource ARN, so it "
                "needs Resource '*'; a Deny on every topic of the account and region leaves only direct texts.",
            )
        )
        fn.add_environment(**sms_environment(config, notification_sms_templates()))
        self.email_identity: ses.EmailIdentity | None = None
        sender = config.notification_email_sender
        if sender:
            # The identity SES sends from: the address, or its domain (Easy DKIM). Verification (a click, or
            # the DKIM CNAMEs) and leaving the SES sandbox are the operator's (docs/operations.md).
            identity_name = sender if config.notification_email_identity == "address" else sender.split("@", 1)[1]
            self.email_identity = ses.EmailIdentity(
                self,
                "EmailSender",
                identity=ses.Identity.email(identity_name)
                if config.notification_email_identity == "address"
                else ses.Identity.domain(identity_name),
            )
            if config.notification_email_identity == "domain":  # what the operator publishes in DNS
                for i, record in enumerate(self.email_identity.dkim_records, start=1):
                    CfnOutput(self, f"EmailDkim{i}", value=f"{record.name} CNAME {record.value}")
            fn.add_environment(EMAIL_SENDER=sender)
            fn.role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["ses:SendEmail", "ses:SendRawEmail"],
                    resources=[
                        Stack.of(self).format_arn(service="ses", resource="identity", resource_name=identity_name)
                    ],
                    conditions={"StringEquals": {"ses:FromAddress": sender}},
                )
            )

        reminder = dataclasses.replace(
            domain,
            entry="reminder_handler",
            timeout_s=60,
            description="Notifications: hourly reminder of verification tasks whose heartbeat lapses soon",
        )
        self.reminder = DomainFunction(
            self,
            "ReminderFn",
            domain=reminder,
            config=config,
            layers=platform.layers.for_domain(reminder),
            environment=platform.base_environment(),
        )
        self.reminder.add_environment(PIPELINE_TABLE=storage.pipeline.table_name)
        storage.grant_pipeline_read(self.reminder.role)
        self.grant_enqueue(self.reminder.function)
        events.Rule(
            self,
            "ReminderSchedule",
            description="Remind auditors of verification tasks whose heartbeat lapses within a day",
            schedule=events.Schedule.rate(REMINDER_SCHEDULE),
            targets=[targets.LambdaFunction(self.reminder.function)],
        )

    def grant_enqueue(self, function: lambda_.IFunction) -> None:
        """What a producer needs: the queue's URL and SendMessage (also SendMessageBatch) on it."""
        if isinstance(function, lambda_.Function):
            function.add_environment("NOTIFY_QUEUE_URL", self.queue.queue_url)
        assert function.role is not None
        function.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.queue.queue_arn])
        )
