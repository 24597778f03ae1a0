"""Cognito: role groups, pool policies, and the app client's token settings."""

from __future__ import annotations

from agri_common.platform.principal import Role
from tests.infra.cfn import only, resources


def test_one_group_per_role_with_distinct_precedence(template):
    groups = {
        g["Properties"]["GroupName"]: g["Properties"]
        for g in resources(template, "AWS::Cognito::UserPoolGroup").values()
    }
    assert set(groups) == {"farmer", "fpo_manager", "auditor", "admin"} == {r.value for r in Role}
    precedences = [g["Precedence"] for g in groups.values()]
    assert len(set(precedences)) == len(precedences)
    assert groups["admin"]["Precedence"] < groups["farmer"]["Precedence"]
    pool_lid, _ = only(template, "AWS::Cognito::UserPool")
    assert all(g["UserPoolId"] == {"Ref": pool_lid} for g in groups.values())


def test_pool_has_mutable_fpo_attribute(template):
    _, pool = only(template, "AWS::Cognito::UserPool")
    schema = {a["Name"]: a for a in pool["Properties"]["Schema"]}
    assert schema["fpo_id"]["AttributeDataType"] == "String"
    assert schema["fpo_id"]["Mutable"] is True


def test_pool_password_policy_and_sign_in(template):
    props = only(template, "AWS::Cognito::UserPool")[1]["Properties"]
    assert props["Policies"]["PasswordPolicy"] == {
        "MinimumLength": 12,
        "RequireLowercase": True,
        "RequireUppercase": True,
        "RequireNumbers": True,
        "RequireSymbols": True,
        "TemporaryPasswordValidityDays": 3,
    }
    assert props["UsernameConfiguration"] == {"CaseSensitive": False}
    assert props["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is False  # self sign-up
    recovery = [
        m["Name"] for m in sorted(props["AccountRecoverySetting"]["RecoveryMechanisms"], key=lambda m: m["Priority"])
    ]
    assert recovery == ["verified_email", "verified_phone_number"]


def test_mfa_optional_totp_only(template):
    props = only(template, "AWS::Cognito::UserPool")[1]["Properties"]
    assert props["MfaConfiguration"] == "OPTIONAL"
    assert props["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]


def test_client_tokens_and_flows(template):
    client = only(template, "AWS::Cognito::UserPoolClient")[1]["Properties"]
    assert set(client["ExplicitAuthFlows"]) == {"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
    assert client["EnableTokenRevocation"] is True
    assert client["PreventUserExistenceErrors"] == "ENABLED"
    units = client["TokenValidityUnits"]
    assert (client["AccessTokenValidity"], units["AccessToken"]) == (30, "minutes")
    assert (client["IdTokenValidity"], units["IdToken"]) == (30, "minutes")
    refresh_minutes = client["RefreshTokenValidity"] * {"minutes": 1, "hours": 60, "days": 1440}[units["RefreshToken"]]
    assert refresh_minutes == 30 * 1440


def test_users_cannot_write_their_fpo(template):
    client = only(template, "AWS::Cognito::UserPoolClient")[1]["Properties"]
    assert "custom:fpo_id" in client["ReadAttributes"]
    assert "custom:fpo_id" not in client["WriteAttributes"]
    assert not any(a.startswith("custom:") for a in client["WriteAttributes"])


def test_the_app_client_is_confidential_and_only_the_auth_function_reads_its_secret(template):
    """Decision 0023: with a client secret, Cognito refuses sign-ins, challenge answers and refreshes
    that do not prove it, so no one gets tokens around our /auth routes (where admins and auditors
    must enrol TOTP first). The secret is read from Cognito by the auth function, never configured."""
    client = only(template, "AWS::Cognito::UserPoolClient")[1]["Properties"]
    assert client["GenerateSecret"] is True
    assert client.get("AllowedOAuthFlowsUserPoolClient") is not True  # no hosted UI flows around the routes
    readers = set()
    for policy in resources(template, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(a in ("cognito-idp:DescribeUserPoolClient", "cognito-idp:*", "*") for a in actions):
                readers.update(r["Ref"] for r in policy["Properties"]["Roles"])
    assert len(readers) == 1 and "Auth" in next(iter(readers)), readers
    assert "ClientSecret" not in str(template)  # neither an output nor an environment variable
