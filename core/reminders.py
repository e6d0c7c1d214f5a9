"""Reminders (DESIGN flow 4): nobody asked is forgotten, nobody is nagged twice.

For every delivered, unfinished session a run decides one step of the ladder:

* a member a chat reaches gets one chat nudge first (at the first slot at least
  `min_wait` after delivery): an outbox message under `nudge:<session>`, recorded in the
  transaction that sets `checkin_sessions.nudged_at`, so at most one per session;
* a member no chat reaches (never reached, email-only, or found unreachable since) gets
  the check-in itself by email at once, then one reminder email per slot; a nudged
  member still silent at a later slot gets one reminder email per slot too.

Silence is the session's `version` (bumped by every agent turn, so by every answer):
recorded with the first reminder, a later version means the member answered and the
ladder stops. Members on vacation, paused or inactive, orgs whose plan does not allow
delivery (core/eligibility), and, for email, opted-out or suppressed addresses get
nothing.

Each email is an email_logs row first, under UNIQUE (session, kind, slot), status
'sending' (the intent, recorded for a chunk of emails in one transaction); then the
send; then 'sent' with the provider's message id or 'failed' with the reason (never the
address nor the body). The unique key decides between concurrent runs. A row a crash
left in 'sending' is never sent again for its slot: once older than `in_doubt_after` it
is marked 'in_doubt' for an operator. A failed email is not repeated in its slot; the
next slot sends the next reminder.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, func, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.catalog import spoken
from core.channels import ChannelSet
from core.continuity import FOLLOW_UPS, plan_for, recall_in, recall_line
from core.domain import AgentSpec, Provider
from core.eligibility import not_wanted
from core.i18n import N_, _, member_language, speaking
from core.outbox import Outbox, record_intent
from core.ports import (
    Channel,
    ChatLinks,
    CheckinEmail,
    Clock,
    DeliveryError,
    Email,
    EmailComposer,
    Mailer,
    MemberAddress,
    MemberLinks,
    OutgoingMessage,
)
from core.records import address_of, agent_spec, pending_question
from core.reminder_slots import (
    CHECKIN,
    CHECKIN_SLOT,
    OPEN,
    REMINDER,
    ReminderSlots,
    SlotWindow,
    candidates,
)
from core.store.models import CheckinSession, EmailLog, Member
from core.store.seed import dialect_insert

log = logging.getLogger("vizdots.reminders")

#: How a chat is named in an email that links to it.
CHAT_NAMES = {
    Provider.SLACK: "Slack",
    Provider.TEAMS: "Microsoft Teams",
    Provider.DEV: N_("the chat"),
}
NUDGE = N_("A gentle reminder: your **{agent}** is still open. Reply here to answer: {question}")
NO_QUESTION = N_("How is your day going, {name}?")


@dataclass
class ReminderCounts:
    slot: str | None = None
    nudged: int = 0
    emailed: int = 0
    failed: int = 0
    #: Sessions not reminded: vacation, paused, opted out, suppressed, no address, plan.
    skipped: int = 0
    #: Steps another run recorded first (concurrent runs).
    taken: int = 0
    #: Emails left 'sending' by a run that stopped mid-send, marked in doubt by this run.
    in_doubt: int = 0
    #: Whether sessions were left for the next run (a `limit` was reached).
    more_due: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return self.nudged + self.emailed + self.failed + self.taken


@dataclass(frozen=True, slots=True)
class _Row:
    """One candidate session and what deciding its step needs."""

    session: CheckinSession
    member: Member
    agent: AgentSpec
    unwanted: str | None
    suppressed: bool
    #: The language to remind the member in (theirs, else the org's).
    language: str


@dataclass(frozen=True, slots=True)
class _Email:
    """An email a run decided to send: to whom, under which email_logs key."""

    row: _Row
    kind: str
    slot: str
    email: Email


class Reminders:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        channels: ChannelSet,
        outbox: Outbox,
        mailer: Mailer,
        composer: EmailComposer,
        clock: Clock,
        slots: ReminderSlots,
        links: MemberLinks | None = None,
        chat_links: ChatLinks | None = None,
        min_wait: timedelta = timedelta(hours=1),
        in_doubt_after: timedelta = timedelta(minutes=10),
        batch: int = 500,
        concurrency: int = 8,
        chunk: int = 64,
    ) -> None:
        """`links`: signed links to the browser check-in page and the one-click
        unsubscribe; without them an email names the chat to answer in and carries no
        List-Unsubscribe header. `min_wait`: how long after a delivery (or a nudge) a
        slot may remind. Emails are recorded `chunk` at a time (one transaction), sent
        `concurrency` at a time, and their outcomes recorded together."""
        self.sessions = sessions
        self.channels = channels
        self.outbox = outbox
        self.mailer = mailer
        self.composer = composer
        self.clock = clock
        self.slots = slots
        self.links = links
        self.chat_links = chat_links
        self.min_wait = min_wait
        self.in_doubt_after = in_doubt_after
        self.batch = batch
        self.concurrency = concurrency
        self.chunk = chunk

    async def remind(
        self, *, now: datetime | None = None, limit: int | None = None
    ) -> ReminderCounts:
        """One run: every open session's next step, for the slot `now` falls in. With
        `limit`, it stops after about that many steps (nudges and emails; sessions that
        want nothing cost none) and `more_due` says whether some were left."""
        now = now or self.clock.now()
        window = SlotWindow(now=now, slot_at=self.slots.latest(now), min_wait=self.min_wait)
        counts = ReminderCounts(slot=window.key, in_doubt=await self._mark_in_doubt(now))
        page = self.batch if limit is None else max(1, min(self.batch, limit))
        after = 0
        while rows := await self._candidates(window, after, page):
            if limit is not None and counts.steps >= limit:
                counts.more_due = True
                break
            after = rows[-1].session.id
            emails = await self._steps(rows, window, counts)
            for at in range(0, len(emails), self.chunk):
                await self._send_emails(emails[at : at + self.chunk], window.now, counts)
        return counts

    async def _candidates(self, window: SlotWindow, after: int, page: int) -> list[_Row]:
        async with self.sessions() as db:
            result = await db.execute(candidates(window, after=after, batch=page))
            return [_row_of(found, window.now) for found in result.all()]

    async def _steps(
        self, rows: list[_Row], window: SlotWindow, counts: ReminderCounts
    ) -> list[_Email]:
        """Each row's step: nudges are sent here; the emails to send are returned."""
        gate = asyncio.Semaphore(self.concurrency)
        emails: list[_Email] = []

        async def step(row: _Row) -> None:
            async with gate:
                try:
                    if email := await self._step(row, window, counts):
                        emails.append(email)
                except Exception as error:  # a bug or a database hiccup: this session only
                    log.exception("reminder for session %s crashed", row.session.id)
                    counts.errors.append(f"session {row.session.id}: {type(error).__name__}")

        await asyncio.gather(*(step(row) for row in rows))
        return sorted(emails, key=lambda email: email.row.session.id)  # one lock order

    async def _step(self, row: _Row, window: SlotWindow, counts: ReminderCounts) -> _Email | None:
        """The row's step, said (nudge or email) in the member's language."""
        with speaking(row.language):
            return await self._step_spoken(row, window, counts)

    async def _step_spoken(
        self, row: _Row, window: SlotWindow, counts: ReminderCounts
    ) -> _Email | None:
        session = row.session
        if row.unwanted is not None:
            counts.skipped += 1
            return None
        address = address_of(row.member)
        channel = await self._chat(session, address)
        at_slot = window.ripe(session.delivered_at) and (
            session.nudged_at is None or window.ripe(session.nudged_at)
        )
        if channel is not None and session.nudged_at is None:
            if at_slot:
                await self._nudge(row, address, window.now, counts)
            return None
        if at_slot and window.key is not None:
            return await self._email(row, channel, REMINDER, window.key, counts)
        if channel is None:
            return await self._email(row, None, CHECKIN, CHECKIN_SLOT, counts)
        return None

    async def _chat(self, session: CheckinSession, address: MemberAddress) -> Channel | None:
        """The chat that reaches the member, unless the check-in itself went by email."""
        if session.channel == Provider.EMAIL.value:
            return None
        return await self.channels.chat_for(address)

    # --- the nudge -------------------------------------------------------------------------
    async def _nudge(
        self, row: _Row, address: MemberAddress, now: datetime, counts: ReminderCounts
    ) -> None:
        key = nudge_key(row.session.id)
        message = OutgoingMessage(nudge_text(row), session_id=row.session.id, key=key)
        async with self.sessions.begin() as db:
            if not await _nudged(db, row.session.id, now=now):
                counts.taken += 1
                return
            await record_intent(db, key=key, to=address, kind="nudge", message=message, now=now)
        await self.outbox.send(key)  # failures are the outbox's: retried, or given up
        counts.nudged += 1

    # --- emails ----------------------------------------------------------------------------
    async def _email(
        self, row: _Row, channel: Channel | None, kind: str, slot: str, counts: ReminderCounts
    ) -> _Email | None:
        """The email to send, composed; None when the address takes no email."""
        member = row.member
        if not member.email or member.email_opt_out or member.email_suppressed or row.suppressed:
            counts.skipped += 1
            return None
        content = await self._content(row, channel, kind, member.email)
        return _Email(row, kind, slot, self.composer.compose(content))

    async def _content(
        self, row: _Row, channel: Channel | None, kind: str, to: str
    ) -> CheckinEmail:
        session, member = row.session, row.member
        link, link_to = None, None
        if channel is not None and self.chat_links is not None:
            link = await self.chat_links.chat_link(address_of(member), channel.provider)
            named = CHAT_NAMES.get(channel.provider)
            link_to = _(named) if link and named else None
        if link is None and self.links is not None:
            link = self.links.checkin(member_id=member.id, session_id=session.id)
        unsubscribe = self.links.unsubscribe(member_id=member.id) if self.links else None
        return CheckinEmail(
            kind=kind,
            to=to,
            member_name=member.display_name.split(" ")[0],
            agent_name=spoken(row.agent).name,
            question=question_text(row),
            link=link,
            link_to=link_to,
            unsubscribe_url=unsubscribe,
            tags={"kind": kind},
        )

    async def _send_emails(
        self, emails: list[_Email], now: datetime, counts: ReminderCounts
    ) -> None:
        """Record the intents (one transaction), send, record the outcomes (one more)."""
        try:
            recorded = await self._record(emails, now)
        except Exception as error:  # a database hiccup: these sessions wait for the next run
            log.exception("recording %d reminder emails failed", len(emails))
            counts.errors.append(f"{len(emails)} emails not recorded: {type(error).__name__}")
            return
        counts.taken += len(emails) - len(recorded)
        sending = [email for email in emails if email.row.session.id in recorded]
        gate = asyncio.Semaphore(self.concurrency)
        outcomes = await asyncio.gather(*(self._send(gate, email) for email in sending))
        await self._finish(
            [(recorded[e.row.session.id], e, o) for e, o in zip(sending, outcomes, strict=True)],
            counts,
        )

    async def _record(self, emails: list[_Email], now: datetime) -> dict[int, int]:
        """The intents: email_logs rows 'sending' (the unique key decides between runs) and
        the sessions' first-reminder version; session id → log id of those recorded here
        whose session is still open."""
        table = EmailLog.__table__
        assert isinstance(table, Table)
        s = CheckinSession
        async with self.sessions.begin() as db:
            insert = dialect_insert(db.get_bind(), table).values([_log_row(e, now) for e in emails])
            insert = insert.on_conflict_do_nothing(index_elements=["session_id", "kind", "slot"])
            result = await db.execute(insert.returning(table.c.session_id, table.c.id))
            inserted: dict[int, int] = {int(sid): int(lid) for sid, lid in result.all()}
            if not inserted:
                return {}
            still_open = set(
                await db.scalars(
                    update(s)
                    .where(s.id.in_(inserted), s.state.in_(OPEN))
                    .values(reminded_version=func.coalesce(s.reminded_version, s.version))
                    .returning(s.id)
                    .execution_options(synchronize_session=False)
                )
            )
            gone = [lid for sid, lid in inserted.items() if sid not in still_open]
            if gone:  # answered or closed meanwhile: no email
                await db.execute(delete(EmailLog).where(EmailLog.id.in_(gone)))
        return {sid: lid for sid, lid in inserted.items() if sid in still_open}

    async def _send(self, gate: asyncio.Semaphore, email: _Email) -> tuple[bool, str]:
        """(sent, the provider's message id) or (not sent, the reason)."""
        async with gate:
            try:
                return True, (await self.mailer.send(email.email))[:128]
            except DeliveryError as error:
                return False, str(error)[:200]
            except Exception as error:  # a bug: this email only, recorded as failed
                log.exception("sending email of session %s crashed", email.row.session.id)
                return False, f"internal error: {type(error).__name__}"

    async def _finish(
        self, done: list[tuple[int, _Email, tuple[bool, str]]], counts: ReminderCounts
    ) -> None:
        values = []
        for log_id, email, (sent, detail) in done:
            values.append(
                {"id": log_id, "status": "sent", "provider_message_id": detail, "error": None}
                if sent
                else {
                    "id": log_id,
                    "status": "failed",
                    "provider_message_id": None,
                    "error": detail,
                }
            )
            if sent:
                counts.emailed += 1
                continue
            counts.failed += 1
            counts.errors.append(f"session {email.row.session.id}: {email.kind} email: {detail}")
            log.warning("email %s of session %s failed: %s", log_id, email.row.session.id, detail)
        if values:
            async with self.sessions.begin() as db:
                await db.execute(update(EmailLog), values)  # by primary key, one executemany

    async def _mark_in_doubt(self, now: datetime) -> int:
        """Emails a stopped run left 'sending': never sent again for their slot, marked."""
        async with self.sessions.begin() as db:
            result = await db.execute(
                update(EmailLog)
                .where(
                    EmailLog.status == "sending",
                    EmailLog.attempted_at < now - self.in_doubt_after,
                )
                .values(status="in_doubt", error="the sender stopped mid-send: outcome unknown")
            )
        marked = int(result.rowcount)  # type: ignore[attr-defined]
        if marked:
            log.warning("%d reminder emails in doubt (a run stopped mid-send); not resent", marked)
        return marked


