"""Moves of credits: transfers, retirements and cancellations. The writer's side (:class:`Mover`:
one record per move, the block split when part of it moves) and the API's side
(:class:`MoveRequests`: who may move which block, then the writer is asked).

Idempotent per client token: a move's record id is ``TRF:``/``RET:``/``CAN:`` + a hash of the
caller and their token, and the record keeps what the token stood for and the first answer. A retry
with the same token and request answers exactly the same; the same token with anything else (other
fields, or another kind of move) is a 409 ``idempotency_conflict``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Literal

from agri_common.ledger_crypto import HASH_SCHEME, canonical_json, sha256_hex
from agri_common.notify import NotificationEvent, notify
from agri_common.platform.errors import (
    ConflictError,
    DependencyError,
    ForbiddenError,
    NotFoundError,
    UnprocessableError,
)
from agri_common.platform.principal import Principal, Role
from functions.ledger import models as m
from functions.ledger.appending import Draft, append_drafts
from functions.ledger.ports import BlockChanged, LedgerStore, RecordExists, WriterGateway
from functions.ledger.queries import visible_block

MoveKind = Literal["transfer", "retirement", "cancellation"]  # the record's kind
MoveCommand = m.TransferCommand | m.RetireCommand | m.CancelCommand
MOVES: dict[MoveKind, str] = {"transfer": "TRF", "retirement": "RET", "cancellation": "CAN"}  # kind -> record id prefix
IDEMPOTENCY_CONFLICT = "idempotency_conflict"


def token_id(prefix: str, actor: m.Actor, token: str) -> str:
    """The record id of ``actor``'s move with client token ``token``."""
    return f"{prefix}:{hashlib.sha256(f'{actor.user_id}|{token}'.encode()).hexdigest()[:32]}"


def request_hash(kind: str, cmd: MoveCommand) -> str:
    """What a client token stands for: the kind of move and every field of the command but the token."""
    return sha256_hex(canonical_json({"kind": kind, **cmd.model_dump(mode="json", exclude={"client_token"})}))


def _same_request(record: m.StoredRecord, kind: str, cmd: MoveCommand) -> bool:
    if record.body.get("kind") != kind:
        return False
    if record.request_sha256 is not None:
        return record.request_sha256 == request_hash(kind, cmd)
    # A record written before requests were hashed: compare what its body holds (not the block's end).
    body = record.body
    series_id, start, _end = m.parse_serial(cmd.serial)
    fields = cmd.model_dump(mode="json", exclude={"client_token", "serial"})
    return (body.get("series"), body.get("start")) == (series_id, start) and all(
        body.get(k) == v for k, v in fields.items()
    )


def replay_move(store: LedgerStore, kind: MoveKind, cmd: MoveCommand, actor: m.Actor) -> m.WriterResult | None:
    """None if ``cmd.client_token`` was never used by ``actor``; the first answer if it was used for
    this very request; :class:`ConflictError` ``idempotency_conflict`` if it was used for anything
    else (other fields, or another kind of move)."""
    ids = [token_id(prefix, actor, cmd.client_token) for prefix in MOVES.values()]
    found = store.get_records(ids)
    if not found:
        return None
    record = found.get(token_id(MOVES[kind], actor, cmd.client_token)) or next(iter(found.values()))
    if not _same_request(record, kind, cmd):
        raise ConflictError(
            "This client_token was already used for a different request; use a new token for a new request",
            code=IDEMPOTENCY_CONFLICT,
        )
    if record.answer is not None:
        return m.WriterResult.model_validate(record.answer)
    # Written before answers were kept: the same shape, with the block of the moved credits as it is now.
    block = store.find_block(record.body["series"], int(record.body["start"]))
    return m.WriterResult(
        command=kind,
        record_ids=[record.record_id],
        created=1,
        credits=[m.CreditOut.of(block)] if block is not None else [],
    )


