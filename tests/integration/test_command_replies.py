"""What each command answers, word for word, and what it records, as the dev chat sends it.

Acme has Ana (owner), Bo and Cy (members); the clock says Wednesday 2026-11-25, noon UTC
(the world of test_commands).
"""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, update

from core.commands.service import run_command
from core.domain import Provider
from core.identity import email_sender
from core.inbound import CommandRequest, Sender
from core.ports import MemberProfile
from core.store.models import (
    AuditEntry,
    CheckinSession,
    Member,
    Organization,
    Schedule,
    ScheduleParticipant,
)
from tests.integration.test_commands import (
    ANA,
    BO,
    CY,
    TODAY,
    World,
    add_session,
    daily_agent_id,
    world,
)

__all__ = ["world"]
YESTERDAY = TODAY - timedelta(days=1)


async def details(world: World) -> list[tuple[str, dict[str, object]]]:
    return [(entry.action, entry.detail) for entry in await world.rows(AuditEntry)]


async def set_bo(world: World, **values: Any) -> None:
    async with world.sessions.begin() as db:
        await db.execute(update(Member).where(Member.id == world.ids[BO]).values(**values))


# --- help ------------------------------------------------------------------------------------
async def test_a_command_it_cannot_read_says_why_then_points_to_help(world: World) -> None:
    reply = await world.say(ANA, "vacation until someday")
    assert reply == (
        "'someday' is not a date (use YYYY-MM-DD).\n"
        "For example: vacation until 2030-08-31\n"
        "Type `help` to see what you can ask."
    )
    assert await details(world) == []  # nothing done, nothing audited


async def test_help_for_a_member_is_a_heading_then_one_line_per_command(world: World) -> None:
    lines = (await world.say(BO, "help")).split("\n")
    assert lines[:2] == ["Here's what you can ask me:", "- `skip` — skip today's check-in"]
    assert lines[-1] == "- `help` — this list"
    assert all(line.startswith("- `") for line in lines[1:])
    assert "As an admin, you can also:" not in lines


async def test_help_for_an_admin_adds_the_admin_commands_under_their_own_heading(
    world: World,
) -> None:
    lines = (await world.say(ANA, "help")).split("\n")
    assert lines[0] == "Here's what you can ask me:"
    heading = lines.index("As an admin, you can also:")
    assert lines[heading - 1] == "- `help` — this list"
    assert lines[heading + 1].startswith("- `schedule set <agent> <days> <HH:MM>")
    assert all(line.startswith("- `") for line in lines[1:heading] + lines[heading + 1 :])


# --- refusals --------------------------------------------------------------------------------
async def test_a_refusal_names_up_to_three_active_admins_by_name(world: World) -> None:
    await add_people(world, ["Zed", "Dee", "Eve"], role="admin")
    await add_people(world, ["Abe"], role="admin", active=False)
    assert await world.say(BO, "report") == (
        "Sorry, only admins can use `report`. If something should change, ask Ana, Dee, Eve. "
        "Type `help` to see what you can do."
    )


async def test_a_refusal_where_no_admin_is_active_says_ask_an_admin(world: World) -> None:
    async with world.sessions.begin() as db:
        await db.execute(update(Member).where(Member.id == world.ids[ANA]).values(active=False))
        other = Organization(slug="other", name="Other")
        db.add(other)
        await db.flush()
        db.add(Member(org_id=other.id, display_name="Olga", email="o@x.io", role="owner"))
    reply = await world.say(BO, "billing")
    assert "ask an admin." in reply


# --- email -----------------------------------------------------------------------------------
async def test_email_off_says_how_to_turn_them_on_and_audits_it(world: World) -> None:
    reply = await world.say(BO, "email off")
    assert reply == "Okay, no more reminder emails. Say `email on` to get them again."
    assert await details(world) == [("member.email", {"enabled": False})]


async def test_email_on_names_the_address_they_go_to(world: World) -> None:
    await world.say(BO, "email off")
    reply = await world.say(BO, "email on")
    assert reply == "Reminder emails are on again (to bo@example.com)."
    assert not (await world.member(BO)).email_opt_out
    assert (await details(world))[-1] == ("member.email", {"enabled": True})


