"""What moto 5.2.5 lacks or does too slowly, mended in the emulator (not in our code).

- Cognito RevokeToken: AWS invalidates the refresh token and the tokens minted from it. Here the
  refresh token is marked revoked exactly as moto's own GlobalSignOut does, so REFRESH_TOKEN_AUTH
  with it fails with NotAuthorizedException afterwards.
- DynamoDB TransactWriteItems: moto backs up a table by deep-copying the *whole table once per
  item of the transaction*, so a 90-item transaction on a 10,000-item table copies 900,000 items
  and every write-heavy flow (ledger appends, offline sync, pipeline steps) slows quadratically as
  tables grow. The replacement keeps moto's semantics (same checks in the same order, the same
  errors, all-or-nothing) but snapshots only the items the transaction touches and restores just
  those on failure.
"""

from __future__ import annotations

import copy
from typing import Any


def install() -> None:
    _install_revoke_token()
    _install_fast_transactions()


def _install_fast_transactions() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_agri_fast_transactions", False):
        return
    DynamoDBBackend.transact_write_items = transact_write_items
    DynamoDBBackend._agri_fast_transactions = True


def transact_write_items(self, transact_items: list[dict[str, Any]]) -> None:  # noqa: ANN001 - moto's backend
    """moto's ``DynamoDBBackend.transact_write_items`` with an item-level undo log."""
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed, MockValidationException, MultipleTransactionsException,
        TooManyTransactionsException, TransactionCanceledException, TransactWriteSingleOpException,
    )
    from moto.dynamodb.comparisons import get_filter_expression

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    undo: list[tuple[Any, Any, Any, Any]] = []  # (table, hash, range, item before the transaction or None)
    targets: set[tuple[str, str]] = set()

    def rollback() -> None:
        for table, hash_key, range_key, before in reversed(undo):
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
                undo.append((table, hash_key, range_key if table.range_key_attr is not None else None,
                             copy.deepcopy(current)))
            if op_type == "Put":
                self.put_item(table_name, op["Item"], condition_expression=condition,
                              expression_attribute_names=names, expression_attribute_values=values)
            elif op_type == "Delete":
                self.delete_item(table_name, key, condition_expression=condition,
                                 expression_attribute_names=names, expression_attribute_values=values)
            elif op_type == "Update":
                self.update_item(table_name, key, update_expression=op["UpdateExpression"],
                                 condition_expression=condition, expression_attribute_names=names,
                                 expression_attribute_values=values)
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            rollback()
            raise
        except ConditionalCheckFailed as exc:
            errors.append(("ConditionalCheckFailed", str(exc.message), original_item))
        except Exception as exc:  # noqa: BLE001 - moto reports every other failure as a cancellation reason
            errors.append((type(exc).__name__, str(exc), original_item))
    if any(code is not None for code, _, _ in errors):
        rollback()
        raise TransactionCanceledException(errors)


def _install_revoke_token() -> None:
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