class Mover:
    """The writer's moves: checks the block against the command, appends the move's record and
    writes the moved (and the remaining) block in the same transaction."""

    def __init__(self, store: LedgerStore, *, now: Callable[[], str]):
        self.store = store
        self.now = now

    def _move(
        self,
        kind: MoveKind,
        cmd: MoveCommand,
        actor: m.Actor,
        extra: dict[str, str],
        new_status: Literal["active", "retired", "cancelled"],
        new_holder: Callable[[m.CreditBlock], str],
        new_owner: Callable[[m.CreditBlock], str | None],
    ) -> m.WriterResult:
        prefix = MOVES[kind]
        record_id = token_id(prefix, actor, cmd.client_token)
        if (replayed := replay_move(self.store, kind, cmd, actor)) is not None:
            return replayed
        series_id, start, end = m.serial_field(cmd.serial, "body.serial")
        block = self.store.find_block(series_id, start)
        if block is None or (block.start, block.end) != (start, end):
            raise NotFoundError("credit block not found", code="not_found")
        if not actor.is_admin and block.owner_user_id != actor.user_id:
            raise NotFoundError("credit block not found", code="not_found")
        if block.status != "active":
            raise ConflictError(f"The credits are {block.status}", code="credits_not_active")
        if cmd.quantity > block.quantity:
            raise UnprocessableError(
                "More credits than the block holds",
                details=[{"field": "body.quantity", "issue": f"at most {block.quantity}", "type": "less_than_equal"}],
            )
        moved_end = start + cmd.quantity - 1
        ids = [*block.record_ids, record_id]
        moved = block.model_copy(
            update={
                "end": moved_end,
                "status": new_status,
                "holder_ref": new_holder(block),
                "owner_user_id": new_owner(block),
                "record_ids": ids,
                "version": block.version + 1,
            }
        )
        writes: list[tuple[m.CreditBlock, int | None]] = [(moved, block.version)]
        if moved_end < end:
            writes.append((block.model_copy(update={"start": moved_end + 1, "record_ids": ids, "version": 1}), None))
        body = {
            "scheme": HASH_SCHEME,
            "kind": kind,
            "record_id": record_id,
            "project_id": block.project_id,
            "vintage": block.vintage,
            "series": series_id,
            "fpo_id": block.fpo_id,
            "from_ref": block.holder_ref,
            "serial_start": m.unit_serial(series_id, start),
            "serial_end": m.unit_serial(series_id, moved_end),
            "start": start,
            "end": moved_end,
            "quantity": cmd.quantity,
            "recorded_at": self.now(),
            **extra,
        }
        answer = m.WriterResult(
            command=kind, record_ids=[record_id], created=1, credits=[m.CreditOut.of(b) for b, _ in writes]
        )
        draft = Draft(
            body,
            block.owner_user_id,
            block.fpo_id,
            writes,
            request_sha256=request_hash(kind, cmd),
            answer=answer.model_dump(mode="json"),
            absent=[token_id(p, actor, cmd.client_token) for p in MOVES.values() if p != prefix],
        )
        try:
            append_drafts(self.store, [draft])
        except RecordExists:  # a concurrent retry (or another use of the token) got there first
            replayed = replay_move(self.store, kind, cmd, actor)
            if replayed is None:
                raise DependencyError("The ledger changed meanwhile; try again") from None
            return replayed
        except BlockChanged:
            raise ConflictError("The credits changed meanwhile; read them again", code="credits_changed") from None
        return answer

    def transfer(self, cmd: m.TransferCommand, actor: m.Actor) -> m.WriterResult:
        return self._move(
            "transfer",
            cmd,
            actor,
            {"to_ref": cmd.to_ref},
            "active",
            new_holder=lambda b: cmd.to_ref,
            new_owner=lambda b: None,
        )

    def retire(self, cmd: m.RetireCommand, actor: m.Actor) -> m.WriterResult:
        return self._move(
            "retirement",
            cmd,
            actor,
            {"beneficiary_ref": cmd.beneficiary_ref, "reason": cmd.reason},
            "retired",
            new_holder=lambda b: b.holder_ref,
            new_owner=lambda b: b.owner_user_id,
        )

    def cancel(self, cmd: m.CancelCommand, actor: m.Actor) -> m.WriterResult:
        if not actor.is_admin:
            raise ForbiddenError("Only an admin may cancel credits", code="role_forbidden")
        return self._move(
            "cancellation",
            cmd,
            actor,
            {"reason": cmd.reason},
            "cancelled",
            new_holder=lambda b: b.holder_ref,
            new_owner=lambda b: b.owner_user_id,
        )


class MoveRequests:
    """The API's side of a move: admin or the credit owner may move a block, anyone else who could
    see it gets 404 too (as if it did not exist); then the writer is asked (the API's role cannot
    write the ledger). A retry with the same client token answers with the record already written
    (the block may have split since), without asking the writer again."""

    def __init__(self, store: LedgerStore, writer: WriterGateway):
        self.store = store
        self.writer = writer

    def _submit(
        self, principal: Principal, kind: MoveKind, cmd: MoveCommand, event: Callable[[m.Actor], m.WriterEvent]
    ) -> m.WriterResult:
        actor = m.Actor(user_id=principal.user_id, is_admin=principal.role is Role.ADMIN)
        if (replayed := replay_move(self.store, kind, cmd, actor)) is not None:
            return replayed  # exactly the first answer, or a 409 if the token was used for something else
        block = visible_block(self.store, principal, cmd.serial, "body.serial")
        if not actor.is_admin and block.owner_user_id != principal.user_id:
            raise NotFoundError("credit not found")
        answer = self.writer.submit(event(actor))
        if kind != "cancellation" and block.owner_user_id:
            notify(
                NotificationEvent(
                    kind="credits_transferred" if kind == "transfer" else "credits_retired",
                    event_id=f"credits_{kind}:{answer.record_ids[-1] if answer.record_ids else cmd.client_token}",
                    project_id=block.project_id,
                    fpo_id=block.fpo_id,
                    user_ids=(block.owner_user_id,),
                    values={"quantity": cmd.quantity, "serial": cmd.serial},
                )
            )
        return answer

    def transfer(self, principal: Principal, cmd: m.TransferCommand) -> m.WriterResult:
        return self._submit(
            principal, "transfer", cmd, lambda actor: m.WriterEvent(command="transfer", actor=actor, transfer=cmd)
        )

    def retire(self, principal: Principal, cmd: m.RetireCommand) -> m.WriterResult:
        return self._submit(
            principal, "retirement", cmd, lambda actor: m.WriterEvent(command="retire", actor=actor, retire=cmd)
        )

    def cancel(self, principal: Principal, cmd: m.CancelCommand) -> m.WriterResult:
        return self._submit(
            principal, "cancellation", cmd, lambda actor: m.WriterEvent(command="cancel", actor=actor, cancel=cmd)
        )