async def test_email_on_without_an_address_says_there_is_none_yet(world: World) -> None:
    await set_bo(world, email=None)
    sender = email_sender(org_id=world.org_id, member_id=world.ids[BO])
    reply = await run_command(
        sessions=world.sessions, request=CommandRequest(sender=sender, text="email on"),
        directory=None, clock=world.clock,
    )  # fmt: skip
    assert reply.text == "Reminder emails are on, but I have no email address for you yet."


# --- agents ----------------------------------------------------------------------------------
async def test_agents_starts_with_how_to_name_them_one_agent_a_line(world: World) -> None:
    lines = (await world.say(BO, "agents")).split("\n")
    assert lines[0] == "Agents (name them by the first word):"
    assert [line.split(":")[0] for line in lines[1:]] == ["• daily", "• pulse", "• retro"]


async def test_agents_enable_turns_a_disabled_agent_back_on(world: World) -> None:
    await world.say(ANA, "agents disable retro")
    reply = await world.say(ANA, "agents enable retro")
    assert reply == "retro is enabled again; its schedule plans check-ins from the next planning."
    (org,) = await world.rows(Organization)
    assert org.disabled_agents == []
    assert await details(world) == [
        ("agents.disable", {"agent": "retro"}),
        ("agents.enable", {"agent": "retro"}),
    ]


async def test_agents_enable_of_an_enabled_agent_says_so_and_changes_nothing(world: World) -> None:
    assert await world.say(ANA, "agents enable retro") == "retro is already enabled."
    assert await details(world) == []


async def test_agents_disable_of_a_disabled_agent_says_so_and_changes_nothing(
    world: World,
) -> None:
    await world.say(ANA, "agents disable retro")
    assert await world.say(ANA, "agents disable retro") == "retro is already disabled."
    assert len(await details(world)) == 1


async def test_agents_disable_of_an_unknown_agent_names_the_agents(world: World) -> None:
    reply = await world.say(ANA, "agents disable standup")
    assert reply == "There is no agent called 'standup'. The agents are: daily, pulse, retro."
    assert await details(world) == []


# --- members ---------------------------------------------------------------------------------
async def add_people(world: World, names: list[str], **values: Any) -> None:
    async with world.sessions.begin() as db:
        for name in names:
            db.add(Member(org_id=world.org_id, display_name=name, email=f"{name}@x.io", **values))


async def test_members_lists_active_members_of_this_org_only_in_name_order(
    world: World,
) -> None:
    await add_people(world, ["Aaron"])
    await add_people(world, ["Gone"], active=False)
    async with world.sessions.begin() as db:
        other = Organization(slug="other", name="Other")
        db.add(other)
        await db.flush()
        db.add(Member(org_id=other.id, display_name="Stranger", email="s@other.io"))
    assert await world.say(ANA, "members") == (
        "4 active members: Aaron, Ana, Bo, Cy\nAdmins: Ana\nNobody is on vacation."
    )


async def test_members_shows_thirty_names_then_how_many_more(world: World) -> None:
    await add_people(world, [f"P{n:02}" for n in range(28)])
    first = (await world.say(ANA, "members")).split("\n")[0]
    assert first.endswith(", P25, P26 and 1 more") and first.startswith("31 active members")


async def test_members_with_thirty_people_names_them_all(world: World) -> None:
    await add_people(world, [f"P{n:02}" for n in range(27)])
    first = (await world.say(ANA, "members")).split("\n")[0]
    assert first.startswith("30 active members: Ana, Bo, Cy, P00,") and first.endswith(", P26")


async def test_a_vacation_ending_today_is_still_listed(world: World) -> None:
    await set_bo(world, vacation_until=TODAY)
    reply = await world.say(ANA, "members")
    assert reply.endswith("On vacation: Bo (until 2026-11-25)")


async def test_members_sync_without_a_directory_says_it_is_not_available_here(
    world: World,
) -> None:
    request = CommandRequest(sender=Sender(Provider.DEV, "acme", ANA), text="members sync")
    reply = await run_command(
        sessions=world.sessions, request=request, directory=None, clock=world.clock
    )
    assert reply.text == "Members sync is not available from this chat."
    assert await details(world) == []


