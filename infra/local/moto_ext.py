"""What moto 5.2.5 lacks or does too slowly, mended in the emulator (not in our code).

- Cognito user-existence errors: with ``PreventUserExistenceErrors: ENABLED`` on the app client (ours
  sets it), AWS answers ConfirmSignUp and ConfirmForgotPassword for an unknown user with
  CodeMismatchException, as for a wrong code. moto answers UserNotFoundException and
  ResourceNotFoundException (which our API would report as a 404 and a 503).
- Cognito RespondToAuthChallenge with a session Cognito does not know (expired, made up): AWS
  answers NotAuthorizedException ("Invalid session for the user"); moto answers
  ResourceNotFoundException, which our API rightly reports as a 503 (on AWS it means the pool or
  client is gone). Here an unknown session is a NotAuthorizedException, as on AWS.
- Cognito RevokeToken: AWS invalidates the refresh token and the tokens minted from it. Here the
  refresh token is marked revoked exactly as moto's own GlobalSignOut does, so REFRESH_TOKEN_AUTH
  with it fails with NotAuthorizedException afterwards.
- Cognito confidential app clients: AWS refuses SignUp, ConfirmSignUp, ForgotPassword,
  ConfirmForgotPassword, InitiateAuth and RespondToAuthChallenge without the client's SecretHash,
  and RevokeToken without its ClientSecret. moto checks only SRP, refresh and SOFTWARE_TOKEN_MFA,
  so a password alone would sign anyone in around our routes. Here every one of those is checked
  (NotAuthorizedException, as on AWS); clients without a secret are untouched (decision 0023).
- Step Functions StopExecution: AWS ends the execution at once (``ABORTED``, ``stopDate``) wherever
  it is. moto's interpreter only asks its worker to stop, which it notices between states: an
  execution waiting for a task token (the auditor's decision) stayed ``RUNNING`` for ever. Here a
  stop that the worker did not reflect marks the execution aborted, as AWS reports it.
- Cognito TOTP: moto gives every user the same fixed secret and, unless an environment variable is
  set, accepts any code. Here AssociateSoftwareToken draws a fresh random secret per user (160 bits,
  base32, as AWS), and VerifySoftwareToken and the SOFTWARE_TOKEN_MFA answer of
  RespondToAuthChallenge check the code against *that user's* secret (RFC 6238: SHA-1, 6 digits,
  30 s, one step of clock drift either way). A wrong code is CodeMismatchException, as on AWS; a
  new association replaces a pending secret, never an enrolled one until it is verified.
- DynamoDB TransactWriteItems: moto backs up a table by deep-copying the *whole table once per
  item of the transaction*, so a 90-item transaction on a 10,000-item table copies 900,000 items
  and every write-heavy flow (ledger appends, offline sync, pipeline steps) slows quadratically as
  tables grow. The replacement keeps moto's semantics (same checks in the same order, the same
  errors, all-or-nothing) but snapshots only the items the transaction touches and restores just
  those on failure.
- DynamoDB Query: moto answers every Query by walking (and sorting) every item of the table, so
  reading a farm table through its indexes costs O(table) per Query. ``query`` below runs moto's
  own query code (same order, pagination, filters, projections, counts) but hands it, as the
  table's items, only the candidates that share the queried hash key: for a table query the
  partition itself, for an index query a bucket of a lazily built map (hash-key values -> items).
  The map belongs to one table and is rebuilt after the table changes: every mutation path
  (Table.put_item/delete_item, DynamoDBBackend.update_item, which edits items in place, and the
  rollback of our transactions) stamps the table with a new version, and a map is served only for
  the version it was built at. Batch writes, transactions, PartiQL and imports all go through
  those methods; moto's own transaction rollback swaps in deep copies, whose maps were copied with
  their items.
"""

from __future__ import annotations

import copy
import itertools
import threading
from typing import Any


def install() -> None:
    _install_totp()
    _install_revoke_token()
    _install_client_secret_checks()
    _install_user_existence_errors()
    _install_session_errors()
    _install_fast_transactions()
    _install_index_queries()
    _install_stop_waiting_execution()


def _install_fast_transactions() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_agri_fast_transactions", False):
        return
    transact_write_items._agri_moto = DynamoDBBackend.transact_write_items  # see _moto_method
    DynamoDBBackend.transact_write_items = transact_write_items
    DynamoDBBackend._agri_fast_transactions = True


