"""The durable inbox: a member's message is stored when the chat hands it over, and
its turn is taken later by whichever worker claims it.

`accept` is one INSERT … ON CONFLICT (event_id) DO NOTHING, cheap enough for the web
process right after the chat's acknowledgement; a redelivered event is a no-op. `drain`
claims pending rows in one UPDATE … RETURNING (on PostgreSQL the candidates are locked
with SKIP LOCKED, so two workers never take the same row), runs each turn through
Conversations and marks it processed. Only a sender's oldest pending event can be
claimed, so one member's events are taken one at a time, in the order received, even
across workers. A claim left by a crashed worker is taken again after CLAIM_TIMEOUT;
the engine's own dedupe (messages.inbound_event_id UNIQUE) keeps that a single turn.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Table, and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from core.conversation import Conversations
from core.domain import Provider
from core.inbound import EditedMessage, IncomingMessage, Sender
from core.ports import Clock
from core.store.claims import claim
from core.store.models import InboundEvent
from core.store.seed import dialect_insert

log = logging.getLogger("vizdots.inbox")

CLAIM_TIMEOUT = timedelta(minutes=2)
MAX_ATTEMPTS = 5
Item = IncomingMessage | EditedMessage
_CLAIMED = (
    InboundEvent.id, InboundEvent.provider, InboundEvent.event_id, InboundEvent.kind,
    InboundEvent.workspace, InboundEvent.user_id, InboundEvent.text, InboundEvent.message_id,
    InboundEvent.choice, InboundEvent.attempts,
)  # fmt: skip


class Inbox:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        conversations: Conversations,
        clock: Clock,
        concurrency: int = 8,
        accept_window: float = 0.0,
    ) -> None:
        """`accept_window` > 0: events accepted within that many seconds share one INSERT
        (fewer commits at high rates); each caller still returns once its row is stored."""
        self.sessions = sessions
        self.conversations = conversations
        self.clock = clock
        self._concurrency = concurrency
        self._window = accept_window
        self._waiting: list[tuple[dict[str, Any], asyncio.Future[bool]]] = []
        self._flushes: set[asyncio.Task[None]] = set()
        self._insert_statement: Any = None

    async def accept(self, item: Item) -> bool:
        """Store an inbound event durably; False when its event id was stored before."""
        row = row_of(item)
        if self._window <= 0:
            return row["event_id"] in await self._store([row])
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((row, waiter))
        if len(self._waiting) == 1:
            flush = asyncio.create_task(self._flush_later())
            self._flushes.add(flush)
            flush.add_done_callback(self._flushes.discard)
        return await waiter

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._window)
        batch, self._waiting = self._waiting, []
        try:
            new = await self._store([row for row, _waiter in batch])
        except Exception as error:  # each waiting listener sees the failure
            for _row, waiter in batch:
                if not waiter.done():
                    waiter.set_exception(error)
            return
        for row, waiter in batch:
            fresh = row["event_id"] in new
            new.discard(row["event_id"])  # the same event twice in one batch: new once
            if not waiter.done():
                waiter.set_result(fresh)

    async def _store(self, rows: list[dict[str, Any]]) -> set[str]:
        """One INSERT … ON CONFLICT DO NOTHING; the event ids that were new."""
        async with self.sessions.begin() as db:
            result = await db.execute(self._insert(db), rows)
            return set(result.scalars())

    def _insert(self, db: AsyncSession) -> Any:
        """One statement, built once: its compiled form is cached, each call only binds."""
        if self._insert_statement is None:
            table = InboundEvent.__table__
            assert isinstance(table, Table)
            statement = dialect_insert(db.get_bind(), table)
            self._insert_statement = statement.on_conflict_do_nothing(
                index_elements=["event_id"]
            ).returning(InboundEvent.event_id)
        return self._insert_statement

    async def drain(self, *, now: datetime, limit: int = 50) -> int:
        """Take the turns of up to `limit` pending events; returns how many were claimed.

        Events are claimed `concurrency` at a time, so a claim is always being worked on
        and never outlives CLAIM_TIMEOUT waiting in a queue here.
        """
        taken = 0
        while taken < limit:
            claimed = await self._claim(now=now, limit=min(self._concurrency, limit - taken))
            if not claimed:
                break
            await asyncio.gather(*(self._process(row, now) for row in claimed))
            taken += len(claimed)
        return taken

    async def _claim(self, *, now: datetime, limit: int) -> Sequence[Row[Any]]:
        free = and_(
            InboundEvent.processed_at.is_(None),
            or_(InboundEvent.claimed_at.is_(None), InboundEvent.claimed_at < now - CLAIM_TIMEOUT),
        )
        earlier = aliased(InboundEvent)
        oldest_of_sender = ~exists().where(
            earlier.provider == InboundEvent.provider,
            earlier.workspace == InboundEvent.workspace,
            earlier.user_id == InboundEvent.user_id,
            earlier.processed_at.is_(None),
            earlier.id < InboundEvent.id,
        )
        pending = (
            select(InboundEvent.id)
            .where(free, oldest_of_sender)
            .order_by(InboundEvent.received_at, InboundEvent.id)
        )
        async with self.sessions.begin() as db:
            result = await db.execute(
                claim(
                    InboundEvent,
                    candidates=pending,
                    still_free=free,
                    limit=limit,
                    values={"claimed_at": now, "attempts": InboundEvent.attempts + 1},
                    returning=_CLAIMED,
                )
            )
            return list(result.all())

    async def _process(self, row: Row[Any], now: datetime) -> None:
        try:
            if row.attempts > MAX_ATTEMPTS:  # claimed again after crashed workers
                raise AbandonedEvent
            await self._take_turn(row)
        except Exception as error:  # this event only: retried, then given up
            await self._failed(row, type(error).__name__, now)
            return
        async with self.sessions.begin() as db:
            await db.execute(
                update(InboundEvent).where(InboundEvent.id == row.id).values(processed_at=now)
            )

    async def _take_turn(self, row: Row[Any]) -> None:
        item = item_of(row)
        if isinstance(item, EditedMessage):
            await self.conversations.handle_edit(item)
        else:
            await self.conversations.handle_message(item)

    async def _failed(self, row: Row[Any], error: str, now: datetime) -> None:
        """Release the claim for another try, or give up after MAX_ATTEMPTS (no text logged)."""
        values: dict[str, Any] = {"last_error": error[:64], "claimed_at": None}
        if row.attempts >= MAX_ATTEMPTS:
            values["processed_at"] = now
            log.error("inbound event %s given up after %d tries: %s", row.id, row.attempts, error)
        else:
            log.warning("inbound event %s failed (attempt %d): %s", row.id, row.attempts, error)
        async with self.sessions.begin() as db:
            await db.execute(update(InboundEvent).where(InboundEvent.id == row.id).values(values))


class AbandonedEvent(Exception):
    """The event was claimed more than MAX_ATTEMPTS times (its workers never finished)."""


def row_of(item: Item) -> dict[str, Any]:
    """The inbox row of an inbound item (an id derived from the item when it has none)."""
    sender = item.sender
    kind = "edit" if isinstance(item, EditedMessage) else "message"
    return {
        "provider": sender.provider.value,
        "event_id": item.event_id or derived_event_id(item),
        "kind": kind,
        "workspace": sender.workspace,
        "user_id": sender.user,
        "text": item.text,
        "message_id": item.message_id,
        "choice": item.choice if isinstance(item, IncomingMessage) else None,
    }


def derived_event_id(item: Item) -> str:
    """Deterministic for the same message (or the same edit of it), so a resend dedupes."""
    sender = item.sender
    kind = "edit" if isinstance(item, EditedMessage) else "message"
    parts = [kind, sender.provider.value, sender.workspace, sender.user, item.message_id or ""]
    if isinstance(item, EditedMessage) or item.message_id is None:
        parts.append(item.text)
    if isinstance(item, IncomingMessage):
        parts.append(item.choice or "")
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]
    return f"{sender.provider.value}:{kind}:{digest}"


def item_of(row: Row[Any]) -> Item:
    sender = Sender(Provider(row.provider), row.workspace, row.user_id)
    if row.kind == "edit":
        return EditedMessage(sender, row.message_id or "", row.text, event_id=row.event_id)
    return IncomingMessage(
        sender=sender,
        text=row.text,
        event_id=row.event_id,
        message_id=row.message_id,
        choice=row.choice,
    )
