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
from core.i18n import N_, _, member_language, speaking
from core.ports import Clock
from core.store.models import Member, Organization

Token = Annotated[str, Path(max_length=512, description="The signed link from the email.")]
DONE = N_("You will get no more VizDots reminder emails. Your check-ins in chat are not affected.")
UNSUBSCRIBED = N_("Unsubscribed")
UNSUBSCRIBE = N_("Unsubscribe")


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
            org = await db.get(Organization, member.org_id) if member else None
        if member is None or org is None:
            return _gone()
        with speaking(member_language(member.language, org.language)):
            if member.email_opt_out:
                return message_page(title=_(UNSUBSCRIBED), message=_(DONE), status_code=200)
            form = _confirm_form(f"/email/unsubscribe/{token}")
            return html_page(title=_(UNSUBSCRIBE), body=form)

    @router.post("/email/unsubscribe/{token}", response_class=HTMLResponse)
    async def unsubscribe(token: Token) -> Response:
        try:
            member_id = links().read_unsubscribe(token)
        except BadLink as problem:
            return link_problem(problem)
        changed = await opt_out_by_link(sessions=sessions, member_id=member_id, clock=clock)
        if changed is None:
            return _gone()
        with speaking(await _language(sessions, member_id)):
            return message_page(title=_(UNSUBSCRIBED), message=_(DONE), status_code=200)

    return router


async def _language(sessions: async_sessionmaker[AsyncSession], member_id: int) -> str:
    """The member's language (theirs, else their org's) for the page."""
    async with sessions() as db:
        member = await db.get(Member, member_id)
        org = await db.get(Organization, member.org_id) if member else None
    return member_language(member.language if member else None, org.language if org else None)


def _confirm_form(action: str) -> str:
    """The confirmation form, in the current language."""
    question = escape(_("Stop reminder emails?"))
    note = escape(_("VizDots will send you no more reminder emails about check-ins."))
    return (
        f"<h1>{question}</h1>\n"
        f'<p class="note">{note}</p>\n'
        f'<form method="post" action="{escape(action)}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        f'<button class="primary" type="submit">{escape(_(UNSUBSCRIBE))}</button></form>'
    )


def _gone() -> HTMLResponse:
    return message_page(
        title="Nothing to unsubscribe",
        message="This address is no longer on VizDots' lists.",
        status_code=410,
    )
