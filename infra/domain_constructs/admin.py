"""functions/admin: user administration for the admin role.

Cognito admin APIs on this pool only; PutItem on the revocation table because disabling a user or
changing their role revokes the tokens they already hold.
"""

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


class AdminDomain(DomainConstruct):
    def grant(self, platform: Platform) -> None:
        identity = platform.identity
        self.handler.add_environment(USER_POOL_ID=identity.user_pool.user_pool_id)
        self.use_revocation(platform, write=True)
        identity.user_pool.grant(self.handler.role, *COGNITO_ACTIONS)
