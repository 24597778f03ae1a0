"""functions/ledger: two functions, the read API (``handler``, app stack) and the ledger writer
(``writer_handler``, running writer.LedgerWriter; :class:`LedgerWriter`, pipeline stack).

- The **writer** (Metadata ``agri:domain = ledger-writer``) is the only role that may write the
  ledger table (conditional Put/Update in transactions; no Delete: append-only). It writes batch
  artifacts under ``ledger/`` in the audit bucket (Object Lock) and, on a real chain, reads its
  signing key from one Secrets Manager secret. The MRV state machine invokes it with a
  reference to the approved run (``ledger/approved/`` of the audit bucket), one page of farmers per call; an EventBridge schedule invokes it with ``{"command": "anchor"}`` so transfers and
  retirements get anchored in batches even when no issuance follows.
- The **API** reads the table and its indexes (never Scan) and the batch artifacts (proofs), and
  may invoke the writer, which is how transfers, retirements and manual issuances are written.
  It reads the pipeline table (GetItem, BatchGetItem, Query; no write) for an auditor's projects.
"""

from __future__ import annotations

import dataclasses

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra import nag
from infra.config import StageConfig
from infra.domain_constructs.base import DomainConstruct, Platform
from infra.domains import Domain
from infra.function import DomainFunction
from infra.storage import METADATA_KEY

ARTIFACT_PREFIX = "ledger/*"
ANCHOR_SCHEDULE_MINUTES = 15
ANCHOR_RECEIPT_POLLS = "6"  # 0.5+1+2+4+8+8 s at most: within API Gateway's 29 s for manual issuances


class LedgerWriter(Construct):
    """The ledger writer with its anchoring schedule, built in the pipeline stack (docs/stacks.md).

    ``domain`` is the ledger domain of ``infra.domains.API_DOMAINS``; the writer is its second
    function (entry ``writer_handler``). Attributes: ``function`` (the DomainFunction),
    ``anchor_schedule`` (the EventBridge rule), ``signing_key``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, domain: Domain, platform: Platform) -> None:
        super().__init__(scope, construct_id)
        storage, config = platform.storage, platform.config
        writer_domain = dataclasses.replace(
            # 900 s: the last page of a large issuance anchors every pending batch (10,000 records each)
            domain,
            entry="writer_handler",
            layers=("common", "chain"),
            memory_mb=1024,
            timeout_s=900,
            description="Ledger writer: issues credits, appends hash-chained records, anchors Merkle roots on chain",
        )
        self.function = DomainFunction(
            self,
            "Writer",
            domain=writer_domain,
            config=config,
            layers=platform.layers.for_domain(writer_domain),
            environment=platform.base_environment(),
        )
        self.function.add_environment(
            LEDGER_TABLE=storage.ledger.table_name,
            AUDIT_BUCKET=storage.audit.bucket_name,
            CHAIN_RPC_URL=config.chain_rpc_url,
            ANCHOR_RECEIPT_POLLS=ANCHOR_RECEIPT_POLLS,
        )
        if config.chain_contract_address:
            self.function.add_environment(CHAIN_CONTRACT_ADDRESS=config.chain_contract_address)
        storage.grant_ledger_write(self.function.role)
        # issuance pages of the state machine and scheduled anchoring append activity events
        self.function.add_environment(ACTIVITY_TABLE=storage.activity.table_name)
        storage.grant_activity_append(self.function.role)
        grant_artifacts(self, platform, self.function.role, "s3:PutObject", "s3:GetObject")
        self.signing_key = platform.ledger_secrets.signing_key
        if self.signing_key is not None:
            self.signing_key.grant_read(self.function.role)
            self.function.add_environment(CHAIN_KEY_SECRET_ARN=self.signing_key.secret_arn)
        self.anchor_schedule = events.Rule(
            self,
            "AnchorSchedule",
            description="Anchor pending ledger records (transfers, retirements)",
            schedule=events.Schedule.rate(Duration.minutes(ANCHOR_SCHEDULE_MINUTES)),
            targets=[
                targets.LambdaFunction(
                    self.function.function, event=events.RuleTargetInput.from_object({"command": "anchor"})
                )
            ],
        )


class LedgerDomain(DomainConstruct):
    """The ledger's read API; it invokes the writer (``platform.ledger_writer``, in the pipeline stack)."""

    def grant(self, platform: Platform) -> None:
        storage = platform.storage
        writer = platform.ledger_writer
        if writer is None:
            raise ValueError("the ledger API needs the ledger writer (built in the pipeline stack)")
        self.handler.add_environment(
            LEDGER_TABLE=storage.ledger.table_name,
            AUDIT_BUCKET=storage.audit.bucket_name,
            LEDGER_WRITER_FUNCTION=writer.function_name,
            PIPELINE_TABLE=storage.pipeline.table_name,
        )
        storage.grant_ledger_read(self.handler.role)
        storage.grant_pipeline_read(self.handler.role)  # auditors: their project assignments
        grant_artifacts(self, platform, self.handler.role, "s3:GetObject")
        self.handler.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[writer.function_arn])
        )


def grant_artifacts(scope: Construct, platform: Platform, role: iam.IRole, *actions: str) -> None:
    """Object actions under ``ledger/`` of the audit bucket only, and the index ARNs of Query:
    both are prefix wildcards that cdk-nag reports, acknowledged here with the reason. Shared with
    the registry domain, which reads the ledger through the ledger's own read paths."""
    storage = platform.storage
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=list(actions), resources=[storage.audit.arn_for_objects(ARTIFACT_PREFIX)])
    )
    for store, suffix, reason in (
        (
            storage.audit,
            ARTIFACT_PREFIX,
            "Batch artifacts are objects under ledger/ of the audit bucket; "
            "their keys are created per batch, so the grant names the prefix.",
        ),
        (
            storage.ledger,
            "index/*",
            "Query on the ledger table's own global secondary indexes (by chain, "
            "project, farmer, owner, FPO); no other table is reachable.",
        ),
    ):
        Validations.of(role).acknowledge(
            Acknowledgment(id=f"AwsSolutions-IAM5[Resource::{nag.arn(scope, store)}/{suffix}]", reason=reason)
        )


class LedgerSecrets(Construct):
    """The ledger's stateful part, built in the data stack: the writer's chain signing key.

    A real chain (``chain_rpc_url`` not ``eth-tester://``) needs the key of the account that owns
    the AnchorRegistry (hex), created empty here and filled by ops with a funded key; the
    in-process chain of dev and the twin needs none (``signing_key`` None).
    Built under the construct id ``Ledger`` so the secret keeps the logical id it had when the
    ledger domain's construct created it in the single pre-split stack.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.signing_key: secretsmanager.Secret | None = None
        if config.uses_in_process_chain:
            return
        secret = secretsmanager.Secret(
            self,
            "ChainSigningKey",
            removal_policy=config.cdk_removal_policy,
            description="agri-mrv ledger writer: private key (hex) of the account that owns the AnchorRegistry",
        )
        nag.element_of(secret).add_metadata(METADATA_KEY, "chain-signing-key")
        Validations.of(secret).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SMG4",
                reason="An EVM account key cannot be rotated by Secrets Manager: the registry contract's owner is "
                "fixed at deployment, so a new key means deploying a new registry (a planned migration).",
            )
        )
        self.signing_key = secret
