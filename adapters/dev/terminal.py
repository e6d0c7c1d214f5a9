"""`vizdots chat --member EMAIL`: the dev channel in a terminal.

Each stdin line is the member's turn and agent turns are printed; it ends at EOF or
when the check-in completes. `/vizdots …` lines are commands, as in the web chat.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import AsyncIterator
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.domain import Provider
from core.inbound import IncomingMessage, Sender
from core.markup import to_plain
from core.store.models import CheckinSession, Member, Message, Organization
from core.typed import TypedChat


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


async def last_agent_turn(sessions: async_sessionmaker[AsyncSession], session_id: int) -> str:
    async with sessions() as db:
        text = await db.scalar(
            select(Message.text)
            .where(Message.session_id == session_id, Message.speaker == "agent")
            .order_by(Message.id.desc())
            .limit(1)
        )
    return text or ""


async def chat_in_terminal(
    *,
    sessions: async_sessionmaker[AsyncSession],
    chat: TypedChat,
    sender: Sender,
    session_id: int,
    lines: TextIO = sys.stdin,
) -> str:
    """Run the conversation of `session_id` until it ends; returns its final state."""
    print(f"vizdots> {await last_agent_turn(sessions, session_id)}", flush=True)
    async for line in lines_of(lines):
        text = line.strip()
        if not text:
            continue
        said = await chat.handle(IncomingMessage(sender, text))
        for reply in said.replies:
            print(f"vizdots> {to_plain(reply.as_plain_text())}", flush=True)
        if said.command:
            continue
        state = await _state(sessions, session_id)
        if state not in {"delivered", "in_progress"}:
            return state
    return await _state(sessions, session_id)


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
