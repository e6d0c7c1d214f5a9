"""Is a planned check-in still wanted when it comes due?

Planning looks 36 hours ahead; by delivery time a schedule may be paused, an agent
disabled, a member gone on vacation (or moved to a region whose public holiday it is)
or the trial over. The rules are planning's own (core/planning.py; the plan's:
core/plan_policy.py), asked again of one session just before it is sent.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core.conversation_store import Conversation
from core.plan_policy import delivers
from core.public_holidays import PUBLIC_HOLIDAY, effective_region, holiday_name
from core.store.models import Member, Organization, Schedule


async def unwanted(db: AsyncSession, convo: Conversation, now: datetime) -> str | None:
    """Why the session should not be sent after all, or None to send it."""
    schedule_active = True
    if convo.session.schedule_id is not None:
        schedule = await db.get(Schedule, convo.session.schedule_id)
        schedule_active = schedule is not None and schedule.active
    return not_wanted(
        org=convo.org,
        member=convo.member,
        local_date=convo.session.local_date,
        agent_slug=convo.agent.slug,
        schedule_active=schedule_active,
        now=now,
    )


def not_wanted(
    *,
    org: Organization,
    member: Member,
    local_date: date,
    agent_slug: str,
    schedule_active: bool,
    now: datetime,
) -> str | None:
    """Why a check-in of `local_date` should not go to the member (delivery, reminders),
    or None when it should."""
    if not delivers(org, now):
        return "the organisation's plan does not allow check-ins"
    if not member.active:
        return "member inactive"
    if member.vacation_until is not None and member.vacation_until >= local_date:
        return "on vacation"
    if member.paused_until is not None and member.paused_until >= local_date:
        return "paused"
    if holiday_name(effective_region(org, member), local_date) is not None:
        return PUBLIC_HOLIDAY
    if agent_slug in (org.disabled_agents or []):
        return "agent disabled"
    if not schedule_active:
        return "schedule paused"
    return None
