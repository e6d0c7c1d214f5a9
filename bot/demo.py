"""`vizdots demo`: a demo team in several timezones with a check-in waiting for each,
and a month of past check-ins for the dashboard (bot/demo_history.py).

One member has no chat account (members.email_only): no chat, not even the local one,
reaches her, so her check-in goes out by email — a .eml file under ./outbox/ when SES
is not configured."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.bootstrap import Services
from bot.demo_history import seed_history
from core.admin.audit import ChangeActor, record_change
from core.store.models import Agent, Member, Organization, Schedule

DEMO_SLUG = "demo"
DEMO_TEAM = (
    ("Ana Owner", "ana@demo.vizdots.dev", "America/New_York", "owner"),
    ("Ben Berlin", "ben@demo.vizdots.dev", "Europe/Berlin", "member"),
    ("Chitra Rao", "chitra@demo.vizdots.dev", "Asia/Kolkata", "member"),
    ("Dan Sydney", "dan@demo.vizdots.dev", "Australia/Sydney", "member"),
    ("Eve West", "eve@demo.vizdots.dev", "America/Los_Angeles", "admin"),
)
#: The member with no chat account: her check-in is an email.
EMAIL_ONLY = ("Fay Field", "fay@demo.vizdots.dev", "Europe/London", "member")


@dataclass(frozen=True)
class DemoResult:
    members: list[str]
    delivered: int
    #: Check-in emails sent now (to the email-only member), and the address.
    emailed: int = 0
    email_only: str = EMAIL_ONLY[1]


async def create_demo(services: Services) -> DemoResult:
    """Idempotent: a second run adds nothing and delivers only to members with nothing open."""
    async with services.sessions.begin() as db:
        org = await _demo_org(db)
        members = [await _demo_member(db, org, *person) for person in DEMO_TEAM]
        members.append(await _demo_member(db, org, *EMAIL_ONLY, email_only=True))
        schedule = await _daily_schedule(db, org)
        if schedule is not None:
            await seed_history(db, schedule=schedule, members=members, now=services.clock.now())
    delivered = 0
    for member in members:
        if not await _has_open_session(services, member.id):
            delivered += bool(await services.delivery.start_now(member_id=member.id))
    emailed = 0
    if services.reminders is not None:  # the email-only check-in goes out at once
        emailed = (await services.reminders.remind(now=services.clock.now())).emailed
    return DemoResult(
        members=[m.email or "" for m in members], delivered=delivered, emailed=emailed
    )


async def _demo_org(db: AsyncSession) -> Organization:
    org = await db.scalar(select(Organization).where(Organization.slug == DEMO_SLUG))
    if org is None:
        org = Organization(slug=DEMO_SLUG, name="Demo Co", plan_status="trialing")
        db.add(org)
        await db.flush()
    return org


async def _demo_member(
    db: AsyncSession,
    org: Organization,
    name: str,
    email: str,
    zone: str,
    role: str,
    *,
    email_only: bool = False,
) -> Member:
    member = await db.scalar(select(Member).where(Member.org_id == org.id, Member.email == email))
    if member is None:
        member = Member(
            org_id=org.id,
            display_name=name,
            email=email,
            timezone=zone,
            role=role,
            email_only=email_only,
        )
        db.add(member)
        await db.flush()
    return member


async def _daily_schedule(db: AsyncSession, org: Organization) -> Schedule | None:
    """The demo's daily schedule (made on the first run); None when the org has another."""
    daily = await db.scalar(select(Agent.id).where(Agent.slug == "daily", Agent.org_id.is_(None)))
    found = await db.scalar(select(Schedule).where(Schedule.org_id == org.id))
    if daily is not None and found is None:
        found = Schedule(org_id=org.id, agent_id=daily, weekdays=0b0011111, local_time=time(9))
        db.add(found)
        await db.flush()
    return found if found is not None and found.agent_id == daily else None


async def _has_open_session(services: Services, member_id: int) -> bool:
    async with services.sessions() as db:
        member = await db.get_one(Member, member_id)
        found = await services.conversations.open_session_of(db, member, services.clock.now())
    return found is not None


async def demo_dashboard_link(services: Services) -> str | None:
    """A fresh single-use dashboard link for the demo org's owner (audited as a chat
    `dashboard` is); None before `vizdots demo` or without dashboard links."""
    if services.dashboard_links is None:
        return None
    async with services.sessions.begin() as db:
        owner = await db.scalar(
            select(Member)
            .join(Organization, Organization.id == Member.org_id)
            .where(Organization.slug == DEMO_SLUG, Member.role == "owner", Member.active)
            .order_by(Member.id)
            .limit(1)
        )
        if owner is None:
            return None
        actor = ChangeActor(via="dev", label=owner.display_name, member_id=owner.id)
        record_change(db, org_id=owner.org_id, actor=actor, action="dashboard.link")
        nonce = secrets.token_urlsafe(24)
        return services.dashboard_links.dashboard(
            org_id=owner.org_id, member_id=owner.id, nonce=nonce
        )
