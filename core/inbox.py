"""The durable inbox: a member's message is stored when the chat hands it over, and
its turn is taken later by whichever worker claims it.

`accept` is one INSERT … ON CONFLICT (event_id) DO NOTHING, cheap enough for the web
process before the chat's acknowledgement; a redelivered event is a no-op. `drain`
claims pending rows in one UPDATE … RETURNING (on PostgreSQL the candidates are locked
with SKIP LOCKED, so two workers never take the same row), runs each turn through
Conversations and marks it processed. Only a sender's oldest pending event can be
claimed, so one member's events are taken one at a time, in the order received, even
across workers.

A claim left by a dead worker is taken again after `claim_timeout`, and the engine
resumes the turn where it stopped (turn stored, reply recorded, reply sent). A failing
event is tried again after an exponential back-off with jitter; once its tries are spent
it is given up and the member told, once. Turns waiting on the model hold no database
connection, so `concurrency` turns run at once and more are claimed as each one ends.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Table, and_, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from core.backoff import Backoff
from core.conversation import Conversations
from core.domain import Provider
from core.inbound import EditedMessage, IncomingMessage, Sender
from core.log_context import log_context
from core.ports import Clock
from core.store.claims import claim
from core.store.models import InboundEvent
from core.store.seed import dialect_insert
from core.typed import TypedChat

log = logging.getLogger("vizdots.inbox")

Item = IncomingMessage | EditedMessage
_CLAIMED = (
    InboundEvent.id, InboundEvent.provider, InboundEvent.event_id, InboundEvent.kind,
    InboundEvent.workspace, InboundEvent.user_id, InboundEvent.text, InboundEvent.message_id,
    InboundEvent.choice, InboundEvent.attempts, InboundEvent.received_at,
)  # fmt: skip


class Inbox:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        conversations: Conversations,
        clock: Clock,
        concurrency: int = 64,
        accept_window: float | None = None,
        claim_timeout: timedelta = timedelta(minutes=2),
        backoff: Backoff | None = None,
        typed: Mapping[Provider, TypedChat] | None = None,
    ) -> None:
        """`typed`: chats without slash commands (Teams) whose messages may be commands:
        their events are taken by TypedChat, which tells a command from a check-in turn.
        `accept_window`: None stores each event with its own INSERT; 0 is group commit
        (an INSERT starts at once, and the events accepted while it runs share the next
        one); > 0 also waits that many seconds for company before each INSERT. Each
        caller returns once its own row is committed."""
        self.sessions = sessions
        self.conversations = conversations
        self.typed = dict(typed or {})
        self.clock = clock
        self.claim_timeout = claim_timeout
        self.backoff = backoff or Backoff(max_attempts=10, give_up_after=timedelta(minutes=30))
        self._concurrency = concurrency
        self._window = accept_window
        self._waiting: list[tuple[dict[str, Any], asyncio.Future[bool]]] = []
        self._flushing: asyncio.Task[None] | None = None
        self._insert_statement: Any = None

    async def accept(self, item: Item) -> bool:
        """Store an inbound event durably; False when its event id was stored before."""
        row = row_of(item) | {"received_at": self.clock.now()}
        if self._window is None:
            return row["event_id"] in await self._store([row])
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((row, waiter))
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush_while_waiting())
        return await waiter

    async def _flush_while_waiting(self) -> None:
        """Store what waits, batch after batch, until nothing does (group commit)."""
        try:
            while self._waiting:
                if self._window:
                    await asyncio.sleep(self._window)
                batch, self._waiting = self._waiting, []
                await self._store_batch(batch)
        finally:
            self._flushing = None

    async def _store_batch(self, batch: list[tuple[dict[str, Any], asyncio.Future[bool]]]) -> None:
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

    async def flush(self) -> None:
        """Wait until what was accepted is stored (a graceful shutdown calls this)."""
        while self._flushing is not None:
            await asyncio.gather(self._flushing, return_exceptions=True)

    async def drain(self, *, limit: int | None = 50, idle: float | None = None) -> int:
        """Take the turns of pending events, `concurrency` at once, claiming more as each
        turn ends (a turn waiting on the model takes a slot but no connection).

        Returns once `limit` events were claimed and their turns ended, or when none is
        pending; with `idle`, never runs dry: it looks again every `idle` seconds.
        """
        running: set[asyncio.Task[None]] = set()
        taken = 0
        try:
            while limit is None or taken < limit:
                room = self._concurrency - len(running)
                if limit is not None:
                    room = min(room, limit - taken)
                claimed = await self._claim(limit=room) if room > 0 else []
                taken += len(claimed)
                running |= {asyncio.create_task(self._process(row)) for row in claimed}
                if running and (room <= 0 or not claimed or idle is None):
                    _done, running = await asyncio.wait(
                        running, timeout=idle, return_when=asyncio.FIRST_COMPLETED
                    )
                elif not claimed:
                    if idle is None:
                        break
                    await asyncio.sleep(idle)
            if running:
                await asyncio.wait(running)
        except Exception:  # a claim failed (the database went): the turns under way end
            if running and not _cancelled():  # by themselves, never cut off mid-send
                await asyncio.wait(running)  # (a shutdown cancels them, see below)
            raise
        finally:
            for task in running:
                task.cancel()
        return taken

    async def purge(self, *, before: datetime, batch: int = 500) -> int:
        """Delete up to `batch` events processed before `before`."""
        done = select(InboundEvent.id).where(InboundEvent.processed_at < before)
        async with self.sessions.begin() as db:
            result = await db.execute(
                delete(InboundEvent).where(InboundEvent.id.in_(done.limit(batch)))
            )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def _claim(self, *, limit: int) -> Sequence[Row[Any]]:
        now = self.clock.now()
        free = and_(
            InboundEvent.processed_at.is_(None),
            or_(InboundEvent.next_attempt_at.is_(None), InboundEvent.next_attempt_at <= now),
            or_(
                InboundEvent.claimed_at.is_(None),
                InboundEvent.claimed_at < now - self.claim_timeout,
            ),
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

    async def _process(self, row: Row[Any]) -> None:
        with log_context(request=f"inbound-{row.id}"):
            await self._process_logged(row)

    async def _process_logged(self, row: Row[Any]) -> None:
        if self._abandoned(row):  # claimed again and again: its workers never finished
            await self._failed(row, "AbandonedEvent", give_up=True)
            return
        try:
            await self._take_turn(row)
        except Exception as error:  # this event only: retried after a back-off, or given up
            await self._failed(row, type(error).__name__)
            return
        async with self.sessions.begin() as db:
            await db.execute(
                update(InboundEvent)
                .where(InboundEvent.id == row.id)
                .values(processed_at=self.clock.now())
            )

    def _abandoned(self, row: Row[Any]) -> bool:
        """The tries before this claim were spent by workers that never finished."""
        age = self.clock.now() - row.received_at
        return self.backoff.exhausted(attempts=row.attempts - 1, age=age)

    async def _take_turn(self, row: Row[Any]) -> None:
        item = item_of(row)
        typed = self.typed.get(item.sender.provider)
        if isinstance(item, EditedMessage):
            await self.conversations.handle_edit(item)
        elif typed is not None:
            await typed.handle(item, apologise=False)
        else:
            await self.conversations.handle_message(item, apologise=False)

    async def _failed(self, row: Row[Any], error: str, *, give_up: bool = False) -> None:
        """Back off for another try, or give up and tell the member (no text logged)."""
        now = self.clock.now()
        give_up = give_up or self.backoff.exhausted(
            attempts=row.attempts, age=now - row.received_at
        )
        values: dict[str, Any] = {"last_error": error[:64], "claimed_at": None}
        if give_up:
            values |= {"processed_at": now, "given_up": True}
            log.error("inbound event %s given up after %d tries: %s", row.id, row.attempts, error)
        else:
            values["next_attempt_at"] = now + self.backoff.delay(row.attempts)
            log.warning("inbound event %s failed (try %d): %s", row.id, row.attempts, error)
        async with self.sessions.begin() as db:
            await db.execute(update(InboundEvent).where(InboundEvent.id == row.id).values(values))
        if give_up:
            await self._tell_given_up(row)

    async def _tell_given_up(self, row: Row[Any]) -> None:
        if row.kind == "edit":
            return  # a correction that could not be applied: the original answer stands
        try:
            sender = Sender(Provider(row.provider), row.workspace, row.user_id)
            await self.conversations.could_not_process(sender, event_id=row.event_id)
        except Exception:  # the event is given up either way; the outbox retries the notice
            log.exception("inbound event %s: could not tell the member", row.id)


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


def _cancelled() -> bool:
    """This task is being cancelled (a database driver may raise its own error for it)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