async def test_members_sync_of_an_empty_listing_changes_nothing(world: World) -> None:
    reply = await world.say(ANA, "members sync")
    assert reply == "Your workspace directory listed nobody, so nothing changed."
    assert all(member.active for member in await world.rows(Member))
    assert await details(world) == []


async def test_members_sync_audits_what_it_counted(world: World) -> None:
    for email, name in ((ANA, "Ana"), (BO, "Bo R.")):
        world.directory.add_person("acme", MemberProfile(email, name, email, None))
    world.directory.add_person("acme", MemberProfile("di@example.com", "Di", None, None))
    await world.say(ANA, "members sync")
    assert await details(world) == [("members.sync", {"added": 1, "updated": 1, "deactivated": 1})]


async def test_a_partial_listing_deactivates_nobody(world: World) -> None:
    world.directory.complete_listing = False
    world.directory.add_person("acme", MemberProfile(ANA, "Ana", ANA, None))
    reply = await world.say(ANA, "members sync")
    assert reply == "Members synced: 0 added, 0 updated, 0 deactivated."
    assert all(member.active for member in await world.rows(Member))


async def test_a_newcomer_without_a_zone_gets_the_syncing_admins(world: World) -> None:
    async with world.sessions.begin() as db:
        await db.execute(
            update(Member).where(Member.id == world.ids[ANA]).values(timezone="Europe/Rome")
        )
    di = MemberProfile(external_id="di@example.com", display_name="Di", email=None, timezone=None)
    world.directory.add_person("acme", di)
    await world.say(ANA, "members sync")
    (newcomer,) = await world.rows(Member, Member.display_name == "Di")
    assert newcomer.timezone == "Europe/Rome"


# --- vacation, time, chat --------------------------------------------------------------------
async def test_skip_says_it_is_done_and_audits_the_day_and_the_session(world: World) -> None:
    session_id = await add_session(world, BO)
    reply = await world.say(BO, "skip")
    assert reply == "Done: today's check-in is skipped. See you next time!"
    assert await details(world) == [
        ("member.skip", {"local_date": "2026-11-25", "sessions": [session_id]})
    ]


async def test_skip_with_nothing_to_skip_says_so_word_for_word(world: World) -> None:
    assert await world.say(BO, "skip") == "You have no check-in left to skip today."
    assert await details(world) == []


async def test_vacation_names_its_last_day_and_the_check_ins_it_skipped(world: World) -> None:
    ids = [await add_session(world, BO, on=TODAY + timedelta(days=d)) for d in range(3)]
    reply = await world.say(BO, "vacation until 2026-11-27")
    assert reply == (
        "Enjoy! No check-ins for you up to and including 2026-11-27. "
        "I skipped 3 check-in(s) already planned."
    )
    notes = {s.outcome_note for s in await world.rows(CheckinSession)}
    assert notes == {"on vacation"}
    assert await details(world) == [
        ("member.vacation", {"until": "2026-11-27", "sessions": sorted(ids)})
    ]


async def test_vacation_with_nothing_planned_names_only_its_last_day(world: World) -> None:
    reply = await world.say(BO, "vacation until 2026-11-27")
    assert reply == "Enjoy! No check-ins for you up to and including 2026-11-27."


async def test_vacation_off_ends_the_vacation_and_audits_it(world: World) -> None:
    await world.say(BO, "vacation until 2026-12-24")
    assert await world.say(BO, "vacation off") == (
        "Welcome back! Check-ins resume from the next planning."
    )
    assert [action for action, _ in await details(world)] == [
        "member.vacation", "member.vacation_end",
    ]  # fmt: skip


async def test_vacation_off_on_the_last_day_of_a_vacation_ends_it(world: World) -> None:
    await world.say(BO, "vacation until 2026-11-25")
    assert "Welcome back" in await world.say(BO, "vacation off")
    assert (await world.member(BO)).vacation_until is None


async def test_vacation_off_when_not_on_vacation_says_so(world: World) -> None:
    assert await world.say(BO, "vacation off") == "You are not on vacation."
    assert await details(world) == []


async def test_vacation_off_after_a_vacation_that_ended_says_so(world: World) -> None:
    await set_bo(world, vacation_until=YESTERDAY)
    assert await world.say(BO, "vacation off") == "You are not on vacation."
    assert (await world.member(BO)).vacation_until == YESTERDAY


