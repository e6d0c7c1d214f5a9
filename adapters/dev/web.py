"""The local web chat at /dev: pick a member, answer their check-ins, type commands.

Mounted only when no Slack or Teams credentials are set (the embedded default), so it
is never exposed beside a real chat integration. It speaks to core exactly as the other
channels do: each typed line or button press goes through TypedChat, which reads it as
a command or as the member's turn. What the page shows is built in adapters.dev.timeline.
The page (templates/chat.html, Jinja2 with core.i18n's `_`) speaks the language of the
member it is opened for (`/dev?member=ID`), as their check-in does; English without one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, Template, select_autoescape
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.domain import Provider, Speaker
from core.i18n import DEFAULT_LANGUAGE, _, member_language, n_, speaking
from core.inbound import IncomingMessage, Sender
from core.session_view import SessionView, view_session
from core.store.models import CheckinSession, Member, Message, Organization
from core.typed import Said, TypedChat

from .digests import digests_page
from .sent import last_message_id, sent_notices
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
    page = _template("chat.html")

    @router.get("", response_class=HTMLResponse)
    async def chat_page(member: OpenedFor = None) -> str:
        with speaking(await _language_of(sessions, member)) as language:
            return page.render(language=language)

    @router.get("/digests", response_class=HTMLResponse)
    async def digests(member: OpenedFor = None) -> str:
        with speaking(await _language_of(sessions, member)):
            back_to = f"/dev?member={member}" if member else "/dev"
            return await digests_page(sessions, back_to=back_to)

    @router.get("/api/members")
    async def members() -> list[dict[str, Any]]:
        async with sessions() as db:
            rows = await db.execute(
                select(Member, Organization)
                .join(Organization, Organization.id == Member.org_id)
                .where(Member.active.is_(True), Member.email.is_not(None))
                .order_by(Organization.slug, Member.display_name)
            )
            return [_member_json(member, org) for member, org in rows]

    @router.get("/api/members/{member_id}/chat")
    async def conversation(member_id: MemberId) -> dict[str, Any]:
        language = await chat.conversations.language_for(await _sender(sessions, member_id))
        async with sessions() as db:
            with speaking(language):  # the open question's buttons, the headings
                recent = await _chat_json(db, member_id, now=chat.conversations.clock.now())
                sent = await _sent_asides(db, member_id, since=recent.pop("since"))
                shown = timeline(recent["sessions"], [*asides.of(member_id), *sent])
        return {**recent, "language": language, "timeline": shown}

    @router.post("/api/members/{member_id}/say")
    async def say(member_id: MemberId, said: Typed) -> dict[str, Any]:
        sender = await _sender(sessions, member_id)
        incoming = IncomingMessage(sender=sender, text=said.text, choice=said.choice)
        async with sessions() as db:
            before = await last_message_id(db, member_id)
        at = chat.conversations.clock.now()
        result = await chat.handle(incoming)
        for aside in await _asides_of(sessions, member_id, said, result, before=before, at=at):
            asides.add(member_id, aside)
        texts = [r.text for r in result.replies]
        return {"command_reply": "\n".join(texts)} if result.command else {"replies": texts}

    return router


#: `?member=ID` of the pages: whose language they speak (anything else: English).
OpenedFor = Annotated[int | None, Query(ge=1, le=2**31 - 1)]


def _template(name: str) -> Template:
    environment = Environment(
        loader=PackageLoader("adapters.dev", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
    )
    environment.install_gettext_callables(gettext=_, ngettext=n_, newstyle=False)  # type: ignore[attr-defined]
    environment.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    return environment.get_template(name)


async def _language_of(sessions: async_sessionmaker[AsyncSession], member_id: int | None) -> str:
    """The language of the member a page is opened for (English for none, or no such one)."""
    if member_id is None:
        return DEFAULT_LANGUAGE
    async with sessions() as db:
        row = await db.execute(
            select(Member.language, Organization.language)
            .join(Organization, Organization.id == Member.org_id)
            .where(Member.id == member_id)
        )
        found = row.first()
    return member_language(found[0], found[1]) if found else DEFAULT_LANGUAGE


def _member_json(member: Member, org: Organization) -> dict[str, Any]:
    return {
        "id": member.id,
        "name": member.display_name,
        "email": member.email,
        "org": org.slug,
        "timezone": member.timezone,
        "role": member.role,
        "language": member_language(member.language, org.language),
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


async def _sent_asides(db: AsyncSession, member_id: int, *, since: datetime | None) -> list[Aside]:
    """What was sent to the member outside the turns since the first check-in shown."""
    agent = Speaker.AGENT.value
    return [
        Aside(after=sent.after, at=sent.at, speaker=agent, text=sent.text)
        for sent in await sent_notices(db, member_id, since=since)
    ]


async def _asides_of(
    sessions: async_sessionmaker[AsyncSession],
    member_id: int,
    said: Typed,
    result: Said,
    *,
    before: int,
    at: datetime,
) -> list[Aside]:
    """What the page keeps in memory beside the stored turns: the typed line unless it
    was stored as the member's turn (a button press is, unless stale), and a command's
    reply. (Other replies — notices, an apology for a turn that failed — are read back
    from the outbox with what else was sent.)"""
    stored = await _stored_since(sessions, member_id, before)
    shown: list[Aside] = []
    member = Speaker.MEMBER.value
    if said.choice is None and (result.command or not any(s == member for s, _ in stored)):
        shown.append(Aside(after=before, at=at, speaker=member, text=said.text))
    if result.command:
        after = max([before, *stored.values()])
        agent = Speaker.AGENT.value
        shown.extend(Aside(after=after, at=at, speaker=agent, text=r.text) for r in result.replies)
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
    """The member's recent check-ins, oldest first, with buttons on the open question, and
    `since`: when the oldest of them was delivered (None: no check-in yet)."""
    recent = list(
        await db.scalars(
            select(CheckinSession)
            .where(CheckinSession.member_id == member_id, CheckinSession.delivered_at.is_not(None))
            .order_by(CheckinSession.delivered_at.desc())
            .limit(5)
        )
    )
    return {
        "sessions": [_session_json(await view_session(db, s, now)) for s in reversed(recent)],
        "since": recent[-1].delivered_at if recent else None,
    }


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
