"""Wiring for `vizdots chat`: find the member and talk as them in the terminal."""

from __future__ import annotations

from adapters.dev.terminal import chat_in_terminal, find_sender
from bot.bootstrap import Services


async def chat_as(services: Services, *, email: str) -> str | None:
    """How the chat ended (see chat_in_terminal); None when no active member has `email`."""
    sender = await find_sender(services.sessions, email)
    if sender is None:
        return None
    return await chat_in_terminal(
        sessions=services.sessions, chat=services.typed_chat, sender=sender
    )