async def test_time_answers_with_the_time_and_zone_and_audits_it(world: World) -> None:
    reply = await world.say(BO, "time 7:05pm")
    assert reply == (
        "Got it: your check-ins will come at 19:05 (UTC time) on the schedule's days, "
        "from the next planning on. Check-ins already planned keep their time."
    )
    assert await details(world) == [("member.time", {"time": "19:05"})]


async def test_timezone_answers_with_the_zone_and_when_it_applies(world: World) -> None:
    assert await world.say(BO, "timezone Asia/Tokyo") == (
        "Got it: your time zone is Asia/Tokyo. Check-ins will come at their time of day there "
        "from the next planning on. Check-ins already planned keep their time."
    )


async def test_reach_me_in_slack_says_it_cannot_yet_without_a_slack_account(world: World) -> None:
    reply = await world.say(BO, "reach me in slack")
    assert reply == (
        "Got it: when I can reach you in Slack, check-ins and reminders come there. "
        "I can't reach you in Slack yet: until then they come where I can."
    )
    assert (await world.member(BO)).preferred_chat == "slack"


async def test_reach_me_in_slack_for_a_member_known_in_slack_is_one_sentence(world: World) -> None:
    await set_bo(world, slack_user_id="U0BO")
    reply = await world.say(BO, "reach me in slack")
    assert reply == "Got it: when I can reach you in Slack, check-ins and reminders come there."


async def test_reach_me_in_teams_for_a_member_known_in_teams_is_one_sentence(world: World) -> None:
    await set_bo(world, teams_conversation_ref={"conversation": {"id": "a:1"}})
    reply = await world.say(BO, "reach me in teams")
    assert reply == "Got it: when I can reach you in Teams, check-ins and reminders come there."


async def test_reach_me_in_teams_when_teams_stopped_reaching_them_says_not_yet(
    world: World,
) -> None:
    await set_bo(world, teams_conversation_ref={"conversation": {"id": "a:1"}},
                 teams_unreachable=True)  # fmt: skip
    assert "I can't reach you in Teams yet" in await world.say(BO, "reach me in teams")


# --- holidays --------------------------------------------------------------------------------
async def test_holidays_off_is_audited_as_no_region(world: World) -> None:
    await world.say(BO, "holidays off")
    assert await details(world) == [("member.holidays", {"region": None})]


async def test_holidays_with_a_region_names_the_next_holiday_there(world: World) -> None:
    assert await world.say(BO, "holidays us") == (
        "Done: no check-ins on public holidays of US. Next: Thanksgiving Day on 2026-11-26."
    )


async def test_holidays_org_sets_the_orgs_region_names_the_next_holiday_and_audits_it(
    world: World,
) -> None:
    reply = await world.say(ANA, "holidays org de")
    assert reply == (
        "Done: the organisation's public holidays are DE's. Next: Christmas Day on 2026-12-25."
    )
    assert await details(world) == [("org.holidays", {"region": "DE"})]


async def test_holidays_org_off_clears_the_orgs_region_and_audits_it(world: World) -> None:
    await world.say(ANA, "holidays org DE")
    assert await world.say(ANA, "holidays org off") == (
        "Done: the organisation has no public holidays now."
    )
    (org,) = await world.rows(Organization)
    assert org.holiday_region is None
    assert (await details(world))[-1] == ("org.holidays", {"region": None})


async def test_holidays_org_of_an_unknown_country_says_why_and_changes_nothing(
    world: World,
) -> None:
    reply = await world.say(ANA, "holidays org XX")
    assert reply == "'XX' is not a country code like DE, FR or US; nothing changed."
    (org,) = await world.rows(Organization)
    assert org.holiday_region is None and await details(world) == []


# --- schedules -------------------------------------------------------------------------------
async def test_schedule_show_lists_the_agents_in_alphabetical_order(world: World) -> None:
    await world.say(ANA, "schedule set retro fri 16:00")
    await world.say(ANA, "schedule set daily mon-fri 09:30")
    lines = (await world.say(BO, "schedule show")).split("\n")
    assert lines[:3] == [
        "Schedules:",
        "• daily: weekdays at 09:30, everyone (active)",
        "• retro: Fri at 16:00, everyone (active)",
    ]


