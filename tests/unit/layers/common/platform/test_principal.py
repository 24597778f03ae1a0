import pytest

from agri_common.platform.errors import ForbiddenError, NotFoundError, UnauthorizedError
from agri_common.platform.principal import (
    AuditScope,
    Owned,
    Role,
    can_access,
    claim_epoch,
    ensure_can_access,
    list_scope,
    parse_groups,
    principal_from_claims,
    require_role,
    with_audit_scope,
)


def claims(**over):
    base = {
        "sub": "u-1",
        "cognito:username": "ravi",
        "cognito:groups": "farmer",
        "token_use": "id",
        "custom:fpo_id": "FPO-1",
        "jti": "j-1",
        "origin_jti": "o-1",
        "iat": "1700000000",
        "exp": "1700001800",
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize(
    "raw, expected",
    [
        (["farmer"], ["farmer"]),
        ("farmer", ["farmer"]),
        ("[admin, auditor]", ["admin", "auditor"]),
        ('["admin","auditor"]', ["admin", "auditor"]),
        ("admin,auditor", ["admin", "auditor"]),
        (None, []),
        ("", []),
    ],
)
def test_groups_arrive_in_every_shape_api_gateway_uses(raw, expected):
    assert parse_groups(raw) == expected


def test_principal_from_rest_authorizer_claims():
    p = principal_from_claims(claims())
    assert (p.user_id, p.username, p.role, p.fpo_id, p.session_id, p.issued_at) == (
        "u-1",
        "ravi",
        Role.FARMER,
        "FPO-1",
        "o-1",
        1700000000,
    )


def test_rest_authorizer_date_rendering_of_time_claims_is_understood():
    # API Gateway's REST Cognito authorizer renders iat/exp as dates; 1700000000 = Tue Nov 14 22:13:20 UTC 2023
    assert claim_epoch("Tue Nov 14 22:13:20 UTC 2023") == 1700000000
    assert principal_from_claims(claims(iat="Tue Nov 14 22:13:20 UTC 2023")).issued_at == 1700000000
    with pytest.raises(UnauthorizedError):
        claim_epoch("yesterday")


@pytest.mark.parametrize(
    "bad, error",
    [
        ({"sub": None}, UnauthorizedError),
        ({"token_use": "access"}, UnauthorizedError),
        ({"cognito:groups": None}, ForbiddenError),
        ({"cognito:groups": "admin,farmer"}, ForbiddenError),
        ({"cognito:groups": "superuser"}, ForbiddenError),
    ],
)
def test_claims_without_exactly_one_known_role_are_refused(bad, error):
    with pytest.raises(error):
        principal_from_claims(claims(**bad))


def test_no_claims_is_401():
    with pytest.raises(UnauthorizedError):
        principal_from_claims(None)


def who(role, user="u-1", fpo="FPO-1"):
    return principal_from_claims(claims(**{"cognito:groups": role, "sub": user, "custom:fpo_id": fpo}))


RECORD = Owned(owner_user_id="u-1", fpo_id="FPO-1", assigned_auditors=frozenset({"aud-1"}))


@pytest.mark.parametrize(
    "principal, allowed",
    [
        (who("farmer"), True),
        (who("farmer", user="u-2"), False),
        (who("fpo_manager", user="m-1"), True),
        (who("fpo_manager", user="m-2", fpo="FPO-2"), False),
        (who("auditor", user="aud-1", fpo=None), True),
        (who("auditor", user="aud-2", fpo=None), False),
        (who("admin", user="a-1", fpo=None), True),
    ],
)
def test_ownership_policy_for_every_role(principal, allowed):
    assert can_access(principal, RECORD) is allowed


def test_unreadable_records_look_missing():
    with pytest.raises(NotFoundError):
        ensure_can_access(who("farmer", user="u-2"), RECORD)
    with pytest.raises(NotFoundError):
        ensure_can_access(who("admin"), None)
    ensure_can_access(who("farmer"), RECORD)


def test_require_role():
    require_role(who("admin"), Role.ADMIN)
    with pytest.raises(ForbiddenError) as exc:
        require_role(who("farmer"), Role.ADMIN, Role.FPO_MANAGER)
    assert exc.value.code == "role_forbidden"


def test_list_scope_per_role():
    assert list_scope(who("admin")).everything
    assert list_scope(who("farmer")).owner_user_id == "u-1"
    assert list_scope(who("fpo_manager")).fpo_id == "FPO-1"
    assert list_scope(who("auditor", user="aud-1")).auditor_id == "aud-1"
    with pytest.raises(ForbiddenError):
        list_scope(who("fpo_manager", fpo=None))


# ---- auditors: what they are assigned to ------------------------------------------------------------
def audited(projects=(), fpos=(), user="aud-1"):
    return who("auditor", user=user, fpo=None).model_copy(
        update={"audit": AuditScope(project_ids=frozenset(projects), fpo_ids=frozenset(fpos))}
    )


def test_an_auditor_reads_farm_records_of_their_projects_fpos_only():
    farm = Owned(owner_user_id="u-1", fpo_id="FPO-1")
    assert can_access(audited(["prj_1"], ["FPO-1"]), farm)
    assert not can_access(audited(["prj_1"], ["FPO-2"]), farm)
    assert not can_access(audited(), farm)  # loaded, unassigned
    assert not can_access(who("auditor", user="aud-1", fpo=None), farm)  # not loaded: nothing
    assert not can_access(audited(["prj_1"], ["FPO-1"]), Owned(owner_user_id="u-1"))  # no FPO: nothing


def test_an_auditor_reads_project_records_through_the_project_never_the_fpo():
    ledger = Owned(owner_user_id="u-1", fpo_id="FPO-1", project_id="prj_1")
    assert can_access(audited(["prj_1"], ["FPO-1"]), ledger)
    # assigned to another project over the same FPO: the FPO does not open this project's records
    assert not can_access(audited(["prj_2"], ["FPO-1"]), ledger)
    assert ensure_can_access(audited(["prj_1"], []), ledger) is None
    with pytest.raises(NotFoundError):
        ensure_can_access(audited(["prj_2"], ["FPO-1"]), ledger)


def test_other_roles_ignore_an_audit_scope():
    farm = Owned(owner_user_id="u-9", fpo_id="FPO-1", project_id="prj_1")
    manager = who("fpo_manager", user="m-2", fpo="FPO-2").model_copy(
        update={"audit": AuditScope(project_ids=frozenset({"prj_1"}), fpo_ids=frozenset({"FPO-1"}))}
    )
    assert not can_access(manager, farm)


def test_with_audit_scope_reads_once_and_for_auditors_only():
    reads = []

    def load(user_id):
        reads.append(user_id)
        return AuditScope(project_ids=frozenset({"prj_1"}), fpo_ids=frozenset({"FPO-1"}))

    for role in ("farmer", "fpo_manager", "admin"):
        assert with_audit_scope(who(role), load).audit is None
    assert reads == []
    auditor = with_audit_scope(who("auditor", user="aud-1", fpo=None), load)
    assert reads == ["aud-1"] and auditor.audit.fpo_ids == {"FPO-1"}
    assert with_audit_scope(auditor, load) is auditor and reads == ["aud-1"]  # already loaded: no second read
    scope = list_scope(auditor)
    assert (scope.auditor_id, scope.project_ids, scope.fpo_ids) == ("aud-1", {"prj_1"}, {"FPO-1"})
    unloaded = list_scope(who("auditor", user="aud-2", fpo=None))
    assert unloaded.project_ids == frozenset() and unloaded.fpo_ids == frozenset() and not unloaded.everything
