"""functions/auth: sign-up, login, challenges, refresh, logout, password reset, /auth/me.

Its Cognito calls SignUp, ConfirmSignUp, InitiateAuth, RespondToAuthChallenge, RevokeToken,
ForgotPassword and ConfirmForgotPassword are public app-client APIs that need no IAM permission.
IAM is needed only for the two admin calls of registration: putting the new user in the
``farmer`` group, and deleting the user again if that fails (no half-registered accounts).
Logout records the session in the revocation table (PutItem).
"""

from infra.domain_constructs.base import DomainConstruct, Platform

COGNITO_ACTIONS = ("cognito-idp:AdminAddUserToGroup", "cognito-idp:AdminDeleteUser")


class AuthDomain(DomainConstruct):
    def grant(self, platform: Platform) -> None:
        identity = platform.identity
        self.handler.add_environment(
            USER_POOL_ID=identity.user_pool.user_pool_id, USER_POOL_CLIENT_ID=identity.client.user_pool_client_id
        )
        self.use_revocation(platform, write=True)
        identity.user_pool.grant(self.handler.role, *COGNITO_ACTIONS)
