"""member_home: a member's next check-in, recent check-ins and settings, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from adapters.slack.blocks import home_view
from core.domain import SessionState
from core.home import MemberHome, NextCheckin, member_home
from core.store.engine import make_sessionmaker
from core.store.models import CheckinSession, Dot, Member, Organization, Schedule
from tests.fakes.slack_api import TEST_TOKEN, FakeSlackApi
from tests.fakes.world import add_member, add_org, add_schedule, agent_id

#: Monday 16 November 2026, 07:00 UTC: 08:00 in Madrid, before the 09:00 check-in.
NOW = datetime(2026, 11, 16, 7, 0, tzinfo=UTC)
TODAY = date(2026, 11, 16)
MADRID = "Europe/Madrid"


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@pytest.fixture
async def ana(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions.begin() as db:
        org = await add_org(db)
        member = await add_member(db, org, "ana@example.com", timezone=MADRID)
        return member.id


async def home(sessions: async_sessionmaker[AsyncSession], member_id: int) -> MemberHome:
    async with sessions() as db:
        return await member_home(db, member_id=member_id, now=NOW)


async def change(sessions: async_sessionmaker[AsyncSession], member_id: int, **values: Any) -> None:
    async with sessions.begin() as db:
        member = await db.get_one(Member, member_id)
        for name, value in values.items():
            setattr(member, name, value)


async def schedule(
    sessions: async_sessionmaker[AsyncSession], member_id: int, **values: Any
) -> int:
    async with sessions.begin() as db:
        member = await db.get_one(Member, member_id)
        org = await db.get_one(Organization, member.org_id)
        return (await add_schedule(db, org, **values)).id


async def add_session(
    sessions: async_sessionmaker[AsyncSession],
    member_id: int,
    *,
    on: date,
    state: SessionState,
    schedule_id: int | None = None,
    delivered: bool = True,
    summary: str | None = None,
    dots: tuple[tuple[str, float | str], ...] = (),
) -> None:
    """A daily check-in due at 09:00 Madrid time (08:00 UTC) on `on`."""
    due = datetime.combine(on, time(8), tzinfo=UTC)
    async with sessions.begin() as db:
        member = await db.get_one(Member, member_id)
        planned = await db.get(Schedule, schedule_id) if schedule_id else None
        session = CheckinSession(
            org_id=member.org_id,
            schedule_id=schedule_id,
            member_id=member_id,
            agent_id=planned.agent_id if planned else await agent_id(db, "daily"),
            local_date=on,
            due_at=due,
            expires_at=due + timedelta(hours=16),
            state=state.value,
            delivered_at=due if delivered else None,
            summary=summary,
        )
        db.add(session)
        await db.flush()
        for key, value in dots:
            number = value if isinstance(value, float) else None
            text = value if isinstance(value, str) else None
            db.add(Dot(session_id=session.id, org_id=member.org_id, member_id=member_id,
                       key=key, num_value=number, text_value=text))  # fmt: skip


async def test_an_unknown_member_is_a_lookup_error(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    with pytest.raises(LookupError):
        await home(sessions, 999)


async def test_the_home_carries_the_members_own_settings(
    sessions: async_sessionmaker[AsyncSession], ana: int
) -> None:
    await change(sessions, ana, vacation_until=date(2026, 12, 1), preferred_time=time(9, 30))
    found = await home(sessions, ana)
    assert (found.display_name, found.timezone) == ("Ana", MADRID)
    assert (found.email_reminders, found.vacation_until, found.preferred_time) == (
        True, date(2026, 12, 1), time(9, 30),
    )  # fmt: skip


async def test_an_email_opt_out_shows_reminders_off(
    sessions: async_sessionmaker[AsyncSession], ana: int
) -> None:
    await change(sessions, ana, email_opt_out=True)
    assert not (await home(sessions, ana)).email_reminders


async def test_without_a_schedule_there_is_no_next_checkin(
    sessions: async_sessionmaker[AsyncSession], ana: int
) -> None:
    assert (await home(sessions, ana)).next_checkin is None


async def test_the_next_checkin_is_the_schedules_next_time_in_the_members_zone(
    sessions: async_sessionmaker[AsyncSession], ana: int
) -> None:
    await schedule(sessions, ana, local_time=time(9))
    assert (await home(sessions, ana)).next_checkin == NextCheckin(
        agent="Daily check-in", due_at=datetime(2026, 11, 16, 8, tzinfo=UTC), local="Mon 09:00"
    )


async def test_a_preferred_time_replaces_the_schedules(
    sessions: async_sessionmaker[AsyncSession], ana: int
) -> None:
    await schedule(sessions, ana, local_time=time(9))
    await change(sessions, ana, preferred_time=time(8, 30))
    next_checkin = (await home(sessions, ana)).next_checkin
    assert next_checkin is not None and next_checkin.local == "Mon 08:30"


async def test_a_planned_session_keeps_its_own_time(
    sessions: async_sessionmaker[AsyncSession], ana: int
) -> None:
    schedule_id = await schedule(sessions, ana, local_time=time(9))
    await add_session(
        sessions, ana, on=TODAY, state=SessionState.SCHEDULED, schedule_id=schedule_id,
        delivered=False,
    )  # fmt: skip
    await change(sessions, ana, preferred_time=time(8, 30))
    next_checkin = (await home(sessions, ana)).next_checkin
    assert next_checkin is not None and next_checkin.local == "Mon 09:00"


async def test_a_skipped_day_is_not_the_next_checkin(
    sessions: async_sessionmaker[AsyncSession], ana: int
) -> None:
    schedule_id = await schedule(sessions, ana, local_time=time(9))
    await add_session(
        sessions, ana, on=TODAY, state=SessionState.SKIPPED, schedule_id=schedule_id,
        delivered=False,
    )  # fmt: skip
    next_checkin = (await home(sessions, ana)).next_checkin
    assert next_checkin is not None and next_checkin.local == "Tue 09:00"


async def test_the_next_checkin_comes_after_the_vacation(
    sessions: async_sessionmaker[AsyncSession], ana: int
) -> None:
    await schedule(sessions, ana, local_time=time(9))
    await change(sessions, ana, vacation_until=date(2026, 11, 18))
    next_checkin = (await home(sessions, ana)).next_checkin
    assert next_checkin is not None and next_checkin.local == "Thu 09:00"


async def test_a_schedule_for_listed_people_only_counts_for_them(
    sessions: async_sessionmaker[AsyncSession], ana: int
) -> None:
    await schedule(sessions, ana, participants="listed")
    assert (await home(sessions, ana)).next_checkin is None


async def test_a_paused_schedule_plans_nothing(
    sessions: async_sessionmaker[AsyncSession], ana: int
) -> None:
    await schedule(sessions, ana, active=False)
    assert (await home(sessions, ana)).next_checkin is None


async def test_an_org_whose_plan_ended_has_no_next_checkin(
    sessions: async_sessionmaker[AsyncSession], ana: int
) -> None:
    await schedule(sessions, ana)
    async with sessions.begin() as db:
        member = await db.get_one(Member, ana)
        (await db.get_one(Organization, member.org_id)).plan_status = "canceled"
    assert (await home(sessions, ana)).next_checkin is None


async def test_recent_checkins_are_the_last_five_that_reached_the_member(
    sessions: async_sessionmaker[AsyncSession], ana: int
) -> None:
    for days_ago in range(1, 8):
        await add_session(
            sessions, ana, on=TODAY - timedelta(days=days_ago), state=SessionState.COMPLETED
        )
    await add_session(sessions, ana, on=TODAY, state=SessionState.SCHEDULED, delivered=False)
    recent = (await home(sessions, ana)).recent
    assert [r.local_date for r in recent] == [TODAY - timedelta(days=d) for d in range(1, 6)]


async def test_a_checkin_skipped_before_delivery_is_not_recent(
    sessions: async_sessionmaker[AsyncSession], ana: int
) -> None:
    await add_session(sessions, ana, on=TODAY, state=SessionState.SKIPPED, delivered=False)
    assert (await home(sessions, ana)).recent == ()


async def test_an_unanswered_delivered_checkin_is_recent_with_its_state(
    sessions: async_sessionmaker[AsyncSession], ana: int
) -> None:
    await add_session(sessions, ana, on=TODAY - timedelta(days=1), state=SessionState.EXPIRED)
    (recent,) = (await home(sessions, ana)).recent
    assert (recent.agent, recent.state, recent.dots) == ("Daily check-in", SessionState.EXPIRED, ())


async def test_a_recent_checkin_has_its_summary_and_dots_in_order(
    sessions: async_sessionmaker[AsyncSession], ana: int
) -> None:
    dots = (("mood", 4.0), ("focus", "the release"), ("blockers", "none"))
    await add_session(
        sessions, ana, on=TODAY - timedelta(days=1), state=SessionState.COMPLETED,
        summary="Feeling good, shipping the release.", dots=dots,
    )  # fmt: skip
    (recent,) = (await home(sessions, ana)).recent
    assert recent.summary == "Feeling good, shipping the release."
    assert recent.dots == dots
    assert isinstance(recent.dots[0][1], float)


async def test_a_full_home_is_a_view_slack_accepts(
    sessions: async_sessionmaker[AsyncSession], ana: int, slack_api: FakeSlackApi
) -> None:
    await schedule(sessions, ana)
    await change(sessions, ana, vacation_until=date(2026, 11, 20), preferred_time=time(9, 30))
    for days_ago in range(1, 7):
        dots = (("mood", 3.0), ("blockers", "a very long story " * 40))
        on = TODAY - timedelta(days=days_ago)
        await add_session(sessions, ana, on=on, state=SessionState.COMPLETED, dots=dots)
    slack_api.add_user("U1ANA", "Ana", "ana@example.com", "Europe/Madrid")
    client = AsyncWebClient(token=TEST_TOKEN, base_url=slack_api.base_url)
    await client.views_publish(user_id="U1ANA", view=home_view(await home(sessions, ana)))
    assert slack_api.views["U1ANA"]["type"] == "home"
