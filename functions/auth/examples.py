"""Request examples of the auth routes (in the OpenAPI document through each model's
``json_schema_extra``; tests/unit/test_examples.py validates each against its model and route)."""

from pydantic.config import JsonDict

PASSWORD = "Khet-Sona-2025!"  # 12+ characters with upper, lower, digit and symbol, as the pool requires
REGISTER: JsonDict = {
    "username": "asha.devi",
    "password": PASSWORD,
    "name": "Asha Devi",
    "phone_number": "+919988776655",
    "preferred_language": "hi-IN",
}
CONFIRM_REGISTRATION: JsonDict = {"username": "asha.devi", "code": "123456"}
LOGIN: JsonDict = {"username": "asha.devi", "password": PASSWORD}
CHALLENGE: JsonDict = {
    "challenge_name": "NEW_PASSWORD_REQUIRED",
    "session": "AYABeD-session-from-the-login-answer",
    "username": "asha.devi",
    "new_password": "Naya-Khet-2025!",
}
LOGOUT: JsonDict = {"refresh_token": "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIn0.the-refresh-token-from-login"}
REFRESH: JsonDict = {**LOGOUT, "username": "asha.devi"}
FORGOT_PASSWORD: JsonDict = {"username": "asha.devi"}
CONFIRM_FORGOT_PASSWORD: JsonDict = {"username": "asha.devi", "code": "123456", "new_password": "Naya-Khet-2025!"}
MFA_SETUP: JsonDict = {"access_token": "eyJraWQiOiJrMSIsImFsZyI6IlJTMjU2In0.the-access-token-from-login"}
MFA_VERIFY: JsonDict = {"session": "x4Jm2vQ9-the-session-from-the-MFA_SETUP-answer", "totp_code": "492039"}
TOTP_CHALLENGE: JsonDict = {
    "challenge_name": "SOFTWARE_TOKEN_MFA",
    "session": "AYABeD-session-from-the-login-answer",
    "username": "asha.devi",
    "totp_code": "492039",
}
