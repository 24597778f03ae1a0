"""functions/verification: the auditor's queue, tasks, decisions, samples, reports, observations.

The pipeline table (reads; item writes of its transactions: decision, observations); GetObject on
the pipeline bucket (findings and samples of runs) and on ``reports/`` of the audit bucket (the
presigned download URLs are signed with this role). Answering task tokens (SendTaskSuccess/Failure/
Heartbeat on the MRV state machine) is granted by the stack (``MrvPipeline.grant_task_response``).
"""

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_iam as iam

from infra import nag
from infra.domain_constructs.base import DomainConstruct, Platform


class VerificationDomain(DomainConstruct):
    def grant(self, platform: Platform) -> None:
        storage = platform.storage
        self.handler.add_environment(
            PIPELINE_TABLE=storage.pipeline.table_name,
            PIPELINE_BUCKET=storage.pipeline_data.bucket_name,
            AUDIT_BUCKET=storage.audit.bucket_name,
        )
        storage.grant_pipeline_read(self.handler.role)
        storage.grant_pipeline_write(self.handler.role)
        self.handler.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[storage.pipeline_data.arn_for_objects("runs/*"), storage.audit.arn_for_objects("reports/*")],
            )
        )
        Validations.of(self.handler.role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag.arn(self, storage.pipeline_data)}/runs/*]",
                reason="Findings and samples are objects under runs/<run id>/ of the pipeline bucket",
            )
        )
        Validations.of(self.handler.role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag.arn(self, storage.audit)}/reports/*]",
                reason="Report files are objects under reports/<report id>/ of the audit bucket (presigned GET)",
            )
        )
