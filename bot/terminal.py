"""Wiring for `vizdots chat`: find the member, open a check-in, talk in the terminal."""

from __future__ import annotations

from sqlalchemy import select

from adapters.dev.terminal import chat_in_terminal, find_sender
from bot.bootstrap import Services
from core.store.models import Member, Organization


async def chat_as(services: Services, *, email: str) -> str | None:
    sender = await find_sender(services.sessions, email)
    if sender is None:
        return None
    async with services.sessions() as db:
        member = await db.scalar(
            select(Member)
            .join(Organization, Organization.id == Member.org_id)
            .where(Member.email == email, Organization.slug == sender.workspace)
        )
        assert member is not None
        session_id = await services.conversations.open_session_of(db, member, services.clock.now())
    if session_id is None:
        opening = await services.delivery.start_now(member_id=member.id)
        if opening is None or opening.session_id is None:
            return None
        session_id = opening.session_id
    return await chat_in_terminal(
        sessions=services.sessions,
        chat=services.typed_chat,
        sender=sender,
        session_id=session_id,
    )