async def _nudged(db: AsyncSession, session_id: int, *, now: datetime) -> bool:
    """Record the nudge on the session (nudged_at, and the version it stands at as the
    first reminder's): False when the session moved on or was nudged already."""
    s = CheckinSession
    result = await db.execute(
        update(s)
        .where(s.id == session_id, s.state.in_(OPEN), s.nudged_at.is_(None))
        .values(nudged_at=now, reminded_version=func.coalesce(s.reminded_version, s.version))
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


def _log_row(email: _Email, now: datetime) -> dict[str, Any]:
    session = email.row.session
    return {
        "org_id": session.org_id,
        "session_id": session.id,
        "member_id": session.member_id,
        "kind": email.kind,
        "slot": email.slot,
        "status": "sending",
        "attempted_at": now,
    }


def _row_of(found: Sequence[Any], now: datetime) -> _Row:
    session, member, org, agent, schedule_active, suppressed = found
    spec = agent_spec(agent)
    unwanted = not_wanted(
        org=org,
        member=member,
        local_date=session.local_date,
        agent_slug=spec.slug,
        schedule_active=schedule_active is not False,  # NULL: an on-demand check-in
        now=now,
    )
    language = member_language(member.language, org.language)
    return _Row(session, member, spec, unwanted, bool(suppressed), language)


def question_text(row: _Row) -> str:
    """The question the check-in waits on (core markup): the pending one, else the first
    of the session's plan; a follow-up of the previous check-in says what it follows up."""
    state = row.session.brain_state or {}
    recall = recall_in(state)
    plan = plan_for(spoken(row.agent), recall)
    question = pending_question(plan, state) or (plan.questions[0] if plan.questions else None)
    if question is None:
        return _(NO_QUESTION, name=row.member.display_name)
    if recall is not None and question.key in FOLLOW_UPS.values():
        return f"{recall_line(recall)}\n{question.text}"
    return question.text


def nudge_text(row: _Row) -> str:
    return _(NUDGE, agent=spoken(row.agent).name, question=question_text(row))


def nudge_key(session_id: int) -> str:
    """The outbox key of a session's one nudge."""
    return f"nudge:{session_id}"
