"""functions/farmers: farmers, plots, seasons, offline sync, evidence uploads, bulk import.

The farm table: reads (GetItem, BatchGetItem, Query on the table and its index) and the item
writes of TransactWriteItems (PutItem, UpdateItem, DeleteItem for a plot's old geohash cells,
ConditionCheckItem); never Scan. The Aadhaar HMAC key: GetSecretValue on that one secret. The
uploads bucket: PutObject (the presigned POST is signed with this role) and GetObject (the HEAD
that confirms an upload), both under ``evidence/`` only. The pipeline table: reads only
(GetItem, BatchGetItem, Query on it and its index), for an auditor's project assignments and a
credit statement's run. A farmer's credit statement also reads (never writes): GetObject of a run's
plan, chunk manifests and chunk rows in the pipeline bucket (those three key patterns only), and
the ledger table's farmer salts (GetItem on the table) and records by farmer reference (Query on
the ``by_farmer`` index only); the export layer carries the PDF toolkit and its fonts.

A farmer's erasure (docs/decisions/0017) adds only: listing and deleting object versions under
``evidence/`` of the uploads bucket (ListBucketVersions with an ``s3:prefix`` condition), UpdateItem on
the ledger table limited to ``SALT#`` partition keys (``dynamodb:LeadingKeys``: the salt is replaced by
an erased marker; no record, block or batch can be touched), InvokeFunction of the ledger writer (its ``unlink_owner`` command takes the
farmer's account id off their ledger records and credit blocks, decision 0022), PutItem on the revocation table (the farmer's tokens), and ListUsers,
AdminUserGlobalSignOut, AdminDeleteUser on the user pool (the farmer's account).

A profile's claim code can be texted to the profile's phone (decision 0015): SNS Publish, which for a
phone number has no resource ARN to scope to, so ``sns:Publish`` alone (nothing else of SNS) is granted
on ``*``, with a Deny on every topic (texts only: not the operations alarms topic). Its text's DLT
template id and the sender id come from the stage (infra/messaging.py, decision 0020).
"""

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_iam as iam

from infra import nag
from infra.domain_constructs.base import DomainConstruct, Platform
from infra.messaging import claim_code_sms_templates, sms_environment
from infra.routes import ensure_import_paths

ensure_import_paths()
from agri_common import ledger_table, pipeline_objects  # noqa: E402  (the layer is on sys.path only now)

EVIDENCE_PREFIX = "evidence/"
ERASURE_COGNITO_ACTIONS = tuple(f"cognito-idp:{a}" for a in ("ListUsers", "AdminUserGlobalSignOut", "AdminDeleteUser"))
# what a credit statement reads of a run in the pipeline bucket (agri_common.pipeline_objects)
STATEMENT_OBJECTS = (
    pipeline_objects.plan_key("*", 0).replace("/g0/", "/*/"),
    pipeline_objects.manifest_key("*", 0, 0).replace("/g0/", "/*/").replace("000000.json", "*.json"),
    pipeline_objects.chunk_key("*", 0, 0, pipeline_objects.ROWS).replace("/g0/", "/*/").replace("/000000/", "/*/"),
)


class FarmersDomain(DomainConstruct):
    def grant(self, platform: Platform) -> None:
        storage = platform.storage
        self.handler.add_environment(
            FARM_TABLE=storage.farm.table_name,
            PIPELINE_TABLE=storage.pipeline.table_name,
            UPLOADS_BUCKET=storage.uploads.bucket_name,
            AADHAAR_HMAC_SECRET_ARN=storage.aadhaar_hmac_secret.secret_arn,
            PIPELINE_BUCKET=storage.pipeline_data.bucket_name,
            LEDGER_TABLE=storage.ledger.table_name,
        )
        storage.grant_farm(
            self.handler.role,
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:Query",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:ConditionCheckItem",
        )
        storage.grant_pipeline_read(self.handler.role)  # auditors: their project assignments; statements: the run
        self.grant_statement_reads(platform)
        self.grant_erasure(platform)
        storage.aadhaar_hmac_secret.grant_read(self.handler.role)
        self.handler.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:GetObject"],
                resources=[storage.uploads.arn_for_objects(f"{EVIDENCE_PREFIX}*")],
            )
        )
        self.handler.role.add_to_principal_policy(
            iam.PolicyStatement(sid="ClaimCodeSms", actions=["sns:Publish"], resources=["*"])  # a sid: never merged
        )
        self.handler.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="NoTopics",
                effect=iam.Effect.DENY,
                actions=["sns:Publish"],
                resources=[Stack.of(self).format_arn(service="sns", resource="*")],
            )
        )
        self.handler.add_environment(**sms_environment(platform.config, claim_code_sms_templates()))
        Validations.of(self.handler.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="A profile's claim code is texted to the farmer's phone (SNS Publish with PhoneNumber): "
                "phone numbers have no ARN, so sns:Publish (and only it) needs Resource '*'.",
            )
        )
        Validations.of(self.handler.role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag.arn(self, storage.uploads)}/{EVIDENCE_PREFIX}*]",
                reason="Evidence objects get generated keys (evidence/<fpo>/<plot>/<upload>.<ext>) issued per upload, "
                "so the grant is the evidence/ prefix of the uploads bucket, nothing else of it.",
            )
        )

    def grant_erasure(self, platform: Platform) -> None:
        """What an erasure deletes outside the farm table (module docstring), and nothing more."""
        storage, role = platform.storage, self.handler.role
        self.handler.add_environment(USER_POOL_ID=platform.identity.user_pool.user_pool_id)
        self.use_revocation(platform, write=True)
        platform.identity.user_pool.grant(role, *ERASURE_COGNITO_ACTIONS)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucketVersions"],
                resources=[storage.uploads.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{EVIDENCE_PREFIX}*"]}},
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:DeleteObject", "s3:DeleteObjectVersion"],
                resources=[storage.uploads.arn_for_objects(f"{EVIDENCE_PREFIX}*")],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["dynamodb:UpdateItem"],  # the salt shredded: an erased marker in its place
                resources=[storage.ledger.table_arn],
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{ledger_table.SALT_PREFIX}*"]}},
            )
        )
        # the account id beside the farmer's ledger records and on their credit blocks: the ledger writer
        # (the only role that writes the ledger table) unlinks it (docs/decisions/0022)
        writer = platform.ledger_writer
        if writer is None:
            raise ValueError("a farmer's erasure needs the ledger writer (built in the pipeline stack)")
        self.handler.add_environment(LEDGER_WRITER_FUNCTION=writer.function_name)
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[writer.function_arn])
        )

    def grant_statement_reads(self, platform: Platform) -> None:
        """A credit statement's reads outside the farm and pipeline tables (module docstring)."""
        storage = platform.storage
        index, _ = ledger_table.INDEXES["farmer_ref"]
        role = self.handler.role
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["dynamodb:GetItem"], resources=[storage.ledger.table_arn])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["dynamodb:Query"], resources=[f"{storage.ledger.table_arn}/index/{index}"])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[storage.pipeline_data.arn_for_objects(pattern) for pattern in STATEMENT_OBJECTS],
            )
        )
        for pattern in STATEMENT_OBJECTS:
            Validations.of(role).acknowledge(
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::{nag.arn(self, storage.pipeline_data)}/{pattern}]",
                    reason="A credit statement reads one run's plan, chunk manifests and one chunk's rows: "
                    "runs/<run id>/g<generation>/..., named per request; only these three key patterns",
                )
            )
