"""The browser check-in page: a member reached by email answers their check-in here.

GET /checkin/{token} shows the session the signed link names, one question at a time with
the same buttons as the chats; POST /checkin/{token}/say stores the member's turn in the
same inbox as every chat (event id `web:<session>:<form nonce>`, so a double submit is
stored once), waits briefly for a worker to take the turn, and sends the browser back to
the page (303), which then shows the reply (or refreshes itself until it is there).

Authentication is the signed token in the path; there is no cookie, so SameSite and a
CSRF cookie do not apply: a forged cross-site post would need the token itself. The page
sends no Referer (the token never leaks through a link) and runs no script.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, Path
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.web.checkin_view import CheckinView, load_view, render_view
from adapters.web.links import BadLink, CheckinLink, LinkExpired, LinkSource
from adapters.web.page import html_page, message_page
from core.catalog import shown
from core.i18n import N_, _, speaking
from core.identity import email_sender
from core.inbound import IncomingMessage
from core.inbox import Inbox
from core.ports import Clock
from core.store.models import InboundEvent

ENDED = N_("This check-in has ended")
UNCHANGED = N_("Nothing was changed.")
NOTHING_TO_SEND = N_("Nothing to send")
HOW = N_("Type an answer or press one of the buttons, then send it.")

Token = Annotated[str, Path(max_length=512, description="The signed link from the email.")]
Nonce = Annotated[str, Form(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


def checkin_routes(
    *,
    sessions: async_sessionmaker[AsyncSession],
    inbox: Inbox,
    links: LinkSource,
    clock: Clock,
    reply_wait: float = 5.0,
) -> APIRouter:
    """`reply_wait`: seconds a POST waits for the turn to be taken before it redirects."""
    router = APIRouter(tags=["email"])

    async def view_of(link: CheckinLink) -> CheckinView | None:
        async with sessions() as db:
            return await load_view(db, link, clock.now())

    @router.get("/checkin/{token}", response_class=HTMLResponse)  # documented in bot.openapi
    async def checkin_page(token: Token) -> Response:
        try:
            link = links().read_checkin(token)
        except BadLink as problem:
            return link_problem(problem)
        view = await view_of(link)
        if view is None:
            return _gone()
        with speaking(view.language):
            body = render_view(view, say_url=f"/checkin/{token}/say")
            refresh = 2 if view.reply_pending else None
            title = shown(view.shown.agent_name)
            return html_page(title=title, body=body, refresh_seconds=refresh)

    @router.post("/checkin/{token}/say", response_class=HTMLResponse)
    async def say(
        token: Token,
        nonce: Nonce,
        text: Annotated[str, Form(max_length=4000)] = "",
        choice: Annotated[str | None, Form(max_length=200)] = None,
    ) -> Response:
        try:
            link = links().read_checkin(token)
        except BadLink as problem:
            return link_problem(problem)
        view = await view_of(link)
        if view is None:
            return _gone()
        back = RedirectResponse(f"/checkin/{token}", status_code=303)
        if view.reply_pending:
            return back  # the previous answer is still being taken: the page shows it
        if not view.shown.state.is_open:
            with speaking(view.language):
                return message_page(title=_(ENDED), message=_(UNCHANGED), status_code=409)
        incoming = _incoming(view, nonce=nonce, text=text, choice=choice)
        if incoming is None:
            with speaking(view.language):
                return message_page(title=_(NOTHING_TO_SEND), message=_(HOW), status_code=400)
        if incoming.choice is not None and incoming.text == "":
            return back  # a button of a question answered meanwhile: nothing to take
        await inbox.accept(incoming)
        await _taken(sessions, incoming.event_id or "", within=reply_wait)
        return back

    return router


def _incoming(
    view: CheckinView, *, nonce: str, text: str, choice: str | None
) -> IncomingMessage | None:
    """The member's turn as the inbox takes it; None when there is nothing to send. A
    button's label comes from the question (a stale button gets an empty text)."""
    sender = email_sender(org_id=view.org_id, member_id=view.member_id)
    event_id = f"web:{view.shown.session_id}:{nonce}"
    if choice:
        label = next((b.label for b in view.shown.buttons if b.value == choice), "")
        return IncomingMessage(sender=sender, text=label, choice=choice, event_id=event_id)
    if not text.strip():
        return None
    return IncomingMessage(sender=sender, text=text.strip(), event_id=event_id)


async def _taken(
    sessions: async_sessionmaker[AsyncSession], event_id: str, *, within: float
) -> None:
    """Wait (at most `within` seconds) until a worker has taken the turn of `event_id`."""
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        async with sessions() as db:
            done = await db.scalar(
                select(InboundEvent.processed_at).where(InboundEvent.event_id == event_id)
            )
        if done is not None:
            return
        await asyncio.sleep(0.05)


def link_problem(problem: BadLink) -> HTMLResponse:
    """410 for an expired link, 403 for one that is not ours: a page saying what to do."""
    if isinstance(problem, LinkExpired):
        return message_page(
            title="This link has expired",
            message="Links in VizDots emails work for a limited time. "
            "The next reminder email brings a fresh one.",
            status_code=410,
        )
    return message_page(
        title="This link is not valid",
        message="It may have been cut off or changed. Open it again from the email, whole.",
        status_code=403,
    )


def _gone() -> HTMLResponse:
    return message_page(
        title="This check-in is no longer available",
        message="It may have been removed. The next check-in will come in a new email.",
        status_code=410,
    )
