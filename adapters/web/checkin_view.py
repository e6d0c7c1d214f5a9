"""What the browser check-in page shows: one session's turns, the question waiting with
its buttons, and how the check-in stands — read from the database, rendered to HTML, in
the member's language (theirs, else their org's)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from html import escape

from babel.dates import format_date
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.web.links import CheckinLink
from core.catalog import shown as shown_text
from core.domain import Provider, SessionState, Speaker
from core.i18n import N_, _, current_language, member_language, speaking
from core.identity import email_sender
from core.markup import to_html
from core.ports import Button
from core.session_view import SessionView, view_session
from core.store.models import CheckinSession, InboundEvent, Member, Organization

ENDED = {
    SessionState.COMPLETED: N_("Done — thank you! You can close this page."),
    SessionState.SKIPPED: N_("Skipped for today. See you next time!"),
}
CLOSED = N_("This check-in has closed. The next one will come in a new email.")
IN_FLIGHT = N_("Your answer is saved; the reply appears in a moment.")
CHOOSE, YOUR_ANSWER, SEND = N_("Choose an answer"), N_("Your answer"), N_("Send")


@dataclass(frozen=True, slots=True)
class CheckinView:
    org_id: int
    member_id: int
    member_name: str
    shown: SessionView
    #: A turn of the member's is stored but not answered yet (the inbox has it).
    reply_pending: bool
    #: The language the page speaks (core.i18n).
    language: str = "en"

    @property
    def answering(self) -> bool:
        """The member may answer now: the check-in is open and not waiting on a reply."""
        return self.shown.state.is_open and not self.reply_pending


async def load_view(db: AsyncSession, link: CheckinLink, now: datetime) -> CheckinView | None:
    """The page of the link's session; None when the member or session is gone, inactive,
    or the session is not the member's."""
    member = await db.get(Member, link.member_id)
    session = await db.get(CheckinSession, link.session_id)
    if member is None or session is None or not member.active or session.member_id != member.id:
        return None
    org = await db.get_one(Organization, member.org_id)
    language = member_language(member.language, org.language)
    with speaking(language):  # the buttons' labels
        shown = await view_session(db, session, now)
    return CheckinView(
        org_id=member.org_id,
        member_id=member.id,
        member_name=member.display_name,
        shown=shown,
        reply_pending=await _turn_in_flight(db, member),
        language=language,
    )


async def _turn_in_flight(db: AsyncSession, member: Member) -> bool:
    sender = email_sender(org_id=member.org_id, member_id=member.id)
    waiting = exists().where(
        InboundEvent.provider == Provider.EMAIL.value,
        InboundEvent.workspace == sender.workspace,
        InboundEvent.user_id == sender.user,
        InboundEvent.processed_at.is_(None),
    )
    return bool(await db.scalar(select(waiting)))


def render_view(view: CheckinView, *, say_url: str) -> str:
    """The page's body, in the current language. Agent turns are core markup (to_html
    escapes them); member turns are shown as typed, escaped."""
    day = format_date(view.shown.local_date, "EEEE dd MMMM y", locale=current_language())
    parts = [
        f"<h1>{escape(shown_text(view.shown.agent_name))}</h1>",
        f'<p class="sub">{escape(view.member_name)} · {escape(day)}</p>',
        '<section aria-label="Conversation" role="log">',
        *(_bubble(turn.speaker, turn.text) for turn in view.shown.turns),
        "</section>",
        f'<p class="note" role="status" aria-live="polite">{escape(_status(view))}</p>',
    ]
    if view.answering:
        parts.append(_answer_forms(view.shown.buttons, say_url=say_url))
    return "\n".join(parts)


def _bubble(speaker: Speaker, text: str) -> str:
    if speaker is Speaker.AGENT:
        return f'<div class="bubble agent">{to_html(text)}</div>'
    shown = escape(text).replace("\n", "<br>\n")
    you = escape(_("You:"))
    return f'<div class="bubble member-turn"><span class="sr-only">{you} </span>{shown}</div>'


def _status(view: CheckinView) -> str:
    if view.reply_pending:
        return _(IN_FLIGHT)
    if view.shown.state.is_open:
        return ""
    return _(ENDED.get(view.shown.state, CLOSED))


def _answer_forms(buttons: tuple[Button, ...], *, say_url: str) -> str:
    """A form per way of answering, each with its own nonce: one submit (or a double
    click, a resend) is one event; the button press and the typed answer are two."""
    action = escape(say_url)
    choose, label, send = (escape(_(t)) for t in (CHOOSE, YOUR_ANSWER, SEND))
    chosen = "".join(
        f'<button type="submit" name="choice" value="{escape(b.value)}">{escape(b.label)}</button>'
        for b in buttons
    )
    press = (
        f'<form method="post" action="{action}"><fieldset class="buttons">'
        f"<legend>{choose}</legend>{_nonce()}{chosen}</fieldset></form>"
        if buttons
        else ""
    )
    typed = (
        f'<form class="say" method="post" action="{action}">{_nonce()}'
        f'<label for="text">{label}</label>'
        '<textarea id="text" name="text" required maxlength="4000"></textarea>'
        f'<button class="primary" type="submit">{send}</button></form>'
    )
    return press + typed


def _nonce() -> str:
    return f'<input type="hidden" name="nonce" value="{secrets.token_urlsafe(16)}">'
