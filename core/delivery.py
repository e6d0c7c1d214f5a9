"""Delivery: each due session is sent exactly once, even with several workers.

A worker claims due sessions by moving them from `scheduled` to `delivering` in one
UPDATE (on PostgreSQL the candidate rows are locked with SKIP LOCKED, so two workers
never pick the same row); only the claimant opens the conversation. The opening is
recorded in one transaction with the session's move to `delivered` and its outbox row;
the outbox then sends it (and retries, or finds it sent after a crash). A claim left by
a worker that died before that transaction is taken again after CLAIM_TIMEOUT: nothing
had been sent, so nothing is sent twice.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Select, Update, and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.catalog import spoken_input
from core.channels import ChannelSet
from core.continuity import recall_for, with_recall
from core.conversation_store import Conversation, load_conversation, record_calls
from core.domain import Provider, SessionState, Speaker
from core.eligibility import unwanted
from core.i18n import member_language, speaking
from core.members import zone_or_default
from core.outbox import Outbox, Sent, message_of, record_intent
from core.ports import Brain, BrainReply, Clock, DeliveryError, OutgoingMessage, Signals
from core.records import address_of
from core.rendering import agent_message
from core.schedule_time import MAX_LATENESS, expires_at
from core.store.claims import claim
from core.store.models import Agent, CheckinSession, Member, Message, OutboxMessage, Schedule

log = logging.getLogger("vizdots.delivery")

CLAIM_TIMEOUT = timedelta(minutes=10)


class NotToday(Exception):
    """The session is no longer wanted (schedule paused, vacation…): skip it, don't retry."""


class AwayToday(NotToday):
    """The member's chat status says they are away today."""


MAX_ATTEMPTS = 5
OPEN_OR_WAITING = ("scheduled", "delivering", "delivered", "in_progress")
#: A day's check-in in these states is over: `start` does not open another that day.
_OVER = tuple(s.value for s in (SessionState.COMPLETED, SessionState.SKIPPED, SessionState.EXPIRED))


@dataclass
class DeliveryCounts:
    delivered: int = 0
    to_email: int = 0
    away: int = 0
    skipped: int = 0
    retried: int = 0
    failed: int = 0
    expired: int = 0
    #: Whether due sessions were left for later (the batch was full).
    more_due: bool = False
    errors: list[str] = field(default_factory=list)


