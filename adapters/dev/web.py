"""The local web chat at /dev: pick a member, answer their check-ins, type commands.

Mounted only when no Slack or Teams credentials are set (the embedded default), so it
is never exposed beside a real chat integration. It speaks to core exactly as the other
channels do: each typed line or button press goes through TypedChat, which reads it as
a command or as the member's turn. What the page shows is built in adapters.dev.timeline.
"""

from __future__ import annotations

from datetime import datetime
from importlib.resources import files
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.domain import Provider, Speaker
from core.i18n import speaking
from core.inbound import IncomingMessage, Sender
from core.session_view import SessionView, view_session
from core.store.models import CheckinSession, Member, Message, Organization
from core.typed import Said, TypedChat

from .digests import digests_page
from .timeline import Aside, Asides, timeline

#: A member id in the database's range: anything else is a 400, never a database error.
MemberId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class Typed(BaseModel):
    text: str = Field(max_length=4000)
    choice: str | None = Field(default=None, max_length=200)


def dev_chat_routes(
    *,
    sessions: async_sessionmaker[AsyncSession],
    chat: TypedChat,
) -> APIRouter:
    router = APIRouter(prefix="/dev", include_in_schema=False)
    asides = Asides()
    page = files("adapters.dev").joinpath("chat.html").read_text(encoding="utf-8")

    @router.get("", response_class=HTMLResponse)
    async def chat_page() -> str:
        return page

    @router.get("/digests", response_class=HTMLResponse)
    async def digests() -> str:
        return await digests_page(sessions)

    @router.get("/api/members")
    async def members() -> list[dict[str, Any]]:
        async with sessions() as db:
            rows = await db.execute(
                select(Member, Organization.slug)
                .join(Organization, Organization.id == Member.org_id)
                .where(Member.active.is_(True), Member.email.is_not(None))
                .order_by(Organization.slug, Member.display_name)
            )
            return [_member_json(member, slug) for member, slug in rows]

    @router.get("/api/members/{member_id}/chat")
    async def conversation(member_id: MemberId) -> dict[str, Any]:
        language = await chat.conversations.language_for(await _sender(sessions, member_id))
        async with sessions() as db:
            with speaking(language):  # the open question's buttons
                recent = await _chat_json(db, member_id, now=chat.conversations.clock.now())
        return {**recent, "timeline": timeline(recent["sessions"], asides.of(member_id))}

    @router.post("/api/members/{member_id}/say")
    async def say(member_id: MemberId, said: Typed) -> dict[str, Any]:
        sender = await _sender(sessions, member_id)
        incoming = IncomingMessage(sender=sender, text=said.text, choice=said.choice)
        before = await _last_message_id(sessions, member_id)
        result = await chat.handle(incoming)
        for aside in await _asides_of(sessions, member_id, said, result, before=before):
            asides.add(member_id, aside)
        texts = [r.text for r in result.replies]
        return {"command_reply": "\n".join(texts)} if result.command else {"replies": texts}

    return router


def _member_json(member: Member, org_slug: str) -> dict[str, Any]:
    return {
        "id": member.id,
        "name": member.display_name,
        "email": member.email,
        "org": org_slug,
        "timezone": member.timezone,
        "role": member.role,
    }


async def _sender(sessions: async_sessionmaker[AsyncSession], member_id: int) -> Sender:
    async with sessions() as db:
        row = await db.execute(
            select(Member.email, Organization.slug)
            .join(Organization, Organization.id == Member.org_id)
            .where(Member.id == member_id)
        )
        found = row.first()
    if found is None or found[0] is None:
        raise HTTPException(404, "no such member (or the member has no email)")
    return Sender(provider=Provider.DEV, workspace=found[1], user=found[0])


async def _last_message_id(sessions: async_sessionmaker[AsyncSession], member_id: int) -> int:
    """The id of the member's latest stored message (0: none): where an aside sits."""
    async with sessions() as db:
        found = await db.scalar(
            select(func.max(Message.id))
            .join(CheckinSession, CheckinSession.id == Message.session_id)
            .where(CheckinSession.member_id == member_id)
        )
    return found or 0


async def _asides_of(
    sessions: async_sessionmaker[AsyncSession],
    member_id: int,
    said: Typed,
    result: Said,
    *,
    before: int,
) -> list[Aside]:
    """What the page must show beside the stored turns: the typed line unless it was
    stored as the member's turn (a button press is, unless stale), and each reply not
    stored as a turn (command replies, notices, an apology for a turn that failed)."""
    stored = await _stored_since(sessions, member_id, before)
    shown: list[Aside] = []
    member = Speaker.MEMBER.value
    if said.choice is None and (result.command or not any(s == member for s, _ in stored)):
        shown.append(Aside(after=before, speaker=member, text=said.text))
    told = [r.text for r in result.replies if (Speaker.AGENT.value, r.text) not in stored]
    if told:
        after = max([before, *stored.values()])
        shown.extend(Aside(after=after, speaker=Speaker.AGENT.value, text=t) for t in told)
    return shown


async def _stored_since(
    sessions: async_sessionmaker[AsyncSession], member_id: int, after: int
) -> dict[tuple[str, str], int]:
    """(speaker, text) → id of the member's messages stored after the message `after`."""
    async with sessions() as db:
        rows = await db.execute(
            select(Message.speaker, Message.text, Message.id)
            .join(CheckinSession, CheckinSession.id == Message.session_id)
            .where(CheckinSession.member_id == member_id, Message.id > after)
        )
    return {(speaker, text): message_id for speaker, text, message_id in rows}


async def _chat_json(db: AsyncSession, member_id: int, *, now: datetime) -> dict[str, Any]:
    """The member's recent check-ins, oldest first, with buttons on the open question."""
    recent = list(
        await db.scalars(
            select(CheckinSession)
            .where(CheckinSession.member_id == member_id, CheckinSession.delivered_at.is_not(None))
            .order_by(CheckinSession.delivered_at.desc())
            .limit(5)
        )
    )
    return {"sessions": [_session_json(await view_session(db, s, now)) for s in reversed(recent)]}


def _session_json(view: SessionView) -> dict[str, Any]:
    return {
        "id": view.session_id,
        "agent": view.agent_name,
        "state": view.state.value,
        "local_date": view.local_date.isoformat(),
        "summary": view.summary,
        "messages": [
            {"id": t.message_id, "speaker": t.speaker.value, "text": t.text} for t in view.turns
        ],
        "buttons": [{"label": b.label, "value": b.value} for b in view.buttons],
    }
