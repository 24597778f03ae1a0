from agri_common.platform.principal import principal_from_claims
from agri_common.platform.revocation import InMemoryRevocationStore


def principal(iat=1000, session="o-1", jti="j-1"):
    c = {"sub": "u-1", "cognito:groups": "farmer", "iat": iat, "jti": jti}
    if session:
        c["origin_jti"] = session
    return principal_from_claims(c)


def test_logout_revokes_every_token_of_the_session_only():
    store = InMemoryRevocationStore()
    store.revoke_session(principal())
    assert store.is_revoked(principal(jti="j-2"))  # another token minted from the same refresh token
    assert not store.is_revoked(principal(session="o-2"))  # another device's session


def test_token_without_session_is_revoked_by_its_own_id():
    store = InMemoryRevocationStore()
    store.revoke_session(principal(session=None))
    assert store.is_revoked(principal(session=None))
    assert not store.is_revoked(principal(session=None, jti="j-9"))


def test_user_cutoff_refuses_tokens_issued_at_or_before_it():
    store = InMemoryRevocationStore(clock=lambda: 1500)
    store.revoke_user_tokens("u-1")
    assert store.is_revoked(principal(iat=1500))
    assert store.is_revoked(principal(iat=1000))
    assert not store.is_revoked(principal(iat=1501))