class Delivery:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        brain: Brain,
        channels: ChannelSet,
        clock: Clock,
        grace: timedelta,
        outbox: Outbox,
        concurrency: int = 8,
        signals: Signals | None = None,
    ) -> None:
        self.sessions = sessions
        self.signals = signals
        self.outbox = outbox
        self.brain = brain
        self.channels = channels
        self.clock = clock
        self.grace = grace
        self.concurrency = concurrency

    async def deliver_due(self, *, now: datetime, limit: int | None = None) -> DeliveryCounts:
        """Expire what is over, then send every due session once (at most `limit` of them:
        `more_due` then says whether some were left for the next call).

        Sessions are claimed `concurrency` at a time, so a claim is always being worked
        on and never outlives CLAIM_TIMEOUT while it waits in a queue.
        """
        counts = DeliveryCounts(expired=await self.expire(now=now))
        taken = 0
        while limit is None or taken < limit:
            batch = self.concurrency if limit is None else min(self.concurrency, limit - taken)
            claimed = await self._claim(now=now, batch=batch)
            if not claimed:
                return counts
            await asyncio.gather(*(self._deliver_claimed(s, counts) for s in claimed))
            taken += len(claimed)
        counts.more_due = await self._any_due(now=now)
        return counts

    async def expire(self, *, now: datetime) -> int:
        """Past the member's day (plus grace), or never sent and now too late to send."""
        over = CheckinSession.expires_at <= now
        missed = and_(
            CheckinSession.state == SessionState.SCHEDULED.value,
            CheckinSession.due_at < now - MAX_LATENESS,
        )
        async with self.sessions.begin() as db:
            result = await db.execute(
                update(CheckinSession)
                .where(CheckinSession.state.in_(OPEN_OR_WAITING), or_(over, missed))
                .values(state=SessionState.EXPIRED.value)
            )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def _any_due(self, *, now: datetime) -> bool:
        async with self.sessions() as db:
            return await db.scalar(_due(now).limit(1)) is not None

    async def _claim(self, *, now: datetime, batch: int) -> list[int]:
        claimable = _claimable(now)
        due = _due(now)
        async with self.sessions.begin() as db:
            rows = await db.scalars(
                claim(
                    CheckinSession,
                    candidates=due.order_by(CheckinSession.due_at),
                    still_free=claimable,
                    limit=batch,
                    values={
                        "state": SessionState.DELIVERING.value,
                        "claimed_at": now,
                        "delivery_attempts": CheckinSession.delivery_attempts + 1,
                    },
                    returning=[CheckinSession.id],
                )
            )
            return list(rows)

    async def _deliver_claimed(self, session_id: int, counts: DeliveryCounts) -> None:
        try:
            outcome = await self.deliver_one(session_id)
        except NotToday as skip:
            await self._skip(session_id, skip)
            counts.away += isinstance(skip, AwayToday)
            counts.skipped += not isinstance(skip, AwayToday)
            return
        except DeliveryError as error:
            await self._release(session_id, error, counts)
            return
        except Exception as error:  # a bug or a database hiccup: this session only, retried
            log.exception("delivery of session %s crashed", session_id)
            failure = DeliveryError(f"internal error: {type(error).__name__}", retryable=True)
            await self._release(session_id, failure, counts)
            return
        _count(counts, session_id, outcome)

    async def deliver_one(self, session_id: int) -> Provider | Sent | None:
        """Open the conversation in the member's channel: how its opening fared, EMAIL when
        no chat reaches the member, None when the session was skipped meanwhile."""
        async with self.sessions() as db:
            convo = await load_conversation(db, session_id)
            if reason := await unwanted(db, convo, self.clock.now()):
                raise NotToday(reason)
            recall = await recall_for(db, convo.session, convo.member)
        address = address_of(convo.member)
        channel = await self.channels.chat_for(address)
        if channel is not None and (reason := await channel.away(address)):
            raise AwayToday(f"away: {reason}")
        with speaking(member_language(convo.member.language, convo.org.language)):
            reply = await self.brain.opening(
                spoken_input(convo.brain_input(with_recall({}, recall)))
            )
            message = agent_message(session_id, reply.text, reply.question)
        provider = channel.provider if channel else Provider.EMAIL
        if not await self._record_opening(convo, reply, message, provider):
            return None
        if channel is None:
            return Provider.EMAIL
        return await self.outbox.send(opening_key(session_id))

    async def _record_opening(
        self, convo: Conversation, reply: BrainReply, message: OutgoingMessage, provider: Provider
    ) -> bool:
        """The opening decided: the session delivered, the turn stored and, for a chat, the
        message recorded in the outbox, all at once. False if the session moved on."""
        now = self.clock.now()
        async with self.sessions.begin() as db:
            result = await db.execute(
                update(CheckinSession)
                .where(  # a skip or vacation set meanwhile stands
                    CheckinSession.id == convo.session.id,
                    CheckinSession.state == SessionState.DELIVERING.value,
                )
                .values(
                    state=SessionState.DELIVERED.value,
                    delivered_at=now,
                    channel=provider.value,
                    brain_state=dict(reply.state),
                    version=CheckinSession.version + 1,
                )
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return False
            turn = Message(
                session_id=convo.session.id,
                speaker=Speaker.AGENT.value,
                text=message.text,
                question_key=reply.question.key if reply.question else None,
            )
            db.add(turn)
            record_calls(db, convo, reply.calls)
            if provider is not Provider.EMAIL:
                await db.flush()
                await record_intent(
                    db,
                    key=opening_key(convo.session.id),
                    to=address_of(convo.member),
                    kind="opening",
                    message=message,
                    now=now,
                    message_row_id=turn.id,
                )
        if self.signals is not None:
            self.signals.delivered(lag=now - convo.session.due_at)
        return True

    async def _skip(self, session_id: int, skip: NotToday) -> None:
        async with self.sessions.begin() as db:
            await db.execute(
                update(CheckinSession)
                .where(
                    CheckinSession.id == session_id,
                    CheckinSession.state == SessionState.DELIVERING.value,
                )
                .values(state=SessionState.SKIPPED.value, outcome_note=str(skip)[:200])
            )

    async def _release(self, session_id: int, error: DeliveryError, counts: DeliveryCounts) -> None:
        """Give a failed claim back for a later attempt, or mark it failed for good."""
        async with self.sessions.begin() as db:
            session = await db.get_one(CheckinSession, session_id)
            give_up = not error.retryable or session.delivery_attempts >= MAX_ATTEMPTS
            session.state = (SessionState.FAILED if give_up else SessionState.SCHEDULED).value
            session.outcome_note = str(error)[:200]
            if not give_up:  # back off: 1, 2, 4, 8 minutes
                backoff = timedelta(minutes=2 ** (session.delivery_attempts - 1))
                session.due_at = self.clock.now() + backoff
        counts.errors.append(f"session {session_id}: {error}")
        if give_up:
            counts.failed += 1
        else:
            counts.retried += 1
        log.warning("delivery of session %s failed (%s)", session_id, error)

    async def start_now(
        self, *, member_id: int, agent_slug: str | None = None
    ) -> OutgoingMessage | None:
        """An on-demand check-in, created and delivered at once; None if today's is over
        (one a day per agent). Run again after a crash, it resumes the same check-in."""
        found = await self._on_demand_session(member_id, agent_slug)
        if found is None:
            return None
        session_id, to_deliver = found
        if to_deliver:
            await self._deliver_claimed(session_id, DeliveryCounts())
        else:
            await self.outbox.send(opening_key(session_id))
        return await self._opening(session_id)

    async def _opening(self, session_id: int) -> OutgoingMessage | None:
        """The session's opening as recorded for sending, with its buttons."""
        key = opening_key(session_id)
        async with self.sessions() as db:
            payload = await db.scalar(select(OutboxMessage.payload).where(OutboxMessage.key == key))
            if payload is not None:
                return message_of(payload, key)
            opening = await db.scalar(
                select(Message).where(Message.session_id == session_id).order_by(Message.id)
            )
        return OutgoingMessage(opening.text, session_id=session_id) if opening else None

    async def todays_end(self, member_id: int) -> SessionState | None:
        """How today's check-in ended (completed, skipped, expired), or None when `start`
        would open one now (one a day per agent)."""
        now = self.clock.now()
        async with self.sessions() as db:
            member = await db.get_one(Member, member_id)
            agent_id = await self._agent_for(db, member, None)
            if agent_id is None:
                return SessionState.EXPIRED
            local_date = now.astimezone(zone_or_default(member.timezone)).date()
            return await _over_today(db, member_id, agent_id, local_date, now)

    async def _on_demand_session(
        self, member_id: int, agent_slug: str | None
    ) -> tuple[int, bool] | None:
        """Today's on-demand session and whether it is yet to be delivered by this caller:
        today's planned check-in brought forward, one created now, or one taken over from
        a start that died before its opening was recorded. None once today's is over."""
        now = self.clock.now()
        async with self.sessions() as db:
            member = await db.get_one(Member, member_id)
            agent_id = await self._agent_for(db, member, agent_slug)
        if agent_id is None:
            return None
        zone = zone_or_default(member.timezone)
        local_date = now.astimezone(zone).date()
        async with self.sessions.begin() as db:
            if await _over_today(db, member_id, agent_id, local_date, now) is not None:
                return None
            planned = await db.scalar(_bring_forward(member_id, agent_id, local_date, now))
        if planned is not None:
            return planned, True
        session = CheckinSession(
            org_id=member.org_id,
            member_id=member.id,
            agent_id=agent_id,
            local_date=local_date,
            due_at=now,
            expires_at=expires_at(local_date=local_date, zone=zone, grace=self.grace),
            state=SessionState.DELIVERING.value,
            claimed_at=now,
            delivery_attempts=1,
        )
        try:
            async with self.sessions.begin() as db:
                db.add(session)
        except IntegrityError:
            return await self._today_on_demand(member_id, agent_id, local_date, now)
        return session.id, True

    async def _today_on_demand(
        self, member_id: int, agent_id: int, local_date: date, now: datetime
    ) -> tuple[int, bool] | None:
        """The existing on-demand session: taken over while its opening is undecided (only
        one opening is ever recorded), resumed while open, None once it is over."""
        async with self.sessions.begin() as db:
            session = await db.scalar(
                select(CheckinSession).where(
                    CheckinSession.member_id == member_id,
                    CheckinSession.agent_id == agent_id,
                    CheckinSession.local_date == local_date,
                    CheckinSession.schedule_id.is_(None),
                )
            )
            if session is None or session.expires_at <= now:
                return None
            if session.state == SessionState.DELIVERING.value:
                session.claimed_at = now
                return session.id, True
            if session.state in (SessionState.DELIVERED.value, SessionState.IN_PROGRESS.value):
                return session.id, False
        return None

    async def _agent_for(self, db: AsyncSession, member: Member, slug: str | None) -> int | None:
        """The named agent, else the org's first active schedule's, else the daily check-in."""
        if slug is None:
            scheduled = await db.scalar(
                select(Schedule.agent_id)
                .where(Schedule.org_id == member.org_id, Schedule.active.is_(True))
                .order_by(Schedule.id)
                .limit(1)
            )
            if scheduled is not None:
                return scheduled
            slug = "daily"
        return await db.scalar(
            select(Agent.id)
            .where(Agent.slug == slug, or_(Agent.org_id == member.org_id, Agent.org_id.is_(None)))
            .order_by(Agent.org_id.is_(None))
            .limit(1)
        )


async def _over_today(
    db: AsyncSession, member_id: int, agent_id: int, local_date: date, now: datetime
) -> SessionState | None:
    """How the member's check-in of this agent for `local_date` ended (answered, skipped,
    or expired), planned or started on demand; None while it is not over."""
    over = select(CheckinSession.state, CheckinSession.expires_at).where(
        CheckinSession.member_id == member_id,
        CheckinSession.agent_id == agent_id,
        CheckinSession.local_date == local_date,
        or_(CheckinSession.state.in_(_OVER), CheckinSession.expires_at <= now),
    )
    row = (await db.execute(over.limit(1))).first()
    if row is None:
        return None
    return SessionState(row.state) if row.state in _OVER else SessionState.EXPIRED


def _bring_forward(member_id: int, agent_id: int, local_date: date, now: datetime) -> Update:
    """Claim today's planned, not yet delivered check-in of this agent, due now."""
    return (
        update(CheckinSession)
        .where(
            CheckinSession.member_id == member_id,
            CheckinSession.agent_id == agent_id,
            CheckinSession.local_date == local_date,
            CheckinSession.state == SessionState.SCHEDULED.value,
            CheckinSession.expires_at > now,
        )
        .values(
            state=SessionState.DELIVERING.value,
            due_at=now,
            claimed_at=now,
            delivery_attempts=CheckinSession.delivery_attempts + 1,
        )
        .returning(CheckinSession.id)
    )


def opening_key(session_id: int) -> str:
    """The outbox key of a session's opening message."""
    return f"opening:{session_id}"


def _claimable(now: datetime) -> ColumnElement[bool]:
    return or_(
        CheckinSession.state == SessionState.SCHEDULED.value,
        and_(
            CheckinSession.state == SessionState.DELIVERING.value,
            CheckinSession.claimed_at < now - CLAIM_TIMEOUT,
        ),
    )


def _due(now: datetime) -> Select[int]:
    return select(CheckinSession.id).where(
        _claimable(now),
        CheckinSession.due_at.between(now - MAX_LATENESS, now),
        CheckinSession.expires_at > now,
    )


def _count(counts: DeliveryCounts, session_id: int, outcome: Provider | Sent | None) -> None:
    if outcome is None:
        counts.skipped += 1
    elif outcome is Provider.EMAIL:
        counts.to_email += 1
    elif outcome is Sent.RETRYING:
        counts.retried += 1
        counts.errors.append(f"session {session_id}: opening not sent yet; retried later")
    elif outcome is Sent.FAILED:
        counts.failed += 1
        counts.errors.append(f"session {session_id}: opening could not be sent")
    else:
        counts.delivered += 1
