"""`vizdots chat --member EMAIL`: the dev channel in a terminal.

Each stdin line is the member's turn or a command (core/typed.py: the same rule as the
web chat and Teams) and what VizDots says is printed as plain text; it ends at EOF or
when the check-in completes.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import AsyncIterator
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.conversation import OPEN_STATES
from core.domain import Provider
from core.inbound import IncomingMessage, Sender
from core.markup import to_plain
from core.ports import OutgoingMessage
from core.store.models import CheckinSession, Member, Organization
from core.typed import Said, TypedChat


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
) -> str:
    """Open the member's check-in (their open one, else `start`), then take each line as
    a turn or a command until the check-in ends or the input does. Returns how it ended:
    the check-in's state, or "ended" when none was open."""
    session_id = await _open_session(sessions, chat, sender)
    async for line in lines_of(lines):
        text = line.strip()
        if not text:
            continue
        said = await _say(chat, sender, text)
        session_id = next((r.session_id for r in said.replies if r.session_id), session_id)
        if said.command or session_id is None:
            continue
        state = await _state(sessions, session_id)
        if state not in OPEN_STATES:
            return state
    return await _state(sessions, session_id) if session_id is not None else "ended"


async def _open_session(
    sessions: async_sessionmaker[AsyncSession], chat: TypedChat, sender: Sender
) -> int | None:
    """Show the open check-in's question, or say `start` for the member: core opens one,
    or says when the next is due."""
    waiting = await chat.conversations.waiting_question(sender)
    if waiting is not None:
        _show(waiting)
        return waiting.session_id
    said = await _say(chat, sender, "start")
    return next((r.session_id for r in said.replies if r.session_id), None)


async def _say(chat: TypedChat, sender: Sender, text: str) -> Said:
    said = await chat.handle(IncomingMessage(sender, text))
    for reply in said.replies:
        _show(reply)
    return said


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
