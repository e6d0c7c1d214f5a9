"""Teams end to end in emulator mode: activities posted to /api/messages over HTTP, the
SDK's connector client talking to a fake Bot Framework connector.

install (team roster) → typed `schedule set` → planned check-in card → card answer →
typed answers → completion → `report`; redeliveries, 429 bursts, a blocked member.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from core.commands.types import Command
from tests.admin_verbs import ADMIN_VERBS, all_rows, is_refusal, line_of
from tests.fakes.bot_connector import roster_entry
from tests.fakes.clock import FakeClock
from tests.fakes.http_server import eventually
from tests.fakes.teams_world import BEN, NOW, OLIVE, TEAM, TeamsWorld, teams_world


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[TeamsWorld]:
    async with teams_world(db_url) as world:
        yield world


async def test_a_team_install_takes_in_the_roster_and_greets_the_installer(
    world: TeamsWorld,
) -> None:
    await world.installed(OLIVE, BEN)
    olive, ben = await world.member("aad-olive"), await world.member("aad-ben")
    assert olive.role == "owner" and ben.role == "member"
    assert ben.email == "ben@t.io" and ben.teams_conversation_ref is not None
    [welcome] = await world.said_to(OLIVE, 1)
    assert "installed" in welcome and "schedule set daily" in welcome
    assert [c["members"][0]["id"] for c in world.connector.created] == ["29:aad-olive"]


async def typed(
    world: TeamsWorld,
    person: tuple[str, str, str],
    text: str,
    *,
    replies: int = 1,
    **fields: object,
) -> str:
    """Type a line in the person's chat with the bot; the first of the `replies` messages
    it brings (all of them are waited for)."""
    before = len(world.connector.sent_to(world.chat(person)))
    response = await world.activities.post(world.activities.personal(person, text, **fields))
    assert response.status_code == 200
    return (await world.said_to(person, before + replies))[before]


async def test_the_whole_check_in_in_teams(world: TeamsWorld) -> None:
    await world.installed(OLIVE, BEN)
    await world.said_to(OLIVE, 1)
    reply = await typed(world, OLIVE, "schedule set daily mon-fri 09:30")
    assert "daily" in reply and "09:30" in reply
    await world.plan_and_deliver()
    [question] = world.connector.sent_to(world.chat(BEN))
    assert question.card is not None and question.card["version"] == "1.5"
    titles = [a["title"] for a in question.card["actions"]]
    assert titles == ["1 😫", "2 😕", "3 😐", "4 🙂", "5 😄", "Skip today"]
    four = question.card["actions"][3]
    await world.activities.post(world.activities.press(BEN, four))
    await world.said_to(BEN, 2)
    shown = question.shown["attachments"][0]["content"]
    assert "actions" not in shown and "4" in shown["body"][0]["text"]  # the card updated
    await typed(world, BEN, "Shipping the release")
    thanks = await typed(world, BEN, "none")
    assert (await world.session_of("aad-ben")).state == "completed", thanks
    reask = await typed(world, OLIVE, "report", replies=2)  # her check-in waits: an answer
    assert "1 to 5" in reask
    hint = world.connector.sent_to(world.chat(OLIVE))[-1].text or ""
    assert "`/vizdots report`" in hint  # and how to run the command instead
    report = await typed(world, OLIVE, "/vizdots report")
    assert "daily" in report.lower()


async def test_a_second_press_cannot_answer_twice(world: TeamsWorld) -> None:
    await world.installed(OLIVE, BEN)
    await typed(world, OLIVE, "schedule set daily mon-fri 09:30")
    await world.plan_and_deliver()
    [question] = world.connector.sent_to(world.chat(BEN))
    actions = question.card["actions"] if question.card else []
    await world.activities.post(world.activities.press(BEN, actions[3]))
    await world.said_to(BEN, 2)
    await world.activities.post(world.activities.press(BEN, actions[1]))
    await typed(world, BEN, "Focus")
    assert (await world.session_of("aad-ben")).brain_state["answers"]["mood"] == 4


async def test_an_answer_is_never_read_as_a_command_nor_a_command_as_an_answer(
    world: TeamsWorld,
) -> None:
    await world.installed(OLIVE, BEN)
    await typed(world, OLIVE, "schedule set daily mon-fri 09:30")
    await world.plan_and_deliver()
    await world.said_to(BEN, 1)
    await world.activities.post(world.activities.press(
        BEN, world.connector.sent_to(world.chat(BEN))[0].card["actions"][2]  # type: ignore[index]
    ))  # fmt: skip
    await world.said_to(BEN, 2)
    await typed(world, BEN, "help with the migration", replies=2)  # a question waits: an answer
    session = await world.session_of("aad-ben")
    assert session.brain_state["answers"]["focus"] == "help with the migration"
    reply = await typed(world, BEN, "/vizdots help")  # prefixed: a command all the same
    assert "schedule" in reply.lower()
    assert "help" not in (await world.session_of("aad-ben")).brain_state["answers"].get(
        "blockers", ""
    )


@pytest.mark.parametrize("verb", ADMIN_VERBS, ids=lambda verb: verb.__name__)
async def test_a_member_is_refused_admin_commands(world: TeamsWorld, verb: type[Command]) -> None:
    await world.installed(OLIVE, BEN)
    await typed(world, OLIVE, "schedule set daily mon-fri 09:30")  # something to pause
    before = await all_rows(world.services.sessions)
    reply = await typed(world, BEN, line_of(verb))
    assert is_refusal(reply, verb), reply
    assert await all_rows(world.services.sessions) == before


async def test_a_redelivered_activity_is_processed_once(world: TeamsWorld) -> None:
    await world.installed(OLIVE, BEN)
    await typed(world, OLIVE, "schedule set daily mon-fri 09:30")
    await world.plan_and_deliver()
    await world.said_to(BEN, 1)
    activity = world.activities.personal(BEN, "4")
    assert (await world.activities.post(activity)).status_code == 200
    assert (await world.activities.post(activity)).status_code == 200  # Teams redelivers
    await world.said_to(BEN, 2)
    await typed(world, BEN, "Focus")
    from core.store.models import Message

    assert await world.count(Message, Message.speaker == "member") == 2


async def send_what_the_outbox_holds(world: TeamsWorld) -> None:
    """Let the outbox's back-offs run out and send what waits, as the worker loop does; the
    app's own sender loop may take a message first: each round ends once nothing is in
    flight, so what the test then reads is final."""
    clock = world.services.clock
    assert isinstance(clock, FakeClock)
    for _ in range(12):
        await world.settled()
        clock.advance(timedelta(minutes=10))
        await world.services.outbox.send_due()
    await world.settled()
    clock.current = NOW


async def test_a_burst_of_429s_loses_and_doubles_nothing(world: TeamsWorld) -> None:
    await world.installed(OLIVE, BEN)
    await typed(world, OLIVE, "schedule set daily mon-fri 09:30")
    world.connector.fail_next("send", 429, times=4)
    world.connector.fail_next("create", 503, times=1)
    await world.plan_and_deliver()
    await send_what_the_outbox_holds(world)
    assert len(world.connector.sent_to(world.chat(BEN))) == 1
    assert len(world.connector.sent_to(world.chat(OLIVE))) == 3  # welcome, reply, check-in
    throttled = [c for c in world.connector.calls if c[1] in (429, 503)]
    assert len(throttled) == 5
    assert [c["members"][0]["id"] for c in world.connector.created].count("29:aad-ben") == 1


async def test_a_member_who_blocked_the_bot_is_left_for_email(world: TeamsWorld) -> None:
    await world.installed(OLIVE, BEN)
    await typed(world, OLIVE, "schedule set daily mon-fri 09:30")
    world.connector.block(world.chat(BEN))
    await world.plan_and_deliver()
    await send_what_the_outbox_holds(world)
    ben = await world.member("aad-ben")
    assert ben.teams_unreachable
    session = await world.session_of("aad-ben")
    assert session.channel == "email" and session.state == "delivered"
    assert len([c for c in world.connector.calls if c[1] == 403]) == 1  # never tried again
    await world.activities.post(world.activities.personal(BEN, "hi"))  # writing again
    await eventually(lambda: _reachable(world))


async def _reachable(world: TeamsWorld) -> bool:
    return not (await world.member("aad-ben")).teams_unreachable


async def test_a_personal_install_enrols_and_the_client_timezone_is_kept(
    world: TeamsWorld,
) -> None:
    install = world.activities.personal_install(OLIVE)
    install["entities"] = [{"type": "clientInfo", "timezone": "Europe/Berlin"}]
    assert (await world.activities.post(install)).status_code == 200
    olive = await world.member("aad-olive")
    assert olive.role == "owner" and olive.timezone == "Europe/Berlin"
    moved = world.activities.personal(OLIVE, "help")
    moved["entities"] = [{"type": "clientInfo", "timezone": "America/New_York"}]
    await world.activities.post(moved)
    assert (await world.member("aad-olive")).timezone == "America/New_York"
    await world.activities.post(world.activities.personal_install(OLIVE, action="remove"))
    assert (await world.member("aad-olive")).teams_unreachable


async def test_a_timezone_typed_in_teams_stands_over_the_clients(world: TeamsWorld) -> None:
    berlin = [{"type": "clientInfo", "timezone": "Europe/Berlin"}]
    await world.activities.post(world.activities.personal_install(OLIVE) | {"entities": berlin})
    await world.said_to(OLIVE, 1)  # the welcome
    reply = await typed(world, OLIVE, "timezone asia/tokyo", entities=berlin)
    assert "Asia/Tokyo" in reply
    await typed(world, OLIVE, "help", entities=berlin)
    olive = await world.member("aad-olive")
    assert (olive.timezone, olive.timezone_chosen) == ("Asia/Tokyo", True)


async def test_members_sync_in_teams_reads_the_team_rosters_and_deactivates_nobody(
    world: TeamsWorld,
) -> None:
    await world.installed(OLIVE, BEN)
    await world.said_to(OLIVE, 1)
    cy = ("aad-cy", "Cy Chen", "cy@t.io")
    world.connector.rosters[TEAM] = [roster_entry(*OLIVE), roster_entry(*cy)]  # Ben left
    reply = await typed(world, OLIVE, "members sync")
    assert reply == "Members synced: 1 added, 0 updated, 0 deactivated."
    assert (await world.member("aad-cy")).email == "cy@t.io"
    assert (await world.member("aad-ben")).active  # a roster is not the whole tenant
    assert "only admins" in await typed(world, BEN, "members sync")


async def test_members_sync_in_teams_before_any_team_install_says_what_to_do(
    world: TeamsWorld,
) -> None:
    await world.activities.post(world.activities.personal_install(OLIVE))
    await world.said_to(OLIVE, 1)
    reply = await typed(world, OLIVE, "members sync")
    assert "add it to a team" in reply and "Nothing changed" in reply
