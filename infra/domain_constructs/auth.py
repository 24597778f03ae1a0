"""functions/auth: sign-up, login, challenges, TOTP enrolment, refresh, logout, password reset, /auth/me.

Its Cognito calls SignUp, ConfirmSignUp, InitiateAuth, RespondToAuthChallenge, RevokeToken,
ForgotPassword, ConfirmForgotPassword, and for TOTP GetUser, AssociateSoftwareToken,
VerifySoftwareToken and SetUserMFAPreference (authorized by the user's access token) are public
app-client APIs that need no IAM permission. IAM is needed only for the admin calls: putting a new
user in the ``farmer`` group, deleting the user again if that fails (no half-registered accounts),
and reading a user's groups (admins and auditors must have TOTP before they get tokens: decision 0015).
The app client is confidential (decision 0023): every app-client call above carries the client's
secret or a hash of it, which the function reads from Cognito once per container
(``DescribeUserPoolClient``); no other function may read it, so no one can sign in around our routes.
Logout records the session in the revocation table (PutItem). TOTP enrolment sessions live in the
same table under ``mfa#`` keys: updating (wrong-code count) and deleting (single use) are granted on
those keys only (``dynamodb:LeadingKeys``), so the function cannot lift a revocation.
"""

from aws_cdk import aws_iam as iam

from infra.domain_constructs.base import DomainConstruct, Platform
from infra.routes import ensure_import_paths

ensure_import_paths()
from functions.auth.mfa_sessions import KEY_PREFIX as MFA_KEY_PREFIX  # noqa: E402  (import paths set just above)

COGNITO_ACTIONS = (
    "cognito-idp:AdminAddUserToGroup",
    "cognito-idp:AdminDeleteUser",
    "cognito-idp:AdminListGroupsForUser",
    "cognito-idp:DescribeUserPoolClient",  # the app client's secret (decision 0023)
)
MFA_SESSION_ACTIONS = ("dynamodb:UpdateItem", "dynamodb:DeleteItem")


class AuthDomain(DomainConstruct):
    def grant(self, platform: Platform) -> None:
        identity = platform.identity
        self.handler.add_environment(
            USER_POOL_ID=identity.user_pool.user_pool_id, USER_POOL_CLIENT_ID=identity.client.user_pool_client_id
        )
        self.use_revocation(platform, write=True)
        identity.user_pool.grant(self.handler.role, *COGNITO_ACTIONS)
        self.handler.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=list(MFA_SESSION_ACTIONS),
                resources=[platform.storage.revocation.table_arn],
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{MFA_KEY_PREFIX}*"]}},
            )
        )