async def test_schedule_show_without_schedules_says_how_an_admin_adds_one(world: World) -> None:
    assert await world.say(BO, "schedule show") == (
        "There are no schedules yet. An admin can add one: schedule set daily mon-fri 09:30"
    )


async def test_schedule_show_ends_with_the_time_zone_note_and_the_askers_next_check_in(
    world: World,
) -> None:
    await world.say(ANA, "schedule set daily mon-fri 09:30")
    lines = (await world.say(BO, "schedule show")).split("\n")
    assert lines[-2:] == [
        "Times are each person's own time zone.",
        "Your next check-in (Daily check-in): Thu 09:30, UTC time.",
    ]


@pytest.mark.parametrize(
    ("others", "listed"),
    [
        (["Di", "Ed", "Flo"], "5 people: Bo, Cy, Di, Ed, Flo (active)"),
        (["Di", "Ed", "Flo", "Gus"], "6 people: Bo, Cy, Di, Ed, Flo and 1 more (active)"),
    ],
)
async def test_schedule_show_names_five_people_then_how_many_more(
    world: World, others: list[str], listed: str
) -> None:
    await add_people(world, others)
    mentions = " ".join(f"@{name}@x.io" for name in others)
    await world.say(ANA, f"schedule set pulse fri 16:00 @bo@example.com @cy@example.com {mentions}")
    reply = await world.say(BO, "schedule show")
    assert f"• pulse: Fri at 16:00, {listed}" in reply


async def test_schedule_show_names_the_people_in_name_order(world: World) -> None:
    await add_people(world, ["Gus", "Di", "Flo"])
    await world.say(ANA, "schedule set pulse fri 16:00 @gus@x.io @di@x.io @flo@x.io")
    reply = await world.say(BO, "schedule show")
    assert "• pulse: Fri at 16:00, 3 people: Di, Flo, Gus (active)" in reply


async def test_schedule_show_says_nobody_is_listed_once_its_people_are_erased(
    world: World,
) -> None:
    await world.say(ANA, "schedule set pulse fri 16:00 @bo@example.com")
    async with world.sessions.begin() as db:  # as erasing Bo's data does
        await db.execute(delete(ScheduleParticipant))
    reply = await world.say(ANA, "schedule show")
    assert "• pulse: Fri at 16:00, nobody listed (active)" in reply


async def test_setting_one_schedules_people_keeps_another_schedules(world: World) -> None:
    await world.say(ANA, "schedule set pulse fri 16:00 @bo@example.com")
    await world.say(ANA, "schedule set retro fri 15:00 @cy@example.com")
    await world.say(ANA, "schedule set retro fri 15:00 @bo@example.com")
    reply = await world.say(ANA, "schedule show")
    assert "• pulse: Fri at 16:00, 1 people: Bo (active)" in reply
    assert "• retro: Fri at 15:00, 1 people: Bo (active)" in reply


async def test_schedule_set_audits_who_was_named_and_who_it_became(world: World) -> None:
    world.directory.add_channel("acme", "team", [CY])
    await world.say(ANA, "schedule set pulse fri 16:00 @bo@example.com #team")
    [(action, detail)] = await details(world)
    assert action == "schedule.set"
    assert detail["users"] == ["bo@example.com"] and detail["channels"] == ["team"]
    assert detail["member_ids"] == sorted([world.ids[BO], world.ids[CY]])


async def test_schedule_show_marks_a_disabled_agents_schedule(world: World) -> None:
    await world.say(ANA, "schedule set retro fri 16:00")
    await world.say(ANA, "agents disable retro")
    reply = await world.say(BO, "schedule show")
    assert "• retro: Fri at 16:00, everyone (active, agent disabled)" in reply


async def test_setting_a_paused_schedule_says_it_stays_paused(world: World) -> None:
    await world.say(ANA, "schedule set daily mon-fri 09:30")
    await world.say(ANA, "schedule pause daily")
    assert await world.say(ANA, "schedule set daily mon-fri 10:00") == (
        "daily check-ins: weekdays at 10:00, for everyone. The schedule is paused; "
        "`schedule resume daily` starts it. Times are each person's own time zone."
    )


