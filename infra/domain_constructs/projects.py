"""functions/projects: carbon projects, auditor assignment, runs (start, status).

The pipeline table (GetItem/BatchGetItem/Query, and the item writes of its transactions; DeleteItem
because unassigning an auditor deletes the assignment item; never Scan); the farm table
(BatchGetItem only: a new project's FPOs must be registered); Cognito
AdminGetUser/AdminListGroupsForUser on this pool (an assigned user must hold the auditor role). Starting and describing executions of the MRV state machine is granted by
the stack once the state machine exists (``MrvPipeline.grant_start``).
"""

from infra.domain_constructs.base import DomainConstruct, Platform


class ProjectsDomain(DomainConstruct):
    def grant(self, platform: Platform) -> None:
        storage = platform.storage
        self.handler.add_environment(
            PIPELINE_TABLE=storage.pipeline.table_name,
            FARM_TABLE=storage.farm.table_name,
            USER_POOL_ID=platform.identity.user_pool.user_pool_id,
        )
        storage.grant_farm(self.handler.role, "dynamodb:BatchGetItem")  # a new project's FPOs must exist
        storage.grant_pipeline_read(self.handler.role)
        storage.grant_pipeline_write(self.handler.role)
        storage.grant_pipeline(self.handler.role, "dynamodb:DeleteItem")  # unassigning an auditor
        platform.identity.user_pool.grant(
            self.handler.role, "cognito-idp:AdminGetUser", "cognito-idp:AdminListGroupsForUser"
        )
