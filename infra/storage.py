"""Data stores: DynamoDB tables and S3 buckets, each created through one factory method.

The factories (:meth:`Storage.table`, :meth:`Storage._bucket`) hold the team's baseline, so a later
issue adds a table with one call and cannot forget PITR, encryption or the removal policy:

- tables: on-demand billing, point-in-time recovery, encryption with the AWS managed key
  ``aws/dynamodb`` (auditable in CloudTrail, no key to administer or pay for; a customer-managed
  key would only be needed for cross-account access or crypto-shredding, neither of which applies),
  deletion protection where data is retained;
- buckets: all public access blocked, TLS-only (1.2+) bucket policy, versioning, SSE-S3, bucket-owner
  object ownership (no ACLs), server access logs into the log bucket.

``prod`` retains every store when the stack is deleted; ``dev`` destroys them. Buckets are never
emptied by CloudFormation: S3's auto-delete needs a custom-resource Lambda, and the data stack holds
no code (docs/stacks.md), so destroying a dev data stack needs its buckets emptied first
(docs/stacks.md "Destroying a dev stage"; the audit bucket also waits for its one-day Object Lock, see
:meth:`Storage._audit_bucket`).
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.config import StageConfig
from infra.routes import ensure_import_paths

ensure_import_paths()
from agri_common.activity_table import INDEXES as ACTIVITY_INDEXES  # noqa: E402  (one owner of the keys)
from agri_common.activity_table import SORT as ACTIVITY_SORT  # noqa: E402

METADATA_KEY = "agri:resource"
LEDGER_INDEXES = (
    ("by_chain", "g_chain"),
    ("by_project", "g_project"),
    ("by_farmer", "g_farmer"),
    ("by_owner", "g_owner"),
    ("by_fpo", "g_fpo"),
)  # lets the local twin find stores by role, not by logical id


class Storage(Construct):
    """The tables and buckets of the stack, with grant helpers for the domain constructs."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.access_logs = self._access_log_bucket()
        self.uploads = self._uploads_bucket()
        self.audit = self._audit_bucket()
        self.revocation = self.table(
            "RevocationTable", partition_key="pk", ttl_attribute="expires_at", resource_name="revocation"
        )
        # Farmers, plots, seasons, FPOs and their maintained aggregates (docs/table-design.md).
        self.farm = self.table(
            "FarmTable",
            partition_key="pk",
            sort_key="sk",
            resource_name="farm",
            indexes=(("gsi1", "gsi1pk", "gsi1sk"),),
        )
        self.aadhaar_hmac_secret = self._aadhaar_hmac_secret()
        # The append-only ledger (functions/ledger/dal.py): records, head, credit blocks, batches.
        # Every index sorts by the zero-padded seq, so lists come newest first without a Scan.
        self.ledger = self.table(
            "LedgerTable",
            partition_key="pk",
            sort_key="sk",
            resource_name="ledger",
            indexes=tuple((name, attr, "g_seq") for name, attr in LEDGER_INDEXES),
        )
        # MRV pipeline: projects, auditor assignment, runs, steps, tasks, samples, reports,
        # observations (agri_common/pipeline_table.py; docs/table-design.md "Pipeline table").
        self.pipeline = self.table(
            "PipelineTable",
            partition_key="pk",
            sort_key="sk",
            resource_name="pipeline",
            indexes=(("gsi1", "gsi1pk", "gsi1sk"),),
        )
        self.pipeline_data = self._pipeline_bucket()
        # The activity log (agri_common/activity_table.py): append-only events, one index per way it is
        # read (actor, target, FPO, project, day), each sorted by time; intents expire by TTL.
        self.activity = self.table(
            "ActivityTable",
            partition_key="pk",
            sort_key="sk",
            ttl_attribute="expires_at",
            resource_name="activity",
            indexes=tuple((name, attr, ACTIVITY_SORT) for name, attr in ACTIVITY_INDEXES.items()),
        )

    # ---- tables -------------------------------------------------------------------------------
    def table(
        self,
        construct_id: str,
        *,
        partition_key: str,
        sort_key: str | None = None,
        ttl_attribute: str | None = None,
        resource_name: str,
        indexes: tuple[tuple[str, str, str], ...] = (),
    ) -> dynamodb.Table:
        """A table with the team's baseline; keys are strings (ids, composite ``kind#id`` keys).

        ``indexes``: ``(name, partition_key, sort_key)`` global secondary indexes, projecting all
        attributes (single-table designs read whole items from their indexes).
        """
        retained = not self._config.is_ephemeral
        table = dynamodb.Table(
            self,
            construct_id,
            partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=sort_key, type=dynamodb.AttributeType.STRING) if sort_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=ttl_attribute,
            deletion_protection=retained,
            removal_policy=self._config.cdk_removal_policy,
        )
        for name, pk, sk in indexes:
            table.add_global_secondary_index(
                index_name=name,
                partition_key=dynamodb.Attribute(name=pk, type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name=sk, type=dynamodb.AttributeType.STRING),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        table.node.default_child.add_metadata(METADATA_KEY, resource_name)
        return table

    def _aadhaar_hmac_secret(self) -> secretsmanager.Secret:
        """The key of the Aadhaar HMAC: farmers are deduplicated by HMAC(key, number), never the number.

        Generated by Secrets Manager (nobody ever sees it); retained with the data in prod because
        losing it makes every stored hash useless for deduplication.
        """
        secret = secretsmanager.Secret(
            self,
            "AadhaarHmacSecret",
            description="agri-mrv: HMAC key for Aadhaar deduplication hashes (farmers domain)",
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=64, exclude_punctuation=True),
            removal_policy=self._config.cdk_removal_policy,
        )
        secret.node.default_child.add_metadata(METADATA_KEY, "aadhaar-hmac")
        Validations.of(secret).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SMG4",
                reason="Rotating this HMAC key would silently break duplicate detection: every stored Aadhaar "
                "hash would have to be recomputed, which needs the numbers we deliberately never store. "
                "A key change is a planned re-enrolment, not an automatic rotation.",
            )
        )
        return secret

    def grant_farm(self, grantee: iam.IGrantable, *actions: str) -> None:
        """``actions`` on the farm table and its one index by name (``table.grant`` would add
        ``index/*``, a wildcard): never Scan, which no request path may use."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=list(actions), resources=[self.farm.table_arn, f"{self.farm.table_arn}/index/gsi1"]
            )
        )

    def grant_farm_read(self, grantee: iam.IGrantable) -> None:
        """Reads of the farm table and its index: GetItem/BatchGetItem/Query."""
        self.grant_farm(grantee, "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query")

    def grant_pipeline(self, grantee: iam.IGrantable, *actions: str) -> None:
        """``actions`` on the pipeline table and its one index by name (no ``index/*``, no Scan)."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=list(actions), resources=[self.pipeline.table_arn, f"{self.pipeline.table_arn}/index/gsi1"]
            )
        )

    def grant_pipeline_read(self, grantee: iam.IGrantable) -> None:
        self.grant_pipeline(grantee, "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query")

    def grant_pipeline_write(self, grantee: iam.IGrantable) -> None:
        """Item writes of the store's transactions (conditional puts and updates; no delete)."""
        self.grant_pipeline(grantee, "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem")

    def grant_ledger_read(self, grantee: iam.IGrantable) -> None:
        """The ledger API: GetItem/BatchGetItem/Query on the table and its indexes, never Scan."""
        self.ledger.grant(grantee, "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query")

    def grant_ledger_write(self, grantee: iam.IGrantable) -> None:
        """The ledger writer, and only it: reads plus the items of its transactions (no DeleteItem:
        the ledger is append-only; credit blocks change by conditional Put; an erasure's unlink_owner
        removes an account id beside the hashed body by conditional Update, decision 0022)."""
        self.ledger.grant(
            grantee,
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:Query",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:ConditionCheckItem",
        )

    def grant_activity_append(self, grantee: iam.IGrantable) -> None:
        """What every audited function does: conditional PutItem of intents and events. Never
        UpdateItem or DeleteItem: the log is append-only (tests/infra/test_activity.py)."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["dynamodb:PutItem"], resources=[self.activity.table_arn])
        )

    def grant_activity_read(self, grantee: iam.IGrantable) -> None:
        """Query on the table and its indexes by name (no ``index/*``, no Scan), BatchGetItem (the sweeper)."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:GetItem"],
                resources=[
                    self.activity.table_arn,
                    *(f"{self.activity.table_arn}/index/{name}" for name in ACTIVITY_INDEXES),
                ],
            )
        )

    def grant_revocation_check(self, grantee: iam.IGrantable) -> None:
        """What every private route does per request: look its token's keys up (BatchGetItem)."""
        self.revocation.grant(grantee, "dynamodb:BatchGetItem", "dynamodb:GetItem")

    def grant_revocation_write(self, grantee: iam.IGrantable) -> None:
        """Logout, disable and role changes record revocations; nothing ever updates or deletes."""
        self.revocation.grant(grantee, "dynamodb:PutItem")

    # ---- buckets ------------------------------------------------------------------------------
    def _bucket(self, construct_id: str, *, resource_name: str, access_logs: s3.IBucket | None, **props) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            construct_id,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            encryption=s3.BucketEncryption.S3_MANAGED,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix=f"{resource_name}/" if access_logs else None,
            removal_policy=self._config.cdk_removal_policy,
            **props,
        )
        bucket.node.default_child.add_metadata(METADATA_KEY, resource_name)
        return bucket

    def _access_log_bucket(self) -> s3.Bucket:
        """Target of the other buckets' server access logs.

        SSE-S3 because S3 log delivery cannot write to SSE-KMS buckets; logs expire with the
        stage's log retention, old versions after a week.
        """
        bucket = self._bucket(
            "AccessLogsBucket",
            resource_name="access-logs",
            access_logs=None,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(self._config.log_retention_days),
                    noncurrent_version_expiration=Duration.days(7),
                )
            ],
        )
        Validations.of(bucket).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1",
                reason="This is the server-access-log bucket itself: logging it into itself would loop, and "
                "logging it elsewhere needs yet another bucket with the same problem.",
            )
        )
        return bucket

    def _uploads_bucket(self) -> s3.Bucket:
        """Evidence photos and documents, uploaded by browsers and apps with presigned PUT URLs."""
        return self._bucket(
            "UploadsBucket",
            resource_name="uploads",
            access_logs=self.access_logs,
            cors=[
                s3.CorsRule(
                    # POST: evidence uploads use presigned POST (size and type enforced by S3's policy)
                    allowed_methods=[s3.HttpMethods.PUT, s3.HttpMethods.POST, s3.HttpMethods.GET, s3.HttpMethods.HEAD],
                    allowed_origins=list(self._config.cors_origins),
                    allowed_headers=["Content-Type", "Content-MD5", "x-amz-*"],
                    exposed_headers=["ETag"],
                    max_age=600,
                )
            ],
            lifecycle_rules=[s3.LifecycleRule(abort_incomplete_multipart_upload_after=Duration.days(7))],
        )

    def _pipeline_bucket(self) -> s3.Bucket:
        """The MRV pipeline's working data: plans, chunk manifests, per-plot rows, per-draw totals,
        findings, samples. Reproducible from the farm data, so old versions expire after 30 days."""
        return self._bucket(
            "PipelineBucket",
            resource_name="pipeline-data",
            access_logs=self.access_logs,
            lifecycle_rules=[
                s3.LifecycleRule(
                    noncurrent_version_expiration=Duration.days(30),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
        )

    def _audit_bucket(self) -> s3.Bucket:
        """Write-once audit records (Object Lock, default retention per stage).

        Destroying a dev data stack leaves this bucket's deletion failing until its objects' one-day
        retention has passed and the bucket is emptied (``aws s3api delete-object --version-id``
        for each version, or ``--bypass-governance-retention`` by an allowed principal).
        """
        days = Duration.days(self._config.audit_retention_days)
        retention = (
            s3.ObjectLockRetention.compliance(days)
            if self._config.audit_retention_mode == "COMPLIANCE"
            else s3.ObjectLockRetention.governance(days)
        )
        return self._bucket(
            "AuditBucket",
            resource_name="audit",
            access_logs=self.access_logs,
            object_lock_enabled=True,
            object_lock_default_retention=retention,
        )
