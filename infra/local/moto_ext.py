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


_LAMBDA_TARGETS: dict[str, object] = {}


def route_lambda_invocations(functions: dict[str, object]) -> None:
    """Point moto's Lambda Invoke at our own handlers, imported in this process.

    moto's Docker-free Lambda backend does not run code (it echoes the payload). Step Functions
    tasks (``lambda:invoke``) and any ``lambda.invoke`` call reach moto's server; here the function
    name (or ARN) is looked up among the template's functions and the real handler runs, one event
    at a time as on Lambda. An exception becomes ``FunctionError: Unhandled`` with Lambda's error
    payload, so Step Functions' Retry/Catch see what they would see on AWS. Unknown functions keep
    moto's behaviour.
    """
    import json
    import traceback

    from moto.awslambda_simple.models import LambdaSimpleBackend

    _LAMBDA_TARGETS.clear()
    _LAMBDA_TARGETS.update(functions)
    if getattr(LambdaSimpleBackend, "_agri_routed", False):
        return
    original = LambdaSimpleBackend.invoke

    def invoke(self, function_name, qualifier, body, headers, response_headers):  # noqa: ANN001 - moto's signature
        name = function_name.split(":function:")[-1].split(":")[0]
        target = _LAMBDA_TARGETS.get(name)
        if target is None:
            return original(self, function_name, qualifier, body, headers, response_headers)
        event = json.loads(body) if body else {}
        try:
            result = target.invoke(event)
        except Exception as exc:  # noqa: BLE001 - reported to the caller as Lambda does
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorMessage": str(exc), "errorType": type(exc).__name__,
                               "stackTrace": traceback.format_exception(exc)[-3:]}).encode()
        return json.dumps(result).encode()

    LambdaSimpleBackend.invoke = invoke
    LambdaSimpleBackend._agri_routed = True
