"""TOTP enrolment and profile claiming against moto provisioned from the template (decision 0015):
the Cognito calls of CognitoIdentityProvider (with the twin's real TOTP checks), the enrolment
sessions in the revocation table, and a claim code texted through SNS and redeemed on the farm table."""

from __future__ import annotations

import time

import pytest

from agri_common.platform.errors import BadRequestError
from agri_common.platform.identity import Challenge, CognitoIdentityProvider, Tokens
from agri_common.platform.principal import Principal, Role
from agri_common.single_table import DynamoTableStore
from functions.auth.mfa_sessions import MAX_ATTEMPTS, DynamoMfaSessionStore, MfaSession, session_key
from infra.local.moto_ext import totp_code

PASSWORD = "Str0ng-Passw0rd!"


@pytest.fixture
def idp(aws, function_env):
    env = function_env("auth")
    return CognitoIdentityProvider(env["USER_POOL_ID"], env["USER_POOL_CLIENT_ID"])


def test_totp_enrolment_then_login_is_a_challenge_answered_with_a_real_code(idp):
    idp.admin_create_user("adi", {"name": "Adi"}, PASSWORD)
    first = idp.login("adi", PASSWORD)
    assert isinstance(first, Challenge) and first.challenge_name == "NEW_PASSWORD_REQUIRED"
    tokens = idp.respond_to_challenge(
        "NEW_PASSWORD_REQUIRED", first.session, {"USERNAME": "adi", "NEW_PASSWORD": "Naya-Passw0rd!xyz"}
    )
    assert isinstance(tokens, Tokens)
    assert idp.get_user(tokens.access_token).totp_enabled is False
    secret = idp.associate_software_token(tokens.access_token)
    bad = str((int(totp_code(secret, time.time())) + 500_000) % 1_000_000).zfill(6)
    with pytest.raises(BadRequestError) as wrong:
        idp.verify_software_token(tokens.access_token, bad)
    assert wrong.value.code == "invalid_totp_code"
    assert idp.get_user(tokens.access_token).totp_enabled is False
    idp.verify_software_token(tokens.access_token, totp_code(secret, time.time()))
    assert idp.get_user(tokens.access_token).totp_enabled is True
    login = idp.login("adi", "Naya-Passw0rd!xyz")
    assert isinstance(login, Challenge) and login.challenge_name == "SOFTWARE_TOKEN_MFA"
    answer = {"USERNAME": "adi", "SOFTWARE_TOKEN_MFA_CODE": totp_code(secret, time.time())}
    assert isinstance(idp.respond_to_challenge("SOFTWARE_TOKEN_MFA", login.session, answer), Tokens)


def test_enrolment_sessions_in_the_revocation_table(aws, function_env):
    import boto3

    env = function_env("auth")
    now = [1_800_000_000.0]
    store = DynamoMfaSessionStore(env["REVOCATION_TABLE"], clock=lambda: now[0])
    session = MfaSession(username="adi", access_token="secret-access-token", expires_at=int(now[0]) + 600)
    store.put("sess-1", session)
    raw = boto3.resource("dynamodb").Table(env["REVOCATION_TABLE"]).get_item(Key={"pk": session_key("sess-1")})["Item"]
    assert raw["pk"].startswith("mfa#") and "sess-1" not in str(raw)  # by hash only; TTL attribute set
    assert int(raw["expires_at"]) == int(now[0]) + 600
    assert store.get("sess-1") == session
    assert store.record_failure("sess-1") == MAX_ATTEMPTS - 1
    assert store.get("sess-1").attempts == 1
    now[0] += 601
    assert store.get("sess-1") is None  # expired, even before the TTL sweeps it
    now[0] -= 601
    assert store.delete("sess-1") is True and store.delete("sess-1") is False  # single use
    assert store.get("sess-1") is None and store.record_failure("sess-1") == 0


def test_a_claim_code_texted_through_sns_is_redeemed_on_the_farm_table(aws, function_env):
    from moto.backends import get_backend
    from moto.core import DEFAULT_ACCOUNT_ID

    from agri_common.farm_table import keys
    from agri_common.farm_table.records import FpoRecord
    from agri_common.single_table import Put
    from agri_common.sms import SnsSms
    from functions.farmers import models as m
    from functions.farmers.claiming import ClaimRequest, ClaimService, IssueClaimCodeRequest
    from functions.farmers.context import FarmContext
    from functions.farmers.logic import FarmerService

    env = function_env("farmers")
    store = DynamoTableStore(env["FARM_TABLE"])
    ctx = FarmContext(store=store, aadhaar_key=lambda: b"k")
    store.transact(
        [
            Put(
                FpoRecord(
                    fpo_id="FPO-1", name="One", state="Punjab", created_by="a", created_at="2025-01-01T00:00:00+00:00"
                ).to_item()
            )
        ]
    )
    manager = Principal(user_id="mgr", username="mgr", role=Role.FPO_MANAGER, fpo_id="FPO-1")
    body = {
        "name": "Asha",
        "phone": "9876543210",
        "village": "Rampur",
        "district": "Patiala",
        "state": "Punjab",
        "fpo_id": "FPO-1",
        "consent": {"given": True, "version": "v1", "at": "2025-06-01T10:00:00+05:30"},
    }
    farmer = FarmerService(ctx).register(manager, m.RegisterFarmerRequest.model_validate(body))
    issued = ClaimService(ctx, SnsSms()).issue(manager, farmer.farmer_id, IssueClaimCodeRequest(send_sms=True))
    sms = get_backend("sns")[DEFAULT_ACCOUNT_ID]["ap-south-1"].sms_messages
    ((phone, message),) = sms.values()
    assert phone == "+919876543210" and issued.code in message
    account = Principal(user_id="acct-1", username="asha", role=Role.FARMER)
    claimed = ClaimService(ctx).claim(account, farmer.farmer_id, ClaimRequest(code=issued.code))
    assert claimed.owner_user_id == "acct-1"
    assert store.get(keys.owner("acct-1"))["farmer_id"] == farmer.farmer_id
    assert store.get(keys.claim_code(farmer.farmer_id))["used_by"] == "farmer:acct-1"
