"""Cognito operations moto 5.2.5 lacks, added to the emulator (not to our code).

RevokeToken: AWS invalidates the refresh token and the tokens minted from it. Here the refresh
token is marked revoked exactly as moto's own GlobalSignOut does, so REFRESH_TOKEN_AUTH with it
fails with NotAuthorizedException afterwards.
"""

from __future__ import annotations


def install() -> None:
    from moto.cognitoidp.models import cognitoidp_backends
    from moto.cognitoidp.responses import CognitoIdpResponse

    if getattr(CognitoIdpResponse, "_agri_revoke_token", False):
        return

    def revoke_token(self):  # noqa: ANN001 - moto's response signature
        token, client_id = self._get_param("Token"), self._get_param("ClientId")
        for account in cognitoidp_backends.values():
            for backend in account.values():
                for pool in backend.user_pools.values():
                    entry = pool.refresh_tokens.get(token)
                    if entry is not None and entry[0] == client_id:
                        pool.refresh_tokens[token] = None
        return "{}"

    CognitoIdpResponse.revoke_token = revoke_token
    CognitoIdpResponse._agri_revoke_token = True

