"""`vizdots chat --member EMAIL`: the dev channel in a terminal.

Each stdin line is the member's turn or a command (core/typed.py: the same rule as the
web chat and Teams) and what VizDots says is printed as plain text; it ends at EOF or
when the check-in completes. What is sent to the member meanwhile by anyone else — a
reminder nudge, a notice for the admins — is printed too, once (adapters.dev.sent): on
opening, what came since the member's last stored turn; then, as it comes.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import AsyncIterator, Iterable
from typing import TextIO

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.conversation import OPEN_STATES
from core.domain import Provider
from core.inbound import IncomingMessage, Sender
from core.markup import to_plain
from core.ports import OutgoingMessage
from core.store.models import CheckinSession, Member, Organization, OutboxMessage
from core.typed import Said, TypedChat

from .sent import last_message_id, sent_notices

log = logging.getLogger("vizdots.dev.terminal")

#: Outbox keys of core's replies to the member's own line (a word with no check-in open,
#: a command word taken as an answer, the apology for a failed turn): printed when said,
#: so not again as news when the chat opens.
REPLY_KEYS = ("notice:", "hint:", "snag:")


async def find_sender(sessions: async_sessionmaker[AsyncSession], email: str) -> Sender | None:
    async with sessions() as db:
        row = await db.execute(
            select(Organization.slug)
            .join(Member, Member.org_id == Organization.id)
            .where(Member.email == email, Member.active.is_(True))
            .order_by(Member.id)
            .limit(1)
        )
        slug = row.scalar()
    return Sender(Provider.DEV, slug, email) if slug else None


async def chat_in_terminal(
    *,
    sessions: async_sessionmaker[AsyncSession],
    chat: TypedChat,
    sender: Sender,
    lines: TextIO = sys.stdin,
    poll_seconds: float = 2.0,
) -> str:
    """Open the member's check-in (their open one, else `start`), then take each line as
    a turn or a command until the check-in ends or the input does; what else is sent to
    the member is looked for every `poll_seconds`. Returns how it ended: the check-in's
    state, or "ended" when none was open."""
    feed = await SentFeed.opened(sessions, sender)
    session_id = await _open_session(feed, chat, sender)
    polling = asyncio.create_task(feed.poll(poll_seconds))
    try:
        async for line in lines_of(lines):
            text = line.strip()
            if not text:
                continue
            said = await feed.say(chat, sender, text)
            session_id = next((r.session_id for r in said.replies if r.session_id), session_id)
            if said.command or session_id is None:
                continue
            state = await _state(sessions, session_id)
            if state not in OPEN_STATES:
                return state
        return await _state(sessions, session_id) if session_id is not None else "ended"
    finally:
        polling.cancel()


class SentFeed:
    """What is sent to the member outside the turns and the replies, each printed once."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], member_id: int) -> None:
        self.sessions = sessions
        self.member_id = member_id
        self.lock = asyncio.Lock()  # a line's replies and the news are printed in turn
        self.seen: set[int] = set()

    @classmethod
    async def opened(cls, sessions: async_sessionmaker[AsyncSession], sender: Sender) -> SentFeed:
        """A feed whose news are what was sent since the member's latest stored turn,
        but the replies to their own lines (printed when they were said)."""
        async with sessions() as db:
            member_id = await db.scalar(
                select(Member.id)
                .join(Organization, Organization.id == Member.org_id)
                .where(Member.email == sender.user, Organization.slug == sender.workspace)
            )
            feed = cls(sessions, member_id or 0)
            since_turn = await last_message_id(db, feed.member_id)
            earlier = await sent_notices(db, feed.member_id)
        recent = [sent.row_id for sent in earlier if sent.after >= since_turn]
        feed.seen = {sent.row_id for sent in earlier} - set(recent)
        feed.seen |= await _replies(sessions, recent)
        return feed

    async def say(self, chat: TypedChat, sender: Sender, text: str) -> Said:
        """The line's replies printed, then whatever else was sent meanwhile."""
        async with self.lock:
            said = await chat.handle(IncomingMessage(sender, text))
            for reply in said.replies:
                _show(reply)
            await self._news(already=[reply.text for reply in said.replies])
        return said

    async def show_news(self) -> None:
        async with self.lock:
            await self._news(already=())

    async def poll(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await self.show_news()
            except Exception:  # the database away a moment: the next look may succeed
                log.warning("could not look for messages sent meanwhile", exc_info=True)

    async def _news(self, *, already: Iterable[str]) -> None:
        said = list(already)
        async with self.sessions() as db:
            found = await sent_notices(db, self.member_id)
        for sent in found:
            if sent.row_id in self.seen:
                continue
            self.seen.add(sent.row_id)
            if sent.text in said:
                said.remove(sent.text)  # the reply just printed, not news
            else:
                print(f"vizdots> {to_plain(sent.text)}", flush=True)


async def _replies(sessions: async_sessionmaker[AsyncSession], row_ids: list[int]) -> set[int]:
    """Those of the outbox rows that were replies to the member's own lines."""
    async with sessions() as db:
        found = await db.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.id.in_(row_ids),
                or_(*(OutboxMessage.key.startswith(prefix) for prefix in REPLY_KEYS)),
            )
        )
    return set(found)


async def _open_session(feed: SentFeed, chat: TypedChat, sender: Sender) -> int | None:
    """Show the open check-in's question, or say `start` for the member: core opens one,
    or says when the next is due; then what was sent since the member's last turn."""
    waiting = await chat.conversations.waiting_question(sender)
    if waiting is not None:
        _show(waiting)
        await feed.show_news()
        return waiting.session_id
    said = await feed.say(chat, sender, "start")
    return next((r.session_id for r in said.replies if r.session_id), None)


def _show(message: OutgoingMessage) -> None:
    print(f"vizdots> {to_plain(message.as_plain_text())}", flush=True)


async def lines_of(stream: TextIO) -> AsyncIterator[str]:
    """The stream's lines, read on a daemon thread: a read blocked on the terminal holds
    up neither the event loop nor the exit on Ctrl-C."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str] = asyncio.Queue()

    def pump() -> None:
        try:
            for line in iter(stream.readline, ""):
                loop.call_soon_threadsafe(queue.put_nowait, line)
            loop.call_soon_threadsafe(queue.put_nowait, "")
        except RuntimeError:  # the chat ended and its loop closed: nobody is listening
            return

    threading.Thread(target=pump, name="terminal-input", daemon=True).start()
    while line := await queue.get():
        yield line


async def _state(sessions: async_sessionmaker[AsyncSession], session_id: int) -> str:
    async with sessions() as db:
        return (await db.get_one(CheckinSession, session_id, populate_existing=True)).state
