"""Who is told of an event, and how to reach them (docs/decisions/0014 lists the events).

| events | recipients |
| --- | --- |
| run_awaiting_auditor, auditor_heartbeat_lapsing | the project's assigned auditors |
| run_approved, run_sent_back | admins and the managers of the project's FPOs |
| run_failed, anchoring_stuck, anchoring_conflict | admins |
| credits_issued, membership_approved, membership_rejected | the farmer: their account (in-app, email) and their profile's phone (SMS) |
| membership_requested | the managers of the FPO |
| credits_transferred, credits_retired | the accounts the event names (the credits' owner) |

Every event's ``user_ids`` are told too. Accounts come from Cognito (contact attributes and role
groups), assignments from the pipeline table, farmers from the farm table: read only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from agri_common import pipeline_table
from agri_common.farm_table import keys as farm_keys
from agri_common.farm_table.records import FarmerRecord
from agri_common.notify import NotificationEvent
from agri_common.platform.identity import IdpUser
from agri_common.platform.principal import FPO_CLAIM
from agri_common.single_table import TableStore
from functions.notifications.store import farmer_recipient, user_recipient

AUDITORS = frozenset({"run_awaiting_auditor", "auditor_heartbeat_lapsing"})
ADMINS_AND_MANAGERS = frozenset({"run_approved", "run_sent_back"})
ADMINS = frozenset({"run_failed", "anchoring_stuck", "anchoring_conflict"})
FARMER = frozenset({"credits_issued", "membership_approved", "membership_rejected"})
MANAGERS = frozenset({"membership_requested"})


@dataclass(frozen=True)
class Contact:
    recipient: str  # store.user_recipient / store.farmer_recipient
    user_id: str | None = None  # an account (in-app items, preferences)
    phone: str | None = None
    email: str | None = None
    language: str | None = None  # a hint without preferences: the farmer profile's language, Cognito's locale


class Directory(Protocol):
    def users_in_group(self, group: str) -> list[IdpUser]: ...
    def user_by_id(self, user_id: str) -> IdpUser | None: ...


class CognitoDirectory:
    def __init__(self, user_pool_id: str):
        self.user_pool_id = user_pool_id

    def _client(self) -> Any:
        from agri_common.platform.aws import client

        return client("cognito-idp")

    def users_in_group(self, group: str) -> list[IdpUser]:
        from agri_common.platform.identity import CognitoIdentityProvider

        users: list[IdpUser] = []
        kwargs: dict[str, Any] = {"UserPoolId": self.user_pool_id, "GroupName": group, "Limit": 60}
        while True:
            resp = self._client().list_users_in_group(**kwargs)
            users.extend(CognitoIdentityProvider._user(u) for u in resp.get("Users", []))
            if not resp.get("NextToken"):
                return users
            kwargs["NextToken"] = resp["NextToken"]

    def user_by_id(self, user_id: str) -> IdpUser | None:
        from agri_common.platform.identity import CognitoIdentityProvider

        if '"' in user_id or "\\" in user_id:
            return None
        resp = self._client().list_users(UserPoolId=self.user_pool_id, Filter=f'sub = "{user_id}"', Limit=1)
        found = resp.get("Users") or []
        return CognitoIdentityProvider._user(found[0]) if found else None


def account_contact(user: IdpUser) -> Contact | None:
    if not user.enabled or not user.user_id:
        return None
    a = user.attributes
    return Contact(
        recipient=user_recipient(user.user_id),
        user_id=user.user_id,
        phone=a.get("phone_number") if a.get("phone_number_verified", "true") != "false" else None,
        email=a.get("email") if a.get("email_verified", "true") != "false" else None,
        language=(a.get("locale") or "")[:2] or None,
    )


class Recipients:
    def __init__(self, directory: Directory, pipeline: TableStore, farm: TableStore):
        self.directory = directory
        self.pipeline = pipeline
        self.farm = farm

    def resolve(self, event: NotificationEvent) -> list[Contact]:
        found: list[Contact] = []
        kind = event.kind
        if kind in AUDITORS and event.project_id:
            found += self.auditors(event.project_id)
        if kind in ADMINS or kind in ADMINS_AND_MANAGERS:
            found += self.group("admin")
        if kind in ADMINS_AND_MANAGERS and event.project_id:
            found += self.managers(self.project_fpos(event.project_id))
        if kind in MANAGERS and event.fpo_id:
            found += self.managers([event.fpo_id])
        if kind in FARMER and event.farmer_id:
            farmer = self.farmer(event.farmer_id)
            found += [farmer] if farmer else []
        for user_id in event.user_ids:
            user = self.directory.user_by_id(user_id)
            contact = account_contact(user) if user else None
            found += [contact] if contact else []
        return list({c.recipient: c for c in found}.values())  # one notification per recipient

    def group(self, group: str, fpo_ids: Iterable[str] | None = None) -> list[Contact]:
        wanted = None if fpo_ids is None else set(fpo_ids)
        out = []
        for user in self.directory.users_in_group(group):
            if wanted is not None and user.attributes.get(FPO_CLAIM) not in wanted:
                continue
            contact = account_contact(user)
            if contact:
                out.append(contact)
        return out

    def managers(self, fpo_ids: Iterable[str]) -> list[Contact]:
        fpos = list(fpo_ids)
        return self.group("fpo_manager", fpos) if fpos else []

    def auditors(self, project_id: str) -> list[Contact]:
        """The assigned auditors who still hold the auditor role (an assignment outlives a role change)."""
        pk, _ = pipeline_table.project_auditor(project_id, "")
        assigned = [
            pipeline_table.AuditorAssignmentRecord.from_item(i) for i in self._all(self.pipeline, pk, "AUDITOR#")
        ]
        if not assigned:
            return []
        holders = {u.user_id: u for u in self.directory.users_in_group("auditor")}
        contacts = (account_contact(holders[a.user_id]) for a in assigned if a.user_id in holders)
        return [c for c in contacts if c is not None]

    def project_fpos(self, project_id: str) -> list[str]:
        pk, _ = pipeline_table.project_fpo(project_id, "")
        return [pipeline_table.ProjectFpoRecord.from_item(i).fpo_id for i in self._all(self.pipeline, pk, "FPO#")]

    def farmer(self, farmer_id: str) -> Contact | None:
        record = FarmerRecord.from_item(self.farm.get(farm_keys.farmer(farmer_id)))
        if record is None:
            return None
        if record.owner_user_id:
            user = self.directory.user_by_id(record.owner_user_id)
            contact = account_contact(user) if user else None
            if contact:
                return Contact(
                    recipient=contact.recipient,
                    user_id=contact.user_id,
                    phone=record.phone or contact.phone,  # the profile's phone: consented at registration
                    email=contact.email,
                    language=record.preferred_language,
                )
        return Contact(recipient=farmer_recipient(farmer_id), phone=record.phone, language=record.preferred_language)

    @staticmethod
    def _all(store: TableStore, pk: str, prefix: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        start = None
        while True:
            page, start = store.query(pk, prefix=prefix, start=start)
            items.extend(page)
            if not start:
                return items
