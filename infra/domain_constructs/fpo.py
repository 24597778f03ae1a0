"""functions/fpo: FPOs (create, read), dashboards (overview, reports) and their exports.

Reads of the farm table (GetItem, BatchGetItem, Query; never Scan) and, for ``POST /fpos``, the
conditional PutItem of the FPO (inside a TransactWriteItems). The aggregates are written by the
farmers domain; an FPO without any yet reads as zeros. The pipeline table: reads only, for an
auditor's project assignments and the dashboards' carbon section (the per-FPO run items the
pipeline's aggregate task writes, and their runs' status).
"""

from infra.domain_constructs.base import DomainConstruct, Platform


class FpoDomain(DomainConstruct):
    def grant(self, platform: Platform) -> None:
        storage = platform.storage
        self.handler.add_environment(FARM_TABLE=storage.farm.table_name, PIPELINE_TABLE=storage.pipeline.table_name)
        storage.grant_farm(
            self.handler.role, "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem"
        )
        storage.grant_pipeline_read(self.handler.role)  # auditors' assignments; carbon per run (Query, BatchGetItem)
