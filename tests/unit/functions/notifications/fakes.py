"""Fakes of the notification function's ports: a Cognito directory, SMS and email senders."""

from __future__ import annotations

from agri_common.platform.identity import IdpUser


class FakeDirectory:
    def __init__(self) -> None:
        self.users: dict[str, IdpUser] = {}  # by sub
        self.groups: dict[str, set[str]] = {}  # group -> subs

    def add(self, sub: str, group: str, *, fpo_id: str | None = None, **attributes: str) -> IdpUser:
        attrs = {"sub": sub, **attributes}
        if fpo_id:
            attrs["custom:fpo_id"] = fpo_id
        user = IdpUser(username=f"user-{sub}", user_id=sub, attributes=attrs)
        self.users[sub] = user
        self.groups.setdefault(group, set()).add(sub)
        return user

    def users_in_group(self, group: str) -> list[IdpUser]:
        return [self.users[s] for s in sorted(self.groups.get(group, ()))]

    def user_by_id(self, user_id: str) -> IdpUser | None:
        return self.users.get(user_id)


class FakeSender:
    """Records what it sent; fails the next ``failures`` sends."""

    def __init__(self, failures: int = 0) -> None:
        self.sent: list[tuple[str, ...]] = []
        self.templates: list[str] = []  # each SMS's DLT template name, in order of the attempts
        self.failures = failures

    def _send(self, *message: str) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("provider unavailable")
        self.sent.append(message)

    def send(self, phone: str, text: str, *, template: str) -> None:  # agri_common.sms.SmsSender
        self.templates.append(template)
        self._send(phone, text)

    def send_email(self, address: str, subject: str, text: str) -> None:
        self._send(address, subject, text)