def transact_write_items(self, transact_items: list[dict[str, Any]]) -> None:
    """moto's ``DynamoDBBackend.transact_write_items`` with an item-level undo log."""
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    undo: list[tuple[Any, Any, Any, Any]] = []  # (table, hash, range, item before the transaction or None)
    targets: set[tuple[str, str]] = set()

    def rollback() -> None:
        for table, hash_key, range_key, before in reversed(undo):
            _touch(table)  # writes behind moto's methods; a query on another thread may have mapped the change
            if range_key is not None:
                if before is None:
                    table.items[hash_key].pop(range_key, None)
                else:
                    table.items[hash_key][range_key] = before
            elif before is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = before

    errors: list[tuple[Any, Any, Any]] = []
    for item in transact_items:
        original_item = None
        if len(list(item.keys())) > 1:
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            table = self.get_table(table_name)
            condition = op.get("ConditionExpression")
            names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            if op_type == "Put":
                attrs = op["Item"]
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            target = (str(table_name), str(dict(sorted(key.items()))))
            if target in targets:
                raise MultipleTransactionsException()
            targets.add(target)

            current = self.get_item(table_name, key)
            if condition is not None:
                if not get_filter_expression(condition, names, values).expr(current):
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)
            if op_type != "ConditionCheck":
                hash_key, range_key = self.get_keys_value(table, key)
                undo.append(
                    (table, hash_key, range_key if table.range_key_attr is not None else None, copy.deepcopy(current))
                )
            if op_type == "Put":
                self.put_item(
                    table_name,
                    op["Item"],
                    condition_expression=condition,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Delete":
                self.delete_item(
                    table_name,
                    key,
                    condition_expression=condition,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Update":
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    condition_expression=condition,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            rollback()
            raise
        except ConditionalCheckFailed as exc:
            errors.append(("ConditionalCheckFailed", str(exc.message), original_item))
        except Exception as exc:
            errors.append((type(exc).__name__, str(exc), original_item))
    if any(code is not None for code, _, _ in errors):
        rollback()
        raise TransactionCanceledException(errors)


# ---- Query without walking the table ------------------------------------------------------------
_VERSIONS = itertools.count(1)  # process-wide, so a version never repeats (a fresh table is 0)
_restricted = threading.local()  # (table, candidates) while moto's query runs on this thread


def _touch(table: Any) -> None:
    """Mark the table changed: its index maps are rebuilt before they are next used."""
    table._agri_version = next(_VERSIONS)


def _moto_method(cls: type, name: str) -> Any:
    """moto's own method, also after install() replaced it."""
    method = getattr(cls, name)
    return getattr(method, "_agri_moto", method)


def _install_index_queries() -> None:
    from moto.dynamodb.models.table import Table

    if getattr(Table, "_agri_index_queries", False):
        return
    for cls, name, replacement in index_query_patches():
        setattr(cls, name, replacement)
    Table._agri_index_queries = True


def index_query_patches() -> list[tuple[type, str, Any]]:
    """(class, attribute, replacement) for the accelerated Query; the tests apply them one by one."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    def wrap(original: Any, replacement: Any) -> Any:
        replacement._agri_moto = original
        replacement.__doc__ = f"moto's {original.__qualname__}, accelerated by infra/local/moto_ext.py"
        return replacement

    def touching_table(original: Any) -> Any:
        def method(self, *args: Any, **kwargs: Any) -> Any:
            try:
                return original(self, *args, **kwargs)
            finally:
                _touch(self)

        return wrap(original, method)

    def touching_backend(original: Any) -> Any:
        def method(self, table_name: str, *args: Any, **kwargs: Any) -> Any:
            try:
                return original(self, table_name, *args, **kwargs)
            finally:  # also after a failure: an update may have edited the item before failing
                try:
                    _touch(self.get_table(table_name))
                except Exception:
                    pass

        return wrap(original, method)

    moto_all_items, moto_query = _moto_method(Table, "all_items"), _moto_method(Table, "query")

    def all_items(self) -> list[Any]:
        restricted = getattr(_restricted, "value", None)
        if restricted is not None and restricted[0] is self:
            return list(restricted[1])
        return moto_all_items(self)

    def query(
        self,
        hash_key,
        range_comparison,
        range_objs,
        limit,
        exclusive_start_key,
        scan_index_forward,
        projection_expressions,
        index_name=None,
        consistent_read=False,
        filter_expression=None,
        hash_key_conditions=None,
        range_key_conditions=None,
        **filter_kwargs,
    ):
        candidates = _candidates(self, moto_all_items, hash_key, index_name, hash_key_conditions)
        args = (
            self,
            hash_key,
            range_comparison,
            range_objs,
            limit,
            exclusive_start_key,
            scan_index_forward,
            projection_expressions,
            index_name,
            consistent_read,
            filter_expression,
        )
        kwargs = dict(
            hash_key_conditions=hash_key_conditions, range_key_conditions=range_key_conditions, **filter_kwargs
        )
        if candidates is None:
            return moto_query(*args, **kwargs)
        previous, _restricted.value = getattr(_restricted, "value", None), (self, candidates)
        try:
            return moto_query(*args, **kwargs)
        finally:
            _restricted.value = previous

    patches = [(Table, "all_items", wrap(moto_all_items, all_items)), (Table, "query", wrap(moto_query, query))]
    for cls, name, touching in (
        (Table, "put_item", touching_table),
        (Table, "delete_item", touching_table),
        (DynamoDBBackend, "update_item", touching_backend),
    ):
        patches.append((cls, name, touching(_moto_method(cls, name))))
    return patches


def _candidates(
    table: Any,
    moto_all_items: Any,
    hash_key: Any,
    index_name: str | None,
    hash_key_conditions: list[tuple[str, Any]] | None,
) -> list[Any] | None:
    """A superset, in moto's all_items order, of the items moto's query would keep; None: let moto walk."""
    if not index_name:
        if hash_key is None:
            return None
        partition = table.items.get(hash_key)  # .get: table.items is a defaultdict
        if partition is None:
            return []
        return sorted(partition.values(), key=lambda i: i.range_key) if table.range_key_attr else [partition]
    if not hash_key_conditions or index_name not in {i.name for i in table.all_indexes()}:
        return None  # moto raises its own errors for these
    names = tuple(name for name, _ in hash_key_conditions)
    buckets = _index_map(table, moto_all_items, names)
    if buckets is None:
        return None
    try:
        return buckets.get(tuple(value for _, value in hash_key_conditions), [])
    except TypeError:  # an unhashable key value: moto's walk decides
        return None


def _index_map(table: Any, moto_all_items: Any, names: tuple[str, ...]) -> dict[tuple, list[Any]] | None:
    """Hash-key values -> items (sparse: items missing a key attribute are in no bucket), per version.

    Keyed by the hash-key attribute names rather than the index name, since that is all moto's
    candidate test looks at; moto itself then drops items missing the index's range key."""
    version = getattr(table, "_agri_version", 0)
    maps = table.__dict__.setdefault("_agri_index_maps", {})
    cached = maps.get(names)
    if cached is not None and cached[0] == version:
        return cached[1]
    buckets: dict[tuple, list[Any]] | None = {}
    for item in moto_all_items(table):
        values = tuple(item.attrs.get(name) for name in names)
        if not all(values):  # moto's test: `not item_value` excludes the item
            continue
        try:
            buckets.setdefault(values, []).append(item)
        except TypeError:  # an unhashable value (a map as a key?): no map for this version
            buckets = None
            break
    maps[names] = (version, buckets)
    return buckets


def _install_revoke_token() -> None:
    from moto.cognitoidp.models import cognitoidp_backends
    from moto.cognitoidp.responses import CognitoIdpResponse

    if getattr(CognitoIdpResponse, "_agri_revoke_token", False):
        return

    def revoke_token(self):
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


# What each app-client action must prove with a confidential client (decision 0023): the
# SecretHash of a named user, or (RevokeToken) the client secret itself. moto checks SECRET_HASH
# only on SRP, refresh and SOFTWARE_TOKEN_MFA; AWS checks it on every one of these.
_SECRET_HASH_PARAMS: dict[str, tuple[str, str]] = {
    "sign_up": ("SecretHash", "Username"),
    "confirm_sign_up": ("SecretHash", "Username"),
    "forgot_password": ("SecretHash", "Username"),
    "confirm_forgot_password": ("SecretHash", "Username"),
}


def _install_client_secret_checks() -> None:
    from moto.cognitoidp.exceptions import NotAuthorizedError
    from moto.cognitoidp.models import cognitoidp_backends
    from moto.cognitoidp.responses import CognitoIdpResponse
    from moto.cognitoidp.utils import check_secret_hash

    if getattr(CognitoIdpResponse, "_agri_client_secret", False):
        return

    def app_client(client_id: str) -> Any:
        for account in cognitoidp_backends.values():
            for backend in account.values():
                for pool in backend.user_pools.values():
                    if client_id in pool.clients:
                        return pool.clients[client_id]
        return None

    def proof(response: Any, action: str) -> tuple[str | None, str | None, bool]:
        """(username, secret hash, is the secret itself) that ``action`` carries, or Nones."""
        if action in _SECRET_HASH_PARAMS:
            hash_param, user_param = _SECRET_HASH_PARAMS[action]
            return response._get_param(user_param), response._get_param(hash_param), False
        if action == "initiate_auth":
            if response._get_param("AuthFlow") != "USER_PASSWORD_AUTH":
                return None, None, False  # moto checks SRP and refresh itself
            params = response._get_param("AuthParameters") or {}
            return params.get("USERNAME", ""), params.get("SECRET_HASH"), False
        if action == "respond_to_auth_challenge":
            params = response._get_param("ChallengeResponses") or {}
            return params.get("USERNAME", ""), params.get("SECRET_HASH"), False
        return None, response._get_param("ClientSecret"), True  # revoke_token

    def checked(action: str, original: Any) -> Any:
        def guarded(self: Any) -> Any:
            client = app_client(self._get_param("ClientId"))
            if client is not None and client.generate_secret:
                username, given, is_secret = proof(self, action)
                ok = (
                    given == client.secret
                    if is_secret
                    else username is None or check_secret_hash(client.secret, client.id, username, given)
                )
                if not ok:
                    raise NotAuthorizedError(f"Unable to verify secret hash for client {client.id}")
            return original(self)

        return guarded

    for action in (*_SECRET_HASH_PARAMS, "initiate_auth", "respond_to_auth_challenge", "revoke_token"):
        setattr(CognitoIdpResponse, action, checked(action, getattr(CognitoIdpResponse, action)))
    CognitoIdpResponse._agri_client_secret = True


def _install_session_errors() -> None:
    from moto.cognitoidp.exceptions import NotAuthorizedError
    from moto.cognitoidp.models import CognitoIdpBackend

    if getattr(CognitoIdpBackend, "_agri_session_errors", False):
        return
    original = CognitoIdpBackend.respond_to_auth_challenge

    def respond_to_auth_challenge(
        self: Any, session: str, client_id: str, challenge_name: str, challenge_responses: dict[str, str]
    ) -> Any:
        known = (
            challenge_responses.get("PASSWORD_CLAIM_SECRET_BLOCK") if challenge_name == "PASSWORD_VERIFIER" else session
        )
        if known not in self.sessions:
            raise NotAuthorizedError("Invalid session for the user.")
        return original(self, session, client_id, challenge_name, challenge_responses)

    CognitoIdpBackend.respond_to_auth_challenge = respond_to_auth_challenge
    CognitoIdpBackend._agri_session_errors = True


def _install_user_existence_errors() -> None:
    from moto.cognitoidp.exceptions import CodeMismatchException
    from moto.cognitoidp.models import CognitoIdpBackend

    if getattr(CognitoIdpBackend, "_agri_user_existence", False):
        return

    def hides_unknown_users(self, client_id: str, username: str) -> bool:
        for pool in self.user_pools.values():
            client = pool.clients.get(client_id)
            if client is not None:
                hidden = client.extended_config.get("PreventUserExistenceErrors") == "ENABLED"
                return hidden and pool._get_user(username) is None
        return False

    def guarded(original: Any) -> Any:
        def method(self, client_id: str, username: str, *args: Any, **kwargs: Any) -> Any:
            if hides_unknown_users(self, client_id, username):
                raise CodeMismatchException("Invalid verification code provided, please try again.")
            return original(self, client_id, username, *args, **kwargs)

        return method

    CognitoIdpBackend.confirm_sign_up = guarded(CognitoIdpBackend.confirm_sign_up)
    CognitoIdpBackend.confirm_forgot_password = guarded(CognitoIdpBackend.confirm_forgot_password)
    CognitoIdpBackend._agri_user_existence = True


def _install_stop_waiting_execution() -> None:
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.backend.execution import Execution

    if getattr(Execution, "_agri_stop", False):
        return
    original = Execution.stop

    def stop(self: Any, stop_date: Any, error: str | None, cause: str | None) -> None:
        original(self, stop_date, error, cause)
        if self.exec_status == ExecutionStatus.RUNNING:  # waiting (a task token): the worker never looks
            self.exec_status = ExecutionStatus.ABORTED
            self.stop_date = stop_date
            self.error, self.cause = error, cause

    Execution.stop = stop
    Execution._agri_stop = True


TOTP_SECRET_BYTES = 20


def totp_code(secret: str, at: float) -> str:
    """The RFC 6238 code of a base32 ``secret`` at epoch ``at`` (what an authenticator app shows)."""
    import base64

    from cryptography.hazmat.primitives.hashes import SHA1
    from cryptography.hazmat.primitives.twofactor.totp import TOTP

    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    return TOTP(key, 6, SHA1(), 30, enforce_key_length=False).generate(int(at)).decode()


def totp_matches(secret: str | None, code: str, now: float) -> bool:
    import hmac

    if not secret or not code:
        return False
    return any(hmac.compare_digest(totp_code(secret, now + drift * 30), code) for drift in (-1, 0, 1))


def _install_totp() -> None:
    import base64
    import secrets
    import time

    from moto.cognitoidp.exceptions import CodeMismatchException, NotAuthorizedError
    from moto.cognitoidp.models import CognitoIdpBackend

    if getattr(CognitoIdpBackend, "_agri_totp", False):
        return
    original_challenge = CognitoIdpBackend.respond_to_auth_challenge

    def user_of(self: Any, access_token: str, session: str) -> Any:
        if session:
            if session not in self.sessions:
                raise NotAuthorizedError("Invalid session for the user.")
            username, pool = self.sessions[session]
            return self.admin_get_user(pool.id, username)
        for pool in self.user_pools.values():
            if access_token in pool.access_tokens:
                return self.admin_get_user(pool.id, pool.access_tokens[access_token][1])
        raise NotAuthorizedError("Invalid token")

    def associate_software_token(self: Any, access_token: str, session: str) -> dict[str, str]:
        user = user_of(self, access_token, session)
        user.agri_totp_pending = base64.b32encode(secrets.token_bytes(TOTP_SECRET_BYTES)).decode().rstrip("=")
        return {"SecretCode": user.agri_totp_pending, **({"Session": session} if session else {})}

    def verify_software_token(
        self: Any, access_token: str, session: str, user_code: str, friendly_device_name: str
    ) -> dict[str, str]:
        user = user_of(self, access_token, session)
        pending = getattr(user, "agri_totp_pending", None)
        if not totp_matches(pending, user_code, time.time()):
            raise CodeMismatchException("Invalid code received for user")
        user.agri_totp_secret, user.agri_totp_pending = pending, None
        user.token_verified = True
        return {"Status": "SUCCESS"}

    def respond_to_auth_challenge(
        self: Any, session: str, client_id: str, challenge_name: str, challenge_responses: dict[str, str]
    ) -> Any:
        if challenge_name == "SOFTWARE_TOKEN_MFA" and session in self.sessions:
            username, pool = self.sessions[session]
            user = self.admin_get_user(pool.id, username)
            if challenge_responses.get("USERNAME", "").casefold() != username.casefold():
                raise NotAuthorizedError("Invalid session for the user.")  # moto would log USERNAME in
            code = challenge_responses.get("SOFTWARE_TOKEN_MFA_CODE", "")
            if not totp_matches(getattr(user, "agri_totp_secret", None), code, time.time()):
                raise CodeMismatchException("Invalid code or auth state for the user.")
        return original_challenge(self, session, client_id, challenge_name, challenge_responses)

    CognitoIdpBackend.associate_software_token = associate_software_token
    CognitoIdpBackend.verify_software_token = verify_software_token
    CognitoIdpBackend.respond_to_auth_challenge = respond_to_auth_challenge
    CognitoIdpBackend._agri_totp = True
