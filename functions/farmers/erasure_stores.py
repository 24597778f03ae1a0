"""The erasure's stores outside the farm table, on AWS (clients built on first use, never at import).

IAM (infra/domain_constructs/farmers.py): the uploads bucket's ``evidence/`` versions (list, delete),
DeleteItem of ``SALT#`` items only on the ledger table, InvokeFunction of the ledger writer (it unlinks
the account id from the ledger), the revocation table's PutItem, and three Cognito actions on the user
pool (ListUsers to find the account by its id, global sign-out, delete).
"""

from __future__ import annotations

from typing import Any

from agri_common import ledger_table
from agri_common.platform.revocation import RevocationStore
from agri_common.single_table import TableStore
from functions.ledger.models import UnlinkOwnerCommand, WriterEvent
from functions.ledger.writer_client import LambdaWriterGateway
from functions.notifications.store import NotificationStore, erase_farmer, erase_user


class S3EvidenceFiles:
    """:class:`functions.farmers.erasure.EvidenceFiles` on the (versioned) uploads bucket: every
    version and delete marker under the prefix goes, so no old version keeps a photo."""

    def __init__(self, bucket: str):
        self.bucket = bucket

    def delete_prefix(self, prefix: str) -> int:
        from agri_common.platform.aws import client

        s3 = client("s3")
        deleted = 0
        while True:  # listed again after each page deleted: the listing shrinks to nothing
            resp = s3.list_object_versions(Bucket=self.bucket, Prefix=prefix, MaxKeys=1000)
            versions: list[dict[str, Any]] = [*resp.get("Versions", []), *resp.get("DeleteMarkers", [])]
            if not versions:
                return deleted
            for start in range(0, len(versions), 1000):
                chunk = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in versions[start : start + 1000]]
                out = s3.delete_objects(Bucket=self.bucket, Delete={"Objects": chunk, "Quiet": True})
                if out.get("Errors"):
                    raise RuntimeError(f"S3 refused to delete {len(out['Errors'])} evidence versions")
                deleted += len(chunk)


class DynamoLedgerSalts:
    """:class:`functions.farmers.erasure.LedgerSalts` on the ledger table (the salt's key is spelled
    once, in agri_common.ledger_table)."""

    def __init__(self, table_name: str):
        self.table_name = table_name

    def shred_salt(self, farmer_id: str) -> None:
        from agri_common.platform.aws import dynamodb_table
        from agri_common.platform.clock import utc_iso_seconds_z

        dynamodb_table(self.table_name).update_item(
            Key=dict(ledger_table.salt_key(farmer_id)),
            UpdateExpression="REMOVE #salt SET #erased = if_not_exists(#erased, :now)",
            ExpressionAttributeNames={"#salt": ledger_table.SALT_ATTR, "#erased": ledger_table.SALT_ERASED_ATTR},
            ExpressionAttributeValues={":now": utc_iso_seconds_z()},
        )


class WriterLedgerOwners:
    """:class:`functions.farmers.erasure.LedgerOwners` through the ledger writer, the only role that writes
    the ledger table (its ``unlink_owner`` command: functions/ledger/unlinking.py; functions/ledger
    travels in this function's asset, infra/bundling.SHARED_CODE). A call unlinks a bounded number of
    records; it is asked again until done, at most :attr:`MAX_CALLS` times per erasure request."""

    MAX_CALLS = 10

    def __init__(self, function_name: str):
        self.writer = LambdaWriterGateway(function_name)

    def unlink_owner(self, user_id: str) -> None:
        event = WriterEvent(command="unlink_owner", unlink_owner=UnlinkOwnerCommand(user_id=user_id))
        for _ in range(self.MAX_CALLS):
            unlinked = self.writer.submit(event).unlinked
            if unlinked is None:
                raise RuntimeError("The ledger writer does not know unlink_owner (an older writer?)")
            if unlinked.done:
                return
        raise RuntimeError("The ledger still names the account after the calls of one request; the next resumes")


class CognitoAccounts:
    """:class:`functions.farmers.erasure.Accounts` on the user pool: the tokens already issued are
    revoked (our routes check the revocation store), refresh tokens signed out, the user deleted."""

    def __init__(self, user_pool_id: str, revocation: RevocationStore):
        self.user_pool_id = user_pool_id
        self.revocation = revocation

    def erase_account(self, user_id: str) -> None:
        from agri_common.platform.aws import client

        self.revocation.revoke_user_tokens(user_id)
        cognito = client("cognito-idp")
        escaped = user_id.replace("\\", "\\\\").replace('"', '\\"')
        users = cognito.list_users(UserPoolId=self.user_pool_id, Filter=f'sub = "{escaped}"', Limit=1).get("Users", [])
        for user in users:
            username = user["Username"]
            try:
                cognito.admin_user_global_sign_out(UserPoolId=self.user_pool_id, Username=username)
                cognito.admin_delete_user(UserPoolId=self.user_pool_id, Username=username)
            except cognito.exceptions.UserNotFoundException:  # deleted concurrently: done
                pass


class FarmTableNotifications:
    """The notifications domain's items in the farm table, erased through that domain's own store
    (functions/notifications travels in this function's asset: infra/bundling.SHARED_CODE)."""

    def __init__(self, store: TableStore):
        self.notifications = NotificationStore(store)

    def erase_farmer(self, farmer_id: str) -> int:
        return erase_farmer(farmer_id, store=self.notifications)

    def erase_user(self, user_id: str) -> int:
        return erase_user(user_id, store=self.notifications)