async def test_setting_a_disabled_agents_schedule_says_how_to_enable_it(world: World) -> None:
    await world.say(ANA, "agents disable retro")
    assert await world.say(ANA, "schedule set retro fri 16:00") == (
        "retro check-ins: Fri at 16:00, for everyone. The agent is disabled; "
        "`agents enable retro` turns it on. Times are each person's own time zone."
    )


async def test_pause_says_how_to_resume_and_pausing_again_says_it_already_is(
    world: World,
) -> None:
    await world.say(ANA, "schedule set daily mon-fri 09:30")
    assert await world.say(ANA, "schedule pause daily") == (
        "The daily schedule is paused. `schedule resume daily` starts it again."
    )
    assert await world.say(ANA, "schedule pause daily") == "The daily schedule is already paused."
    assert await world.say(ANA, "schedule resume daily") == "The daily schedule is resumed."
    assert [(action, detail) for action, detail in await details(world)][1:] == [
        ("schedule.pause", {"agent": "daily"}), ("schedule.resume", {"agent": "daily"}),
    ]  # fmt: skip


async def test_pausing_an_agent_without_a_schedule_gives_the_line_to_set_one(world: World) -> None:
    assert await world.say(ANA, "schedule pause retro") == (
        "retro has no schedule yet. Set one first: schedule set retro mon-fri 09:30"
    )


async def test_pausing_finds_only_this_orgs_schedule(world: World) -> None:
    async with world.sessions.begin() as db:
        other = Organization(slug="other", name="Other")
        db.add(other)
        await db.flush()
        daily = await daily_agent_id(world)
        db.add(Schedule(org_id=other.id, agent_id=daily, weekdays=31, local_time=time(9)))
    assert await world.say(ANA, "schedule pause daily") == (
        "daily has no schedule yet. Set one first: schedule set daily mon-fri 09:30"
    )
    assert [s.active for s in await world.rows(Schedule)] == [True]


async def test_resuming_an_unknown_agent_names_the_agents(world: World) -> None:
    assert await world.say(ANA, "schedule resume standup") == (
        "There is no agent called 'standup'. The agents are: daily, pulse, retro."
    )


async def test_a_channel_with_no_known_members_is_reported_and_changes_nothing(
    world: World,
) -> None:
    world.directory.add_channel("acme", "empty", ["zed@example.com"])
    reply = await world.say(ANA, "schedule set daily mon-fri 09:30 #empty")
    assert reply == "Nothing changed: #empty has no members I know."
    assert await world.rows(Schedule) == []


# --- report ----------------------------------------------------------------------------------
async def test_report_of_a_month_shows_each_groups_digest_in_agent_order_then_the_counts(
    world: World,
) -> None:
    await world.say(ANA, "schedule set retro fri 16:00")
    await world.say(ANA, "schedule set daily mon-fri 09:30")
    parts = (await world.say(ANA, "report month")).split("\n\n")
    assert [part.split("\n")[0] for part in parts] == [
        "**Daily check-in digest, 2026-10-28 to 2026-11-26**",
        "**Retro digest, 2026-10-28 to 2026-11-26**",
        "Check-ins from 2026-10-28 to 2026-11-26",
        "daily (Daily check-in): 0 planned, 0 delivered, 0 completed, 0 skipped, 0 expired",
        "retro (Retro): 0 planned, 0 delivered, 0 completed, 0 skipped, 0 expired",
    ]


async def test_report_of_one_agent_shows_its_groups_digest_only(world: World) -> None:
    await world.say(ANA, "schedule set daily mon-fri 09:30")
    await world.say(ANA, "schedule set retro fri 16:00")
    parts = (await world.say(ANA, "report retro")).split("\n\n")
    assert [part.split("\n")[0] for part in parts] == [
        "**Retro digest, 2026-11-20 to 2026-11-26**",
        "Check-ins from 2026-11-20 to 2026-11-26",
        "retro (Retro): 0 planned, 0 delivered, 0 completed, 0 skipped, 0 expired",
    ]


async def test_report_of_an_unknown_agent_names_the_agents(world: World) -> None:
    assert await world.say(ANA, "report standup") == (
        "There is no agent called 'standup'. The agents are: daily, pulse, retro."
    )
