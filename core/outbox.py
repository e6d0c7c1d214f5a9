"""The outbox: a message to a member is recorded before it is sent, and its outcome after.

`record_intent` runs inside the caller's transaction, beside the turn or opening the message
belongs to, under a unique key: work that is retried records the same intent once.
Sending claims the row ('pending' → 'sending'), calls the channel and records what
happened: 'sent' with the channel's message id; 'pending' again with a back-off (never
shorter than a rate limit's Retry-After the channel reports); or 'failed' once the
retries are spent (logged and counted, never dropped silently). Until a message tried
once is finished, later messages to the same member wait behind it: none overtakes it.

A row a dead worker left in 'sending' is claimed again after the claim timeout with
`in_doubt` set: a channel that can look a message up (Slack, through the key it put in
the message's metadata) is asked first, and a message that arrived is recorded, not
posted again. A channel that cannot look up (the dev chat) may post it once more: that
one message is the whole duplicate window.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Row, Table, and_, delete, exists, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from core.backoff import Backoff
from core.channels import ChannelSet
from core.conversation_store import remember_learned
from core.domain import Provider, SessionState
from core.ports import (
    Button,
    Channel,
    Clock,
    DeliveryError,
    MemberAddress,
    OutgoingMessage,
    SentLookup,
    SentMessage,
)
from core.records import address_of
from core.store.claims import claim
from core.store.models import CheckinSession, Member, Message, OutboxMessage
from core.store.seed import dialect_insert

log = logging.getLogger("vizdots.outbox")


class Sent(StrEnum):
    """Where a recorded message stands after a try."""

    SENT = "sent"
    RETRYING = "pending"
    FAILED = "failed"
    IN_FLIGHT = "sending"


_CLAIMED = (
    OutboxMessage.id, OutboxMessage.key, OutboxMessage.member_id, OutboxMessage.session_id,
    OutboxMessage.message_row_id, OutboxMessage.kind, OutboxMessage.payload,
    OutboxMessage.attempts, OutboxMessage.in_doubt, OutboxMessage.created_at,
    OutboxMessage.claimed_at,
)  # fmt: skip


#: How soon recording a message the channel took is tried again after a database error.
RECORD_RETRY = Backoff(first=timedelta(milliseconds=500), cap=timedelta(seconds=10))

#: Keys whose text is not kept once sent: a command's reply may hold a secret (an admin
#: API token is shown once) and is never needed again.
FORGOTTEN_ONCE_SENT = ("command:",)


async def record_intent(
    db: AsyncSession,
    *,
    key: str,
    to: MemberAddress,
    kind: str,
    message: OutgoingMessage,
    now: datetime,
    message_row_id: int | None = None,
) -> None:
    """Record the intent to send `message` (once per `key`) in the caller's transaction."""
    table = OutboxMessage.__table__
    assert isinstance(table, Table)
    values = {
        "key": key,
        "org_id": to.org_id,
        "member_id": to.member_id,
        "session_id": message.session_id,
        "message_row_id": message_row_id,
        "kind": kind,
        "payload": payload_of(message),
        "status": Sent.RETRYING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    statement = dialect_insert(db.get_bind(), table).values(values)
    await db.execute(statement.on_conflict_do_nothing(index_elements=["key"]))


async def _still_held(db: AsyncSession, row: Row[Any], values: dict[str, Any]) -> bool:
    """Record a send's outcome, unless its claim was taken over meanwhile (this worker
    was silent longer than the claim timeout): the new holder's outcome stands."""
    result = await db.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == row.id,
            OutboxMessage.status == Sent.IN_FLIGHT.value,
            OutboxMessage.claimed_at == row.claimed_at,
        )
        .values(values)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return True
    log.warning("outbox %s: outcome not recorded, the claim was taken over", row.id)
    return False


def _behind_a_retry() -> ColumnElement[bool]:
    """An earlier message to the same member was tried and is not finished: it waits for
    its retry (a rate limit's Retry-After, a back-off) or is being sent. Later messages
    wait behind it, so none overtakes it: the chat is not called before the time it
    asked for, and the member reads the messages in the order they were decided."""
    earlier = aliased(OutboxMessage)
    return exists().where(
        earlier.member_id == OutboxMessage.member_id,
        earlier.id < OutboxMessage.id,
        earlier.attempts > 0,
        earlier.status.in_((Sent.RETRYING.value, Sent.IN_FLIGHT.value)),
    )


