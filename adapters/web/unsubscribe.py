"""One-click unsubscribe (RFC 8058) from reminder emails: no login, the signed link is
the authority.

GET only shows a confirmation page with a button: mail scanners and link previewers fetch
links, and a GET must never unsubscribe anyone. POST (a mail client's one-click, body
`List-Unsubscribe=One-Click`, or the page's button) sets `members.email_opt_out`, writes
audit_log the first time, and answers 200 every time.
"""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.web.checkin import link_problem
from adapters.web.links import BadLink, LinkSource
from adapters.web.page import html_page, message_page
from core.email_prefs import opt_out_by_link
from core.ports import Clock
from core.store.models import Member

Token = Annotated[str, Path(max_length=512, description="The signed link from the email.")]
DONE = "You will get no more VizDots reminder emails. Your check-ins in chat are not affected."


def unsubscribe_routes(
    *, sessions: async_sessionmaker[AsyncSession], links: LinkSource, clock: Clock
) -> APIRouter:
    router = APIRouter(tags=["email"])

    @router.get("/email/unsubscribe/{token}", response_class=HTMLResponse)  # see bot.openapi
    async def confirm_page(token: Token) -> Response:
        try:
            member_id = links().read_unsubscribe(token)
        except BadLink as problem:
            return link_problem(problem)
        async with sessions() as db:
            member = await db.get(Member, member_id)
        if member is None:
            return _gone()
        if member.email_opt_out:
            return message_page(title="Unsubscribed", message=DONE, status_code=200)
        return html_page(title="Unsubscribe", body=_confirm_form(f"/email/unsubscribe/{token}"))

    @router.post("/email/unsubscribe/{token}", response_class=HTMLResponse)
    async def unsubscribe(token: Token) -> Response:
        try:
            member_id = links().read_unsubscribe(token)
        except BadLink as problem:
            return link_problem(problem)
        changed = await opt_out_by_link(sessions=sessions, member_id=member_id, clock=clock)
        if changed is None:
            return _gone()
        return message_page(title="Unsubscribed", message=DONE, status_code=200)

    return router


def _confirm_form(action: str) -> str:
    return (
        "<h1>Stop reminder emails?</h1>\n"
        '<p class="note">VizDots will send you no more reminder emails about check-ins.</p>\n'
        f'<form method="post" action="{escape(action)}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button class="primary" type="submit">Unsubscribe</button></form>'
    )


def _gone() -> HTMLResponse:
    return message_page(
        title="Nothing to unsubscribe",
        message="This address is no longer on VizDots' lists.",
        status_code=410,
    )
