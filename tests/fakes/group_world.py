"""A group of N people checking in with the daily agent, for the insights, report and
dashboard tests: an org, its members (everyone takes part), the daily schedule, and
check-ins written straight to the tables with their mood and blocker dots."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.store.models import Agent, CheckinSession, Dot, Member, Organization, Schedule

#: Wednesday: the group's last day in the tests.
UNTIL = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 20, tzinfo=UTC)
NAMES = ("Ana", "Ben", "Cy", "Dee", "Eli", "Fox", "Gus")


@dataclass
class Group:
    sessions: async_sessionmaker[AsyncSession]
    org_id: int
    schedule_id: int
    agent_id: int
    slug: str
    members: dict[str, int] = field(default_factory=dict)

    async def check_in(
        self, who: str, on: date, *, state: str = "completed", mood: float | None = None,
        blocker: str | None = None, summary: str | None = None, note: str | None = None,
    ) -> None:  # fmt: skip
        due = datetime.combine(on, time(9), tzinfo=UTC)
        async with self.sessions.begin() as db:
            session = CheckinSession(
                org_id=self.org_id, schedule_id=self.schedule_id, member_id=self.members[who],
                agent_id=self.agent_id, local_date=on, due_at=due,
                expires_at=due + timedelta(hours=15), state=state, delivered_at=due,
                summary=summary, outcome_note=note,
            )  # fmt: skip
            db.add(session)
            await db.flush()
            for key, num, text in (("mood", mood, None), ("blockers", None, blocker)):
                if num is not None or text is not None:
                    db.add(Dot(session_id=session.id, org_id=self.org_id,
                               member_id=self.members[who], key=key, num_value=num,
                               text_value=text))  # fmt: skip


async def build_group(
    sessions: async_sessionmaker[AsyncSession], *, people: int, slug: str = "acme"
) -> Group:
    async with sessions.begin() as db:
        org = Organization(slug=slug, name=slug.title())
        db.add(org)
        await db.flush()
        daily = await db.scalar(
            select(Agent.id).where(Agent.slug == "daily", Agent.org_id.is_(None))
        )
        assert daily is not None
        schedule = Schedule(org_id=org.id, agent_id=daily, weekdays=127, local_time=time(9))
        members = [
            Member(org_id=org.id, display_name=f"{name} {slug.title()}",
                   email=f"{name.lower()}@{slug}.io", role="owner" if n == 0 else "member",
                   slack_user_id=f"U{slug}{name.lower()}")
            for n, name in enumerate(NAMES[:people])
        ]  # fmt: skip
        db.add_all([schedule, *members])
        await db.flush()
        group = Group(sessions, org.id, schedule.id, daily, slug)
        group.members = {name: m.id for name, m in zip(NAMES, members, strict=False)}
    return group
