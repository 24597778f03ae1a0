"""functions/admin: user administration and integrator API keys, for the admin role.

Cognito admin APIs on this pool only; PutItem on the revocation table because disabling a user or
changing their role revokes the tokens they already hold.

Integrator API keys (docs/decisions/0016): the usage plans of this API's stage are named in
``USAGE_PLANS``; the role may list and add keys of those plans only (their ARNs), create keys, and
read or delete a key by id. Keys are account-wide resources with generated ids, so read and delete
cannot name them in advance (``/apikeys/*``); the code touches only keys found in this API's plans
(any other id answers 404) and never asks for a key's value after creating it.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Acknowledgment, Aws, Validations
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam

from infra.domain_constructs.base import DomainConstruct, Platform

COGNITO_ACTIONS = tuple(
    f"cognito-idp:{action}"
    for action in (
        "AdminCreateUser",
        "AdminGetUser",
        "AdminDeleteUser",
        "ListUsers",
        "ListUsersInGroup",
        "AdminListGroupsForUser",
        "AdminAddUserToGroup",
        "AdminRemoveUserFromGroup",
        "AdminDisableUser",
        "AdminEnableUser",
        "AdminUpdateUserAttributes",
        "AdminUserGlobalSignOut",
    )
)
APIGATEWAY = f"arn:{Aws.PARTITION}:apigateway:{Aws.REGION}::"
# How cdk-nag writes that ARN in a finding's id.
NAG_APIGATEWAY = "arn:<AWS::Partition>:apigateway:<AWS::Region>::"


class AdminDomain(DomainConstruct):
    def grant(self, platform: Platform) -> None:
        identity = platform.identity
        self.handler.add_environment(USER_POOL_ID=identity.user_pool.user_pool_id)
        self.use_revocation(platform, write=True)
        identity.user_pool.grant(self.handler.role, *COGNITO_ACTIONS)

    def manage_api_keys(self, plans: Mapping[str, apigw.UsagePlan]) -> None:
        """``USAGE_PLANS`` (``tier=plan-name,...``) and the API Gateway calls of functions/admin/gateway.py.

        The plans depend on the stage, the stage on the API's methods, the methods on this function:
        so the function gets the plans' *names* (known at synth), and the statements naming their ids
        live in a separate policy attached to the role, which the function does not depend on.
        """
        self.handler.add_environment(
            USAGE_PLANS=",".join(f"{tier}={plan_name(plan)}" for tier, plan in sorted(plans.items()))
        )
        policy = iam.Policy(self, "ApiKeysPolicy", roles=[self.handler.role])
        # GetUsagePlans: finds the plans' ids by name (plan metadata only, no keys).
        policy.add_statements(iam.PolicyStatement(actions=["apigateway:GET"], resources=[f"{APIGATEWAY}/usageplans"]))
        # GetUsagePlanKeys (GET) and CreateUsagePlanKey (POST) on this stage's plans only.
        policy.add_statements(
            iam.PolicyStatement(
                actions=["apigateway:GET", "apigateway:POST"],
                resources=[f"{APIGATEWAY}/usageplans/{plan.usage_plan_id}/keys" for _, plan in sorted(plans.items())],
            )
        )
        # CreateApiKey: the collection itself (no key id exists yet).
        policy.add_statements(iam.PolicyStatement(actions=["apigateway:POST"], resources=[f"{APIGATEWAY}/apikeys"]))
        # GetApiKey, DeleteApiKey: by generated id.
        policy.add_statements(
            iam.PolicyStatement(actions=["apigateway:GET", "apigateway:DELETE"], resources=[f"{APIGATEWAY}/apikeys/*"])
        )
        Validations.of(policy).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{NAG_APIGATEWAY}/apikeys/*]",
                reason="API keys are account-wide with ids API Gateway generates, so GetApiKey/DeleteApiKey "
                "cannot name them in advance; functions/admin/api_keys.py acts only on keys found in this "
                "API's usage plans (listed by their own ARNs) and never reads a key's value.",
            )
        )


def plan_name(plan: apigw.UsagePlan) -> str:
    """The name the API gave the plan (infra/api.py), known at synth."""
    cfn = plan.node.default_child
    assert isinstance(cfn, apigw.CfnUsagePlan) and isinstance(cfn.usage_plan_name, str)
    return cfn.usage_plan_name