def payload_of(message: OutgoingMessage) -> dict[str, Any]:
    buttons = [[b.label, b.value] for b in message.buttons]
    return {"text": message.text, "buttons": buttons, "session_id": message.session_id}


def message_of(payload: dict[str, Any], key: str) -> OutgoingMessage:
    buttons = tuple(Button(label, value) for label, value in payload.get("buttons", []))
    return OutgoingMessage(payload["text"], buttons, payload.get("session_id"), key=key)


class Outbox:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        channels: ChannelSet,
        clock: Clock,
        claim_timeout: timedelta = timedelta(minutes=2),
        backoff: Backoff | None = None,
        concurrency: int = 16,
    ) -> None:
        self.sessions = sessions
        self.channels = channels
        self.clock = clock
        self.claim_timeout = claim_timeout
        self.backoff = backoff or Backoff(max_attempts=12, give_up_after=timedelta(hours=1))
        self.concurrency = concurrency

    async def send(self, key: str) -> Sent:
        """Send the message recorded under `key` now, unless it is not due or is being sent."""
        rows = await self._claim(limit=1, key=key)
        if rows:
            return await self._send(rows[0])
        async with self.sessions() as db:
            status = await db.scalar(select(OutboxMessage.status).where(OutboxMessage.key == key))
        return Sent(status) if status else Sent.FAILED

    async def send_due(self, *, limit: int = 200) -> int:
        """Send what is due (new, backed off long enough, or abandoned); how many were tried."""
        tried = 0
        while tried < limit:
            rows = await self._claim(limit=min(self.concurrency, limit - tried))
            if not rows:
                break
            await asyncio.gather(*(self._send(row) for row in rows))
            tried += len(rows)
        return tried

    async def purge(self, *, before: datetime, batch: int = 500) -> int:
        """Delete up to `batch` rows finished before `before`."""
        finished = select(OutboxMessage.id).where(
            OutboxMessage.status.in_((Sent.SENT.value, Sent.FAILED.value)),
            OutboxMessage.finished_at < before,
        )
        async with self.sessions.begin() as db:
            result = await db.execute(
                delete(OutboxMessage).where(OutboxMessage.id.in_(finished.limit(batch)))
            )
        return int(result.rowcount)  # type: ignore[attr-defined]

    # --- claiming --------------------------------------------------------------------------
    async def _claim(self, *, limit: int, key: str | None = None) -> Sequence[Row[Any]]:
        now = self.clock.now()
        free = and_(
            or_(
                and_(
                    OutboxMessage.status == Sent.RETRYING.value,
                    OutboxMessage.next_attempt_at <= now,
                ),
                and_(
                    OutboxMessage.status == Sent.IN_FLIGHT.value,
                    OutboxMessage.claimed_at < now - self.claim_timeout,
                ),
            ),
            ~_behind_a_retry(),
        )
        candidates = select(OutboxMessage.id).where(free).order_by(OutboxMessage.next_attempt_at)
        if key is not None:
            candidates = candidates.where(OutboxMessage.key == key)
        async with self.sessions.begin() as db:
            result = await db.execute(
                claim(
                    OutboxMessage,
                    candidates=candidates,
                    still_free=free,
                    limit=limit,
                    values={
                        "status": Sent.IN_FLIGHT.value,
                        "claimed_at": now,
                        "attempts": OutboxMessage.attempts + 1,
                        # SET sees the row as it was: 'sending' means a worker died mid-send
                        "in_doubt": OutboxMessage.status == Sent.IN_FLIGHT.value,
                    },
                    returning=_CLAIMED,
                )
            )
            return list(result.all())

    # --- sending ---------------------------------------------------------------------------
    async def _send(self, row: Row[Any]) -> Sent:
        try:
            address, channel = await self._route(row)
            sent = await self._look_up(channel, address, row) if row.in_doubt else None
            if sent is None:
                sent = await channel.send(address, message_of(row.payload, row.key))
        except DeliveryError as error:
            return await self._failed(row, error)
        except Exception as error:  # a bug or a database hiccup: this message only, retried
            log.exception("outbox %s: send crashed", row.id)
            failure = DeliveryError(f"internal error: {type(error).__name__}", retryable=True)
            return await self._failed(row, failure)
        await self._record_sent(row, sent)
        return Sent.SENT

    async def _record_sent(self, row: Row[Any], sent: SentMessage) -> None:
        """Record what the channel took, again across a database outage while this
        worker's claim holds: left 'sending', the row would be claimed in doubt, and a
        channel that cannot look a message up (Teams) would post it once more."""
        waited, tries = timedelta(0), 0
        while True:
            try:
                return await self._sent(row, sent)
            except DBAPIError:
                tries += 1
                wait = RECORD_RETRY.delay(tries)
                waited += wait
                if waited >= self.claim_timeout:
                    raise
                log.warning("outbox %s: sent, not recorded (database); again in %s", row.id, wait)
                await asyncio.sleep(wait.total_seconds())

    async def _route(self, row: Row[Any]) -> tuple[MemberAddress, Channel]:
        async with self.sessions() as db:
            member = await db.get(Member, row.member_id)
        if member is None or not member.active:
            raise DeliveryError("the member is no longer active", retryable=False)
        address = address_of(member)
        channel = await self.channels.for_member(address)
        if channel is None:
            raise DeliveryError("no chat reaches the member", retryable=False)
        return address, channel

    async def _look_up(
        self, channel: Channel, address: MemberAddress, row: Row[Any]
    ) -> SentMessage | None:
        """After a crash mid-send: did the message arrive? (None: it did not, or unknowable.)"""
        if not isinstance(channel, SentLookup):
            log.info("outbox %s: outcome unknown, %s cannot look up; sending", row.id, channel)
            return None
        found = await channel.find_sent(address, row.key)
        if found is not None:
            log.info("outbox %s: found already sent after a crash; not sent again", row.id)
        return found

    async def _sent(self, row: Row[Any], sent: SentMessage) -> None:
        done: dict[str, Any] = {
            "status": Sent.SENT.value,
            "channel_message_id": sent.message_id,
            "finished_at": self.clock.now(),
            "last_error": None,
        }
        if row.key.startswith(FORGOTTEN_ONCE_SENT):
            done["payload"] = {**row.payload, "text": ""}
        async with self.sessions.begin() as db:
            if not await _still_held(db, row, done):
                return
            if row.message_row_id is not None:
                await db.execute(
                    update(Message)
                    .where(Message.id == row.message_row_id)
                    .values(channel_message_id=sent.message_id)
                )
            await remember_learned(db, row.member_id, sent.learned)

    async def _failed(self, row: Row[Any], error: DeliveryError) -> Sent:
        now = self.clock.now()
        if error.learned:  # e.g. the member blocked the bot: stored, so no chat tries again
            async with self.sessions.begin() as db:
                await remember_learned(db, row.member_id, error.learned)
            if not error.retryable and await self._reachable(row):
                error = DeliveryError(f"{error}; another chat reaches the member", retryable=True)
        spent = self.backoff.exhausted(attempts=row.attempts, age=now - row.created_at)
        if error.retryable and not spent:
            delay = self.backoff.delay(row.attempts, at_least=error.retry_after)
            log.warning(
                "outbox %s: try %d failed (%s); again in %s", row.id, row.attempts, error, delay
            )
            await self._set(row, status=Sent.RETRYING, error=error, next_attempt_at=now + delay)
            return Sent.RETRYING
        log.error(
            "outbox %s (%s) given up after %d tries: %s", row.id, row.kind, row.attempts, error
        )
        await self._set(row, status=Sent.FAILED, error=error, finished_at=now)
        return Sent.FAILED

    async def _reachable(self, row: Row[Any]) -> bool:
        """Whether a chat reaches the member (after what a failure taught was stored);
        the browser page does not count: a member left to it is on the email path."""
        async with self.sessions() as db:
            member = await db.get(Member, row.member_id, populate_existing=True)
        return member is not None and await self.channels.chat_for(address_of(member)) is not None

    async def _set(
        self, row: Row[Any], *, status: Sent, error: DeliveryError, **values: Any
    ) -> None:
        values |= {"status": status.value, "claimed_at": None, "last_error": str(error)[:200]}
        async with self.sessions.begin() as db:
            if not await _still_held(db, row, values):
                return
            if status is Sent.FAILED and row.kind == "opening" and row.session_id is not None:
                # the check-in never reached the member: failed, or, when the chat said the
                # member cannot be reached there any more, left for the email path
                lost = (
                    {"channel": Provider.EMAIL.value}
                    if error.learned
                    else {"state": SessionState.FAILED.value}
                )
                await db.execute(
                    update(CheckinSession)
                    .where(
                        CheckinSession.id == row.session_id,
                        CheckinSession.state == SessionState.DELIVERED.value,
                    )
                    .values(outcome_note=str(error)[:200], **lost)
                )
