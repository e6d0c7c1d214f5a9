"""Two organisations for the admin API tests: Acme (the data under test) and Rival
(whose tokens must see none of it), each with members, a schedule, check-ins, dots,
logs and a token of every role."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.admin.audit import CLI
from core.admin.tokens import TokenRole, create_token
from core.store.models import (
    Agent,
    AiLog,
    CheckinSession,
    Dot,
    EmailLog,
    Member,
    Message,
    Organization,
    Schedule,
)  # fmt: skip

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
DAYS = [date(2026, 11, 23), date(2026, 11, 24)]


@dataclass
class OrgData:
    org_id: int
    member_ids: list[int]
    schedule_id: int
    agent_slug: str
    tokens: dict[TokenRole, str] = field(default_factory=dict)
    token_prefix: str = ""

    def auth(self, role: TokenRole = TokenRole.OWNER) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


async def build_org(sessions: async_sessionmaker[AsyncSession], slug: str) -> OrgData:
    async with sessions.begin() as db:
        org = Organization(slug=slug, name=slug.title())
        db.add(org)
        await db.flush()
        members = [
            Member(org_id=org.id, display_name=f"{name} {slug}", email=f"{name}@{slug}.io",
                   role=role, slack_user_id=f"U{slug}{name}")
            for name, role in (("ana", "owner"), ("bo", "member"), ("cy", "member"))
        ]  # fmt: skip
        db.add_all(members)
        agent = Agent(org_id=org.id, slug=f"{slug}-pulse", name="Pulse", persona="p", goal="g",
                      questions=[{"key": "mood", "text": "Mood?", "kind": "scale"}],
                      dot_keys=["mood"])  # fmt: skip
        db.add(agent)
        await db.flush()
        daily = await db.scalar(
            select(Agent.id).where(Agent.slug == "daily", Agent.org_id.is_(None))
        )
        schedule = Schedule(org_id=org.id, agent_id=daily, weekdays=127, local_time=time(9))
        db.add(schedule)
        await db.flush()
        for n, member in enumerate(members):
            for day in DAYS:
                await _checkin(db, org.id, schedule, member, day, mood=float(2 + n))
        data = OrgData(org.id, [m.id for m in members], schedule.id, agent.slug)
        for role in TokenRole:
            made = await create_token(db, org_id=org.id, name=f"{role} token", role=role,
                                      actor=CLI, now=NOW)  # fmt: skip
            data.tokens[role] = made.plaintext
            data.token_prefix = made.prefix
    return data


async def _checkin(
    db: AsyncSession, org_id: int, schedule: Schedule, member: Member, day: date, *, mood: float
) -> None:
    due = datetime.combine(day, time(9), tzinfo=UTC)
    session = CheckinSession(
        org_id=org_id, schedule_id=schedule.id, member_id=member.id, agent_id=schedule.agent_id,
        local_date=day, due_at=due, expires_at=due + timedelta(hours=15), state="completed",
        summary=f"{member.display_name} feels {mood}", delivered_at=due, completed_at=due,
    )  # fmt: skip
    db.add(session)
    await db.flush()
    db.add_all([
        Message(session_id=session.id, speaker="member", text=f"secret words of {member.email}"),
        Dot(session_id=session.id, org_id=org_id, member_id=member.id, key="mood", num_value=mood),
        Dot(session_id=session.id, org_id=org_id, member_id=member.id, key="blockers",
            text_value=f"=blocked by {member.display_name}"),
        AiLog(org_id=org_id, session_id=session.id, purpose="turn", model="m", outcome="ok",
              prompt_text=f"prompt about {member.email}"),
        EmailLog(org_id=org_id, session_id=session.id, member_id=member.id, kind="reminder",
                 slot=f"{day}T09:00Z", status="sent"),
    ])  # fmt: skip


async def snapshot(sessions: async_sessionmaker[AsyncSession], org_id: int) -> dict[str, Any]:
    """Every row of the org that an admin route could change, as plain tuples."""
    from core.store.models import AdminToken, ScheduleParticipant

    found: dict[str, Any] = {}
    async with sessions() as db:
        for model in (Organization, Member, Agent, Schedule, CheckinSession, Dot, Message,
                      AiLog, EmailLog, AdminToken):  # fmt: skip
            table = model.__table__
            if model is Message:
                own = select(CheckinSession.id).where(CheckinSession.org_id == org_id)
                query = select(table).where(table.c.session_id.in_(own))
            else:
                column = table.c.id if model is Organization else table.c.org_id
                query = select(table).where(column == org_id)
            found[table.name] = sorted(tuple(map(str, row)) for row in await db.execute(query))
        listed = select(ScheduleParticipant.__table__)
        found["schedule_participants"] = sorted(map(tuple, await db.execute(listed)))
    return found


def client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
