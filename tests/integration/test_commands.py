"""The command language carried out against a real database, as the dev chat sends it.

Acme has Ana (owner), Bo and Cy (members); the clock says Wednesday 2026-11-25, noon UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.admin.audit import CLI
from core.admin.people import update_org
from core.admin.scope import OrgScope
from core.commands.service import UNKNOWN_SENDER, run_command
from core.domain import Provider
from core.inbound import CommandRequest, Sender
from core.ports import DirectoryError, MemberProfile
from core.store.engine import make_sessionmaker
from core.store.models import (
    Agent,
    AuditEntry,
    CheckinSession,
    Dot,
    Member,
    Organization,
    Schedule,
    ScheduleParticipant,
)
from tests.fakes.clock import FakeClock
from tests.fakes.directory import FakeDirectory
from tests.fakes.world import add_member, add_org

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
TODAY = date(2026, 11, 25)
ANA, BO, CY = "ana@example.com", "bo@example.com", "cy@example.com"
PEOPLE = [(ANA, "Ana", "owner"), (BO, "Bo", "member"), (CY, "Cy", "member")]


@dataclass
class World:
    sessions: async_sessionmaker[AsyncSession]
    org_id: int
    ids: dict[str, int]
    directory: FakeDirectory
    clock: FakeClock

    async def say(self, who: str, text: str, *, workspace: str = "acme") -> str:
        request = CommandRequest(sender=Sender(Provider.DEV, workspace, who), text=text)
        reply = await run_command(
            sessions=self.sessions, request=request, directory=self.directory, clock=self.clock
        )
        return reply.text

    async def rows(self, model: Any, *where: Any) -> list[Any]:
        async with self.sessions() as db:
            return list(await db.scalars(select(model).where(*where)))

    async def member(self, email: str) -> Member:
        (found,) = await self.rows(Member, Member.id == self.ids[email])
        return found

    async def audit_actions(self) -> list[str]:
        return [entry.action for entry in await self.rows(AuditEntry)]


async def _insert(db: AsyncSession, model: Any, **values: Any) -> int:
    return (await db.execute(insert(model).values(**values).returning(model.id))).scalar_one()


@pytest.fixture
async def world(engine: AsyncEngine) -> World:
    sessions = make_sessionmaker(engine)
    async with sessions.begin() as db:
        org_id = await _insert(db, Organization, slug="acme", name="Acme")
        ids = {
            email: await _insert(
                db, Member, org_id=org_id, display_name=name, email=email, role=role
            )
            for email, name, role in PEOPLE
        }
    return World(sessions, org_id, ids, FakeDirectory(), FakeClock(NOW))


async def daily_agent_id(world: World) -> int:
    (agent,) = await world.rows(Agent, Agent.slug == "daily", Agent.org_id.is_(None))
    return int(agent.id)


async def add_session(
    world: World, email: str, *, on: date = TODAY, state: str = "scheduled"
) -> int:
    """A daily check-in for the member on a local date (the schedule is made on first use)."""
    agent_id = await daily_agent_id(world)
    async with world.sessions.begin() as db:
        schedule_id = await db.scalar(select(Schedule.id).where(Schedule.org_id == world.org_id))
        if schedule_id is None:
            schedule_id = await _insert(
                db, Schedule, org_id=world.org_id, agent_id=agent_id, weekdays=127,
                local_time=time(9),
            )  # fmt: skip
        due = datetime.combine(on, time(9), tzinfo=UTC)
        return await _insert(
            db, CheckinSession, org_id=world.org_id, schedule_id=schedule_id,
            member_id=world.ids[email], agent_id=agent_id, local_date=on, due_at=due,
            expires_at=due + timedelta(hours=15), state=state,
        )  # fmt: skip


async def session_states(world: World) -> dict[date, str]:
    return {s.local_date: s.state for s in await world.rows(CheckinSession)}


# --- who may do what -------------------------------------------------------------------------
async def test_an_unknown_sender_is_told_to_ask_for_a_members_sync(world: World) -> None:
    assert await world.say("stranger@example.com", "help") == UNKNOWN_SENDER
    assert "members sync" in UNKNOWN_SENDER


async def test_a_newcomer_the_directory_lists_is_enrolled_on_their_first_command(
    world: World,
) -> None:
    di = MemberProfile("di@example.com", "Di", "di@example.com", "Europe/Rome", is_admin=True)
    world.directory.add_person("acme", di)
    reply = await world.say("di@example.com", "members")
    assert "4 active members: Ana, Bo, Cy, Di" in reply and "Admins: Ana, Di" in reply
    assert await world.audit_actions() == ["members.enrol"]


async def test_a_newcomer_is_told_when_the_directory_cannot_be_read(world: World) -> None:
    world.directory.failure = DirectoryError("Slack users.info failed: ratelimited")
    reply = await world.say("di@example.com", "help")
    assert "ratelimited" in reply and "try again in a minute" in reply
    assert len(await world.rows(Member)) == 3


async def test_a_member_is_refused_an_admin_verb_and_nothing_changes(world: World) -> None:
    reply = await world.say(BO, "schedule set daily mon-fri 09:30")
    assert "only admins can use `schedule set`" in reply and "Ana" in reply
    assert await world.rows(Schedule) == [] and await world.audit_actions() == []


async def test_help_shows_members_only_what_they_may_do(world: World) -> None:
    reply = await world.say(BO, "help")
    assert "skip" in reply and "vacation" in reply and "schedule show" in reply
    assert "schedule set" not in reply and "members sync" not in reply


async def test_help_shows_admins_everything(world: World) -> None:
    reply = await world.say(ANA, "help")
    assert "skip" in reply and "schedule set" in reply and "members sync" in reply


async def test_a_malformed_command_gets_usage_help(world: World) -> None:
    reply = await world.say(ANA, "schedule set daily mon-fri 25:00")
    assert "'25:00' is not a time of day" in reply
    assert "schedule set daily mon-fri 09:30 everyone" in reply


async def test_an_unknown_command_suggests_the_closest(world: World) -> None:
    assert "Did you mean 'vacation'?" in await world.say(BO, "vacaton until 2026-12-01")


# --- schedules -------------------------------------------------------------------------------
async def test_schedule_set_creates_the_agents_schedule_for_everyone(world: World) -> None:
    reply = await world.say(ANA, "schedule set daily mon-fri 09:30")
    (schedule,) = await world.rows(Schedule)
    assert (schedule.weekdays, schedule.local_time) == (0b11111, time(9, 30))
    assert schedule.participants == "everyone" and schedule.active
    assert await world.rows(ScheduleParticipant) == []
    assert "daily check-ins: weekdays at 09:30, for everyone" in reply


async def test_schedule_set_is_audited_with_its_parameters(world: World) -> None:
    await world.say(ANA, "schedule set daily mon,wed 9am")
    (entry,) = await world.rows(AuditEntry)
    assert (entry.action, entry.actor_member_id, entry.org_id) == (
        "schedule.set", world.ids[ANA], world.org_id,
    )  # fmt: skip
    assert entry.detail["agent"] == "daily" and entry.detail["weekdays"] == [0, 2]
    assert entry.detail["time"] == "09:00" and entry.detail["participants"] == "everyone"


async def test_schedule_set_again_updates_the_one_schedule(world: World) -> None:
    await world.say(ANA, "schedule set daily mon-fri 09:30")
    await world.say(ANA, "schedule set daily weekends 10:00")
    (schedule,) = await world.rows(Schedule)
    assert (schedule.weekdays, schedule.local_time) == (0b1100000, time(10))


async def test_schedule_set_of_an_unknown_agent_names_the_agents(world: World) -> None:
    reply = await world.say(ANA, "schedule set standup mon-fri 09:30")
    assert "no agent called 'standup'" in reply and "daily, pulse, retro" in reply
    assert await world.rows(Schedule) == []


async def test_schedule_show_lists_days_in_words_time_people_and_state(world: World) -> None:
    await world.say(ANA, "schedule set daily mon-fri 09:30")
    await world.say(ANA, "schedule set pulse fri 16:00 @bo@example.com")
    await world.say(ANA, "schedule pause pulse")
    reply = await world.say(BO, "schedule show")
    assert "• daily: weekdays at 09:30, everyone (active)" in reply
    assert "• pulse: Fri at 16:00, 1 people: Bo (paused)" in reply


async def test_schedule_pause_and_resume_toggle_it_and_are_audited(world: World) -> None:
    await world.say(ANA, "schedule set daily mon-fri 09:30")
    await world.say(ANA, "schedule pause daily")
    assert [s.active for s in await world.rows(Schedule)] == [False]
    await world.say(ANA, "schedule resume daily")
    assert [s.active for s in await world.rows(Schedule)] == [True]
    assert await world.audit_actions() == ["schedule.set", "schedule.pause", "schedule.resume"]


async def test_pausing_an_agent_without_a_schedule_says_how_to_set_one(world: World) -> None:
    assert "schedule set retro" in await world.say(ANA, "schedule pause retro")


async def test_mentioned_people_become_the_listed_participants(world: World) -> None:
    await world.say(ANA, "schedule set daily mon-fri 09:30 @bo@example.com, @CY@example.com")
    (schedule,) = await world.rows(Schedule)
    assert schedule.participants == "listed"
    participants = await world.rows(ScheduleParticipant)
    assert {p.member_id for p in participants} == {world.ids[BO], world.ids[CY]}


async def test_a_channel_mention_lists_the_channels_members(world: World) -> None:
    world.directory.add_channel("acme", "team", [BO, "bot@example.com"])
    reply = await world.say(ANA, "schedule set daily mon-fri 09:30 #team")
    assert [p.member_id for p in await world.rows(ScheduleParticipant)] == [world.ids[BO]]
    assert "for 1 people" in reply


async def test_an_unknown_mention_is_reported_and_changes_nothing(world: World) -> None:
    await world.say(ANA, "schedule set daily mon-fri 09:30")
    reply = await world.say(ANA, "schedule set daily fri 10:00 @bo@example.com @zed@example.com")
    assert reply == "Nothing changed: @zed@example.com is not a member here."
    (schedule,) = await world.rows(Schedule)
    assert (schedule.weekdays, schedule.participants) == (0b11111, "everyone")
    assert await world.audit_actions() == ["schedule.set"]


async def test_mentions_and_a_channel_are_listed_together(world: World) -> None:
    world.directory.add_channel("acme", "team", [CY])
    await world.say(ANA, "schedule set daily mon-fri 09:30 @bo@example.com #team")
    participants = await world.rows(ScheduleParticipant)
    assert {p.member_id for p in participants} == {world.ids[BO], world.ids[CY]}


async def test_every_problem_of_a_schedule_set_is_reported(world: World) -> None:
    world.directory.add_channel("acme", "empty", ["zed@example.com"])
    reply = await world.say(ANA, "schedule set daily mon-fri 09:30 @zed@example.com #empty")
    assert reply == (
        "Nothing changed: @zed@example.com is not a member here; #empty has no members I know."
    )
    assert await world.rows(Schedule) == []


async def test_an_inactive_member_is_not_a_member_here(world: World) -> None:
    async with world.sessions.begin() as db:
        bo = await db.get(Member, world.ids[BO])
        assert bo is not None
        bo.active = False
    reply = await world.say(ANA, "schedule set daily mon-fri 09:30 @bo@example.com")
    assert reply == "Nothing changed: @bo@example.com is not a member here."
    assert await world.rows(Schedule) == []


async def test_a_member_of_another_org_is_not_a_member_here(world: World) -> None:
    async with world.sessions.begin() as db:
        await add_member(db, await add_org(db, "globex"), "dee@example.com")
    reply = await world.say(ANA, "schedule set daily mon-fri 09:30 @dee@example.com")
    assert reply == "Nothing changed: @dee@example.com is not a member here."
    assert await world.rows(Schedule) == []


# --- agents and members ----------------------------------------------------------------------
async def test_agents_disable_records_it_on_the_org(world: World) -> None:
    reply = await world.say(ANA, "agents disable retro")
    (org,) = await world.rows(Organization)
    assert org.disabled_agents == ["retro"] and "retro is disabled" in reply
    assert await world.audit_actions() == ["agents.disable"]


async def test_agents_lists_each_agent_with_its_questions_and_state(world: World) -> None:
    await world.say(ANA, "agents disable retro")
    reply = await world.say(BO, "agents")
    assert (
        "• daily: Daily check-in, asks mood (1-5), focus, blockers; "
        "follows up blocker_status, focus_review (enabled)"
    ) in reply
    assert "• retro: Retro, asks went_well, to_improve (disabled)" in reply


async def test_a_member_asking_for_members_sync_never_reaches_the_directory(
    world: World,
) -> None:
    assert "only admins" in await world.say(BO, "members sync")
    assert world.directory.reads == 0


async def test_members_sync_reports_an_unreadable_directory(world: World) -> None:
    world.directory.failure = DirectoryError("Slack users.list failed: missing_scope")
    reply = await world.say(ANA, "members sync")
    assert "missing_scope" in reply and "Nothing changed" in reply
    assert (await world.member(CY)).active


async def test_members_sync_adds_updates_and_deactivates_from_the_directory(
    world: World,
) -> None:
    profiles = [
        MemberProfile(external_id=ANA, display_name="Ana", email=ANA, timezone=None),
        MemberProfile(external_id=BO, display_name="Bo Renamed", email=BO, timezone=None),
        MemberProfile(external_id="di@example.com", display_name="Di", email=None, timezone=None),
    ]
    for profile in profiles:
        world.directory.add_person("acme", profile)
    reply = await world.say(ANA, "members sync")
    assert reply == "Members synced: 1 added, 1 updated, 1 deactivated."
    assert not (await world.member(CY)).active
    assert (await world.member(BO)).display_name == "Bo Renamed"
    assert await world.audit_actions() == ["members.sync"]


async def test_members_lists_count_admins_and_who_is_on_vacation(world: World) -> None:
    await world.say(CY, "vacation until 2026-12-24")
    reply = await world.say(ANA, "members")
    assert "3 active members: Ana, Bo, Cy" in reply
    assert "Admins: Ana" in reply and "On vacation: Cy (until 2026-12-24)" in reply


# --- a member's own check-ins ----------------------------------------------------------------
async def test_skip_skips_todays_open_check_in_only(world: World) -> None:
    today = await add_session(world, BO, state="delivered")
    await add_session(world, BO, on=TODAY + timedelta(days=1))
    await world.say(BO, "skip")
    (skipped,) = await world.rows(CheckinSession, CheckinSession.id == today)
    assert (skipped.state, skipped.outcome_note) == ("skipped", "skipped by member")
    assert (await session_states(world))[TODAY + timedelta(days=1)] == "scheduled"


async def test_skip_leaves_a_completed_check_in_alone(world: World) -> None:
    await add_session(world, BO, state="completed")
    assert "no check-in left to skip" in await world.say(BO, "skip")
    assert await session_states(world) == {TODAY: "completed"}


async def test_skip_uses_the_members_own_date(world: World) -> None:
    async with world.sessions.begin() as db:
        member = await db.get_one(Member, world.ids[BO])
        member.timezone = "Pacific/Kiritimati"  # UTC+14: already Thursday there
    await add_session(world, BO)
    await add_session(world, BO, on=TODAY + timedelta(days=1))
    await world.say(BO, "skip")
    assert await session_states(world) == {TODAY: "scheduled", TODAY + timedelta(days=1): "skipped"}


async def test_vacation_sets_the_date_and_skips_check_ins_until_then(world: World) -> None:
    for day in range(4):
        await add_session(world, BO, on=TODAY + timedelta(days=day))
    await world.say(BO, "vacation until 2026-11-27")
    assert (await world.member(BO)).vacation_until == date(2026, 11, 27)
    states = await session_states(world)
    skipped = ["skipped", "skipped", "skipped", "scheduled"]
    assert [states[TODAY + timedelta(days=d)] for d in range(4)] == skipped
    assert await world.audit_actions() == ["member.vacation"]


async def test_vacation_in_the_past_is_refused(world: World) -> None:
    assert "has passed" in await world.say(BO, "vacation until 2026-11-24")
    assert (await world.member(BO)).vacation_until is None


async def test_vacation_off_ends_a_vacation_early(world: World) -> None:
    await world.say(BO, "vacation until 2026-12-24")
    assert "Welcome back" in await world.say(BO, "vacation off")
    assert (await world.member(BO)).vacation_until is None


async def test_time_sets_the_members_own_time_not_planned_check_ins(world: World) -> None:
    session_id = await add_session(world, BO)
    reply = await world.say(BO, "time 07:45")
    assert (await world.member(BO)).preferred_time == time(7, 45)
    (session,) = await world.rows(CheckinSession, CheckinSession.id == session_id)
    assert session.due_at == datetime(2026, 11, 25, 9, tzinfo=UTC)
    assert "from the next planning" in reply
    assert await world.audit_actions() == ["member.time"]


async def test_timezone_sets_the_members_zone_not_planned_check_ins(world: World) -> None:
    session_id = await add_session(world, BO)
    reply = await world.say(BO, "timezone europe/berlin")  # any case: the canonical name
    bo = await world.member(BO)
    assert (bo.timezone, bo.timezone_chosen) == ("Europe/Berlin", True)
    (session,) = await world.rows(CheckinSession, CheckinSession.id == session_id)
    assert session.due_at == datetime(2026, 11, 25, 9, tzinfo=UTC)
    assert "Europe/Berlin" in reply and "already planned keep their time" in reply
    (entry,) = await world.rows(AuditEntry)
    assert (entry.action, entry.detail) == (
        "member.timezone",
        {"zone": "Europe/Berlin", "before": "UTC"},
    )


@pytest.mark.parametrize("text", ["timezone Mars/Olympus", "timezone", "timezone Europe Berlin"])
async def test_a_timezone_that_is_none_is_refused_with_an_example(world: World, text: str) -> None:
    reply = await world.say(BO, text)
    assert "For example: timezone Europe/Berlin" in reply
    bo = await world.member(BO)
    assert (bo.timezone, bo.timezone_chosen) == ("UTC", False)
    assert await world.audit_actions() == []


async def test_a_chosen_timezone_stands_over_the_directorys(world: World) -> None:
    await world.say(BO, "timezone Asia/Tokyo")
    for email, name in ((ANA, "Ana"), (BO, "Bo"), (CY, "Cy")):
        world.directory.add_person(
            "acme", MemberProfile(external_id=email, display_name=name, email=email,
                                  timezone="America/New_York"),
        )  # fmt: skip
    await world.say(ANA, "members sync")
    assert (await world.member(BO)).timezone == "Asia/Tokyo"
    assert (await world.member(CY)).timezone == "America/New_York"


async def test_reach_me_in_teams_is_stored_audited_and_says_when_teams_cannot_yet(
    world: World,
) -> None:
    reply = await world.say(BO, "reach me in Teams")
    assert (await world.member(BO)).preferred_chat == "teams"
    assert "I can't reach you in Teams yet" in reply
    (entry,) = await world.rows(AuditEntry)
    assert (entry.action, entry.detail) == ("member.chat", {"chat": "teams"})


async def test_reach_me_in_a_chat_that_is_none_changes_nothing(world: World) -> None:
    reply = await world.say(BO, "reach me in email")
    assert "For example: reach me in teams" in reply
    assert (await world.member(BO)).preferred_chat is None
    assert await world.audit_actions() == []


async def test_email_off_opts_the_member_out(world: World) -> None:
    await world.say(BO, "email off")
    assert (await world.member(BO)).email_opt_out
    assert await world.audit_actions() == ["member.email"]


# --- report ----------------------------------------------------------------------------------
async def lower_anonymity_threshold(world: World, people: int) -> None:
    """The audited org setting (Acme has three people; answers show from five by default)."""
    async with world.sessions.begin() as db:
        scope = OrgScope(db=db, org_id=world.org_id, actor=CLI, clock=world.clock,
                         sessions=world.sessions)  # fmt: skip
        changes: dict[str, object] = {"anonymity_threshold": people}
        await update_org(scope, changes, lower_anonymity_threshold=True)


async def test_report_shows_counts_averages_and_recent_answers(world: World) -> None:
    await lower_anonymity_threshold(world, 3)
    done = await add_session(world, BO, on=TODAY - timedelta(days=1), state="completed")
    await add_session(world, CY, state="expired")
    async with world.sessions.begin() as db:
        for key, num, text in [("mood", 4.0, None), ("blockers", None, "waiting on review")]:
            await _insert(
                db, Dot, session_id=done, org_id=world.org_id, member_id=world.ids[BO],
                key=key, num_value=num, text_value=text,
            )  # fmt: skip
    reply = await world.say(ANA, "report daily")
    assert "Check-ins from 2026-11-20 to 2026-11-26" in reply  # up to the latest local date
    assert "daily (Daily check-in): 2 planned, 1 delivered, 1 completed" in reply
    assert "mood: average 4.0 (1 answers)" in reply
    assert "- Bo, 2026-11-24: waiting on review" in reply
