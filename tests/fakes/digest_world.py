"""A team whose daily check-ins make digests: an org, its people, a schedule with a
report channel and the check-ins of one local date, written straight to the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.store.models import (
    Agent,
    CheckinSession,
    Digest,
    Dot,
    Installation,
    Member,
    Organization,
    Schedule,
)

DAY = date(2026, 11, 24)
DUE = datetime.combine(DAY, time(9), tzinfo=UTC)
#: When the day's check-ins expire: after it, the window has closed whatever their state.
EXPIRES = DUE + timedelta(hours=15)


async def _insert(db: AsyncSession, model: Any, **values: Any) -> int:
    return (await db.execute(insert(model).values(**values).returning(model.id))).scalar_one()


@dataclass
class Team:
    sessions: async_sessionmaker[AsyncSession]
    org_id: int = 0
    schedule_id: int = 0
    agent_id: int = 0
    people: list[int] = field(default_factory=list)

    @classmethod
    async def create(
        cls,
        sessions: async_sessionmaker[AsyncSession],
        *,
        size: int,
        report_channel: str | None = "C0TEAM",
        chat: tuple[str, str] | None = ("slack", "T0TEST"),
        slug: str = "acme",
    ) -> Team:
        """`size` people (the first the owner); `chat`: the org's installation."""
        team = cls(sessions)
        async with sessions.begin() as db:
            team.org_id = await _insert(db, Organization, slug=slug, name=slug.title())
            if chat is not None:
                await _insert(db, Installation, org_id=team.org_id, provider=chat[0],
                              external_id=chat[1], bot_user_id="28:vizdots-bot")  # fmt: skip
            team.agent_id = (
                await db.scalar(
                    select(Agent.id).where(Agent.slug == "daily", Agent.org_id.is_(None))
                )
            ) or 0
            team.schedule_id = await _insert(
                db,
                Schedule,
                org_id=team.org_id,
                agent_id=team.agent_id,
                weekdays=127,
                local_time=time(9),
                report_channel=report_channel,
            )
            for n in range(size):
                team.people.append(
                    await _insert(
                        db,
                        Member,
                        org_id=team.org_id,
                        display_name=f"Person {n}",
                        email=f"p{n}@{slug}.example",
                        role="owner" if n == 0 else "member",
                    )
                )
        return team

    async def checkin(
        self,
        person: int,
        *,
        state: str = "completed",
        on: date = DAY,
        mood: float | None = 4.0,
        blocker: str | None = None,
        summary: str | None = "Steady day.",
    ) -> int:
        """The person's check-in of a local date, with its dots when completed."""
        member_id = self.people[person]
        due = datetime.combine(on, time(9), tzinfo=UTC)
        async with self.sessions.begin() as db:
            session_id = await _insert(
                db, CheckinSession, org_id=self.org_id, schedule_id=self.schedule_id,
                member_id=member_id, agent_id=self.agent_id, local_date=on, due_at=due,
                expires_at=due + timedelta(hours=15), state=state,
                summary=summary if state == "completed" else None,
            )  # fmt: skip
            if state != "completed":
                return session_id
            dots = {"mood": (mood, None), "blockers": (None, blocker)}
            for key, (number, text) in dots.items():
                if number is not None or text is not None:
                    await _insert(db, Dot, session_id=session_id, org_id=self.org_id,
                                  member_id=member_id, key=key, num_value=number,
                                  text_value=text)  # fmt: skip
        return session_id

    async def digests(self) -> list[Digest]:
        async with self.sessions() as db:
            return list(
                await db.scalars(
                    select(Digest).where(Digest.org_id == self.org_id).order_by(Digest.id)
                )
            )
