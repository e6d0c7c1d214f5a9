"""A deployment for reminder tests: delivery, conversations and reminders over one
database, a fake chat, any Mailer, signed-link fakes and a clock the test moves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from adapters.email.compose import TemplateComposer
from core.conversation import Conversations
from core.delivery import Delivery
from core.domain import Provider
from core.inbound import IncomingMessage, Sender
from core.ports import Mailer
from core.reminder_slots import ReminderSlots
from core.reminders import Reminders
from core.scripted_brain import ScriptedBrain
from core.store.models import CheckinSession, EmailLog, Member, OutboxMessage
from tests.fakes.channel import FakeChannel
from tests.fakes.clock import FakeClock
from tests.fakes.core_parts import core_parts
from tests.fakes.links import FakeLinks
from tests.fakes.world import add_due_session, add_member, add_org

#: Wednesday 25 November 2026, 08:00 UTC: check-ins are due; the first slot is at 09:00.
DUE = datetime(2026, 11, 25, 8, tzinfo=UTC)


@dataclass
class World:
    sessions: async_sessionmaker[AsyncSession]
    channel: FakeChannel
    clock: FakeClock
    delivery: Delivery
    conversations: Conversations
    reminders: Reminders

    async def deliver(self) -> None:
        await self.delivery.deliver_due(now=self.clock.now())

    async def remind_at(self, hour: int, minute: int = 0, *, day: int = 25):
        self.clock.current = datetime(2026, 11, day, hour, minute, tzinfo=UTC)
        return await self.reminders.remind()

    async def answer(self, email: str, text: str) -> None:
        sender = Sender(Provider.DEV, "acme", email)
        await self.conversations.handle_message(IncomingMessage(sender=sender, text=text))

    async def email_logs(self) -> list[tuple[int, str, str, str]]:
        async with self.sessions() as db:
            rows = await db.execute(
                select(EmailLog.session_id, EmailLog.kind, EmailLog.slot, EmailLog.status).order_by(
                    EmailLog.id
                )
            )
            return [tuple(r) for r in rows.all()]  # type: ignore[misc]

    async def session(self, session_id: int) -> CheckinSession:
        async with self.sessions() as db:
            return await db.get_one(CheckinSession, session_id)

    async def nudges(self) -> list[str]:
        async with self.sessions() as db:
            query = select(OutboxMessage.key).where(OutboxMessage.kind == "nudge")
            return list(await db.scalars(query.order_by(OutboxMessage.id)))

    async def count_logs(self, **where: object) -> int:
        async with self.sessions() as db:
            query = select(func.count()).select_from(EmailLog).filter_by(**where)
            return int(await db.scalar(query) or 0)


def build_world(
    engine: AsyncEngine, mailer: Mailer, *, channel: FakeChannel | None = None, **options: object
) -> World:
    channel = channel or FakeChannel()
    clock = FakeClock(DUE)
    parts = core_parts(engine, ScriptedBrain(), channel, clock)
    sessions, channels, outbox = parts.sessions, parts.channels, parts.outbox
    reminders = Reminders(
        sessions=sessions,
        channels=channels,
        outbox=outbox,
        mailer=mailer,
        composer=TemplateComposer(),
        clock=clock,
        slots=ReminderSlots(),
        links=FakeLinks(),
        **options,  # type: ignore[arg-type]
    )
    return World(sessions, channel, clock, parts.delivery, parts.conversations, reminders)


async def add_members(
    sessions: async_sessionmaker[AsyncSession], *people: tuple[str, dict[str, object]]
) -> dict[str, int]:
    """Members of org "acme" (email → options), each with a daily check-in due at DUE;
    returns email → session id."""
    async with sessions.begin() as db:
        org = await add_org(db)
        for email, values in people:
            await add_member(db, org, email, **values)
    return {email: await add_due_session(sessions, email, due=DUE) for email, _ in people}


async def member_id(sessions: async_sessionmaker[AsyncSession], email: str) -> int:
    async with sessions() as db:
        found = await db.scalar(select(Member.id).where(Member.email == email))
    assert found is not None
    return found
