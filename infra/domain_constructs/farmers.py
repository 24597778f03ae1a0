"""functions/farmers: farmers, plots, seasons, offline sync, evidence uploads, bulk import.

The farm table: reads (GetItem, BatchGetItem, Query on the table and its index) and the item
writes of TransactWriteItems (PutItem, UpdateItem, DeleteItem for a plot's old geohash cells,
ConditionCheckItem); never Scan. The Aadhaar HMAC key: GetSecretValue on that one secret. The
uploads bucket: PutObject (the presigned POST is signed with this role) and GetObject (the HEAD
that confirms an upload), both under ``evidence/`` only. The pipeline table: reads only
(GetItem, BatchGetItem, Query on it and its index), for an auditor's project assignments.
"""

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_iam as iam

from infra import nag
from infra.domain_constructs.base import DomainConstruct, Platform

EVIDENCE_PREFIX = "evidence/"


class FarmersDomain(DomainConstruct):
    def grant(self, platform: Platform) -> None:
        storage = platform.storage
        self.handler.add_environment(
            FARM_TABLE=storage.farm.table_name,
            PIPELINE_TABLE=storage.pipeline.table_name,
            UPLOADS_BUCKET=storage.uploads.bucket_name,
            AADHAAR_HMAC_SECRET_ARN=storage.aadhaar_hmac_secret.secret_arn,
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
        storage.grant_pipeline_read(self.handler.role)  # auditors: their project assignments
        storage.aadhaar_hmac_secret.grant_read(self.handler.role)
        self.handler.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:GetObject"],
                resources=[storage.uploads.arn_for_objects(f"{EVIDENCE_PREFIX}*")],
            )
        )
        Validations.of(self.handler.role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag.arn(self, storage.uploads)}/{EVIDENCE_PREFIX}*]",
                reason="Evidence objects get generated keys (evidence/<fpo>/<plot>/<upload>.<ext>) issued per upload, "
                "so the grant is the evidence/ prefix of the uploads bucket, nothing else of it.",
            )
        )
