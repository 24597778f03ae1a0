"""Cognito: the user pool, its role groups and the one app client (web and mobile).

Group names come from ``agri_common.platform.principal.Role``, the enum the handlers authorize with, so a
role cannot exist on one side only. Users sign in with a username (often their phone number);
phone and email are verified contact attributes used for confirmation codes and recovery.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from infra.config import StageConfig
from infra.routes import ensure_import_paths

ensure_import_paths()
from agri_common.platform.principal import FPO_CLAIM, Role  # noqa: E402  (the layer is on sys.path only now)

FPO_ATTRIBUTE = FPO_CLAIM.removeprefix("custom:")

# Lower precedence wins when Cognito must pick one group's IAM role; our code refuses users with
# several role groups anyway (agri_common.platform.principal), so this only documents the privilege order.
GROUP_PRECEDENCE: dict[Role, tuple[int, str]] = {
    Role.ADMIN: (0, "Platform administrators: manage users and roles"),
    Role.AUDITOR: (10, "Third-party verifiers: read-only access to MRV evidence and audit records"),
    Role.FPO_MANAGER: (20, "Farmer Producer Organisation managers: manage their FPO's farmers and data"),
    Role.FARMER: (30, "Farmers: manage their own plots, practices and evidence"),
}

TOKEN_VALIDITY = Duration.minutes(30)
REFRESH_TOKEN_VALIDITY = Duration.days(30)


class Identity(Construct):
    """User pool + groups + app client, with the stage's removal policy."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        missing = set(Role) - set(GROUP_PRECEDENCE)
        if missing:
            raise ValueError(f"Roles without a Cognito group definition: {sorted(r.value for r in missing)}")
        self.user_pool = self._user_pool(config)
        self.groups = {
            role: cognito.CfnUserPoolGroup(
                self,
                f"{role.name.title().replace('_', '')}Group",
                user_pool_id=self.user_pool.user_pool_id,
                group_name=role.value,
                precedence=precedence,
                description=description,
            )
            for role, (precedence, description) in GROUP_PRECEDENCE.items()
        }
        self.client = self._client()

    def _user_pool(self, config: StageConfig) -> cognito.UserPool:
        pool = cognito.UserPool(
            self,
            "UserPool",
            self_sign_up_enabled=True,
            sign_in_aliases=cognito.SignInAliases(username=True),
            sign_in_case_sensitive=False,
            auto_verify=cognito.AutoVerifiedAttrs(email=True, phone=True),
            keep_original=cognito.KeepOriginalAttrs(email=True, phone=True),
            standard_attributes=cognito.StandardAttributes(
                fullname=cognito.StandardAttribute(required=False, mutable=True),
                email=cognito.StandardAttribute(required=False, mutable=True),
                phone_number=cognito.StandardAttribute(required=False, mutable=True),
                locale=cognito.StandardAttribute(required=False, mutable=True),
            ),
            custom_attributes={FPO_ATTRIBUTE: cognito.StringAttribute(min_len=1, max_len=64, mutable=True)},
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            account_recovery=cognito.AccountRecovery.EMAIL_AND_PHONE_WITHOUT_MFA,
            deletion_protection=not config.is_ephemeral,
            removal_policy=config.cdk_removal_policy,
        )
        Validations.of(pool).acknowledge(
            Acknowledgment(
                id="AwsSolutions-COG2",
                reason="MFA is OPTIONAL with TOTP offered: many farmers use basic phones that cannot run an "
                "authenticator app, and SMS MFA is excluded (cost, SIM-swap risk). Admins and auditors must "
                "enrol TOTP: the auth routes give them no tokens (login, challenge, refresh) until they have "
                "(docs/decisions/0015-mfa-and-profile-claiming.md).",
            ),
            Acknowledgment(
                id="AwsSolutions-COG8",
                reason="Essentials tier for the pilot: the Plus tier (threat protection) is billed per monthly "
                "active user; stage throttling, the password policy and revocation cover the pilot. A "
                "documented limit, to revisit before public launch.",
            ),
        )
        Validations.of(pool.node.find_child("smsRole")).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="The role Cognito assumes to text verification and recovery codes (phone is auto-verified): "
                "SMS goes to phone numbers, which have no ARN, so sns:Publish needs Resource '*'. Only "
                "Cognito can assume it (sts:ExternalId condition).",
            )
        )
        return pool

    def _client(self) -> cognito.UserPoolClient:
        """One confidential client, used only by the auth function (decision 0023).

        Browsers and apps never talk to Cognito: they call our /auth routes, which keep rules
        Cognito cannot (admins and auditors get no tokens before enrolling TOTP). With a secret,
        Cognito refuses every sign-in, challenge answer, refresh and revocation that does not
        prove it, so holding a password is not enough to get tokens around those routes. The
        secret is never in the template or an environment: the auth function reads it from Cognito.
        """
        read = dict(
            fullname=True, email=True, email_verified=True, phone_number=True, phone_number_verified=True, locale=True
        )
        write = dict(fullname=True, email=True, phone_number=True, locale=True)
        return self.user_pool.add_client(
            "AppClient",
            generate_secret=True,
            auth_flows=cognito.AuthFlow(user_password=True),  # + refresh, always on; SRP unused by our routes
            access_token_validity=TOKEN_VALIDITY,
            id_token_validity=TOKEN_VALIDITY,
            refresh_token_validity=REFRESH_TOKEN_VALIDITY,
            enable_token_revocation=True,
            prevent_user_existence_errors=True,
            disable_o_auth=True,  # no hosted UI: the API's /auth routes are the only sign-in path
            read_attributes=cognito.ClientAttributes()
            .with_standard_attributes(**read)
            .with_custom_attributes(FPO_ATTRIBUTE),
            # custom:fpo_id is deliberately not writable by users: only admins set it, server-side.
            write_attributes=cognito.ClientAttributes().with_standard_attributes(**write),
        )
