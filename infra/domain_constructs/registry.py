"""functions/registry: the public registry view (API-key routes, no Cognito).

It reads the ledger through the ledger's own read paths (functions/ledger's store interface and
reader, bundled into this function's asset: infra/bundling.py ``SHARED_CODE``), so it gets the
ledger API's read grants and nothing more: GetItem/BatchGetItem/Query on the ledger table and its
indexes (never Scan, never a write) and GetObject on the batch artifacts under ``ledger/`` of the
audit bucket (Merkle proofs). No revocation table (no private route), no Cognito, no pipeline
table (the registry does not read project assignments or FPOs).
"""

from infra.domain_constructs.base import DomainConstruct, Platform
from infra.domain_constructs.ledger import grant_artifacts


class RegistryDomain(DomainConstruct):
    def grant(self, platform: Platform) -> None:
        storage = platform.storage
        self.handler.add_environment(LEDGER_TABLE=storage.ledger.table_name, AUDIT_BUCKET=storage.audit.bucket_name)
        storage.grant_ledger_read(self.handler.role)
        grant_artifacts(self, platform, self.handler.role, "s3:GetObject")
