"""Slack end to end: the real Bolt app over HTTP, signed requests, a fake Slack Web API.

install → member sync → planned check-in DM → button answer → text answers →
completion → App Home updated; redeliveries, bad signatures and 429 bursts.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from core.commands.types import Command
from core.store.models import CheckinSession, Dot, Installation, Member, Message
from tests.admin_verbs import ADMIN_VERBS, all_rows, is_refusal, line_of
from tests.fakes.http_server import eventually
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.slack_requests import SlackWorld, slack_world


@pytest.fixture
async def world(db_url: str, slack_api: FakeSlackApi) -> AsyncIterator[SlackWorld]:
    async with slack_world(db_url, slack_api) as world:
        yield world


async def command(world: SlackWorld, user: str, text: str) -> str:
    """Run a slash command and wait for its ephemeral reply (sent after the ack)."""
    before = len(world.replies_to_commands())
    response = await world.requests.command(user, text)
    assert response.status_code == 200
    await eventually(lambda: _true(len(world.replies_to_commands()) > before))
    return world.replies_to_commands()[-1]


async def scheduled(world: SlackWorld) -> None:
    await command(world, "U1", "schedule set daily everyday 09:00")


async def _true(value: bool) -> bool:
    return value


async def test_install_syncs_people_but_not_bots_deleted_users_or_guests(world: SlackWorld) -> None:
    async with world.services.sessions() as db:
        people = {m.slack_user_id: m for m in await db.scalars(select(Member))}
    assert set(people) == {"U1", "U2"}
    assert people["U1"].role == "admin" and people["U2"].role == "member"
    assert people["U2"].timezone == "Europe/Berlin" and people["U2"].email == "ben@t.io"


async def test_an_admin_sets_a_schedule_with_the_slash_command(world: SlackWorld) -> None:
    await scheduled(world)
    [reply] = world.replies_to_commands()
    assert "daily" in reply and "09:00" in reply


@pytest.mark.parametrize("verb", ADMIN_VERBS, ids=lambda verb: verb.__name__)
async def test_a_member_is_refused_admin_commands(world: SlackWorld, verb: type[Command]) -> None:
    await scheduled(world)  # something for `schedule pause` to change
    before = await all_rows(world.services.sessions)
    reply = await command(world, "U2", line_of(verb))
    assert is_refusal(reply, verb), reply
    assert await all_rows(world.services.sessions) == before


async def test_a_planned_check_in_arrives_as_a_dm_with_buttons(world: SlackWorld) -> None:
    await scheduled(world)
    await world.plan_and_deliver()
    [dm] = world.slack.messages_in("D2")
    assert "1 (rough) to 5 (great)" in dm.text
    labels = [b["text"]["text"] for b in world.buttons_of()]
    assert labels == ["1 😫", "2 😕", "3 😐", "4 🙂", "5 😄", "Skip today"]
    assert world.slack.messages_in("D1") == []  # 03:00 in New York: not yet
    assert len(world.slack.calls_to("conversations.open")) == 1


async def test_a_whole_check_in_in_slack(world: SlackWorld) -> None:
    await scheduled(world)
    await world.plan_and_deliver()
    question_ts = world.slack.messages_in("D2")[0].ts
    four = world.buttons_of()[3]
    assert (await world.requests.press("U2", four, message_ts=question_ts)).status_code == 200
    await eventually(lambda: _true(len(world.slack.messages_in("D2")) == 2))
    assert world.slack.messages_in("D2")[0].edits == 1  # the question now shows the choice
    await world.requests.dm("U2", "Shipping the release", ts="1800000000.000100")
    await eventually(lambda: _true(len(world.slack.messages_in("D2")) == 3))
    await world.requests.dm("U2", "none", ts="1800000000.000200")
    await eventually(lambda: _completed(world, "U2"))
    async with world.services.sessions() as db:
        dots = {d.key: d.num_value or d.text_value for d in await db.scalars(select(Dot))}
    assert dots == {"mood": 4.0, "focus": "Shipping the release", "blockers": "none"}
    await eventually(lambda: _true("U2" in world.slack.views))
    assert "Shipping the release" in json.dumps(world.slack.views["U2"])


async def _completed(world: SlackWorld, user: str) -> bool:
    return (await world.session_of(user)).state == "completed"


async def test_a_second_press_cannot_answer_twice(world: SlackWorld) -> None:
    await scheduled(world)
    await world.plan_and_deliver()
    question_ts = world.slack.messages_in("D2")[0].ts
    buttons = world.buttons_of()
    await world.requests.press("U2", buttons[3], message_ts=question_ts)
    await eventually(lambda: _true(len(world.slack.messages_in("D2")) == 2))
    await world.requests.press("U2", buttons[1], message_ts=question_ts)
    await world.requests.dm("U2", "Focus", ts="1800000000.000300")  # a later turn, to sync on
    await eventually(lambda: _true(len(world.slack.messages_in("D2")) == 3))
    assert (await world.session_of("U2")).brain_state["answers"]["mood"] == 4


async def test_a_redelivered_event_is_processed_once(world: SlackWorld) -> None:
    await scheduled(world)
    await world.plan_and_deliver()
    await world.requests.dm("U2", "4", ts="1800000000.000400", event_id="EvSame")
    await world.requests.dm("U2", "4", ts="1800000000.000400", event_id="EvSame", retry_num=1)
    await eventually(lambda: _true(len(world.slack.messages_in("D2")) == 2))
    await world.requests.dm("U2", "Focus", ts="1800000000.000500")
    await eventually(lambda: _true(len(world.slack.messages_in("D2")) == 3))
    assert await world.count(Message, Message.speaker == "member") == 2


async def test_editing_a_reply_in_slack_corrects_the_answer(world: SlackWorld) -> None:
    await scheduled(world)
    await world.plan_and_deliver()
    await world.requests.dm("U2", "2", ts="1800000000.000600")
    await eventually(lambda: _true(len(world.slack.messages_in("D2")) == 2))
    ts = "1800000000.000600"
    edited = {
        "type": "message", "subtype": "message_changed", "channel_type": "im", "channel": "D2",
        "message": {"type": "message", "user": "U2", "text": "5", "ts": ts},
        "previous_message": {"type": "message", "user": "U2", "text": "2", "ts": ts},
    }  # fmt: skip
    await world.requests.event(edited)
    await eventually(lambda: _mood_is(world, 5))


async def _mood_is(world: SlackWorld, mood: int) -> bool:
    return (await world.session_of("U2")).brain_state["answers"].get("mood") == mood


@pytest.mark.parametrize(
    "tamper", [{"signature": "v0=deadbeef"}, {"signature": ""}, {"age": 6 * 60}]
)
async def test_unsigned_wrongly_signed_or_stale_requests_are_refused(
    world: SlackWorld, tamper: dict[str, Any]
) -> None:
    response = await world.requests.command("U1", "schedule set daily everyday 09:00", **tamper)
    assert response.status_code == 401
    assert await world.count(Message) == 0 and world.replies_to_commands() == []


async def test_a_burst_of_429s_loses_and_doubles_nothing(world: SlackWorld) -> None:
    for n in range(5, 11):
        world.slack.add_user(f"U{n}", f"Person {n}", f"p{n}@t.io", "Europe/Berlin")
    assert "6 added" in await command(world, "U1", "members sync")
    await scheduled(world)
    world.slack.fail_next("chat.postMessage", 4, status=429, retry_after=1)
    await world.plan_and_deliver()
    await world.send_what_the_outbox_holds()  # a send whose own retries ran out: later
    berliners = ["U2", *(f"U{n}" for n in range(5, 11))]
    assert [len(world.slack.messages_in(world.slack.dm_channel_of(u))) for u in berliners] == [
        1
    ] * len(berliners)
    assert await world.count(CheckinSession, CheckinSession.state == "delivered") == 7


async def test_a_member_away_on_vacation_is_not_sent_a_check_in(world: SlackWorld) -> None:
    world.slack.set_status("U2", "On vacation", ":palm_tree:")
    await scheduled(world)
    await world.plan_and_deliver()
    assert world.slack.messages_in("D2") == []
    session = await world.session_of("U2")
    assert session.state == "skipped" and "vacation" in (session.outcome_note or "").lower()


async def test_uninstalling_stops_deliveries(world: SlackWorld) -> None:
    await scheduled(world)
    await world.requests.event({"type": "app_uninstalled"})
    await eventually(lambda: _installation_inactive(world))
    await world.plan_and_deliver()
    assert world.slack.messages_in("D2") == []


async def _installation_inactive(world: SlackWorld) -> bool:
    return await world.count(Installation, Installation.active.is_(False)) == 1


async def test_app_home_shows_the_members_check_ins(world: SlackWorld) -> None:
    await scheduled(world)
    await world.plan_and_deliver()
    for n, answer in enumerate(["4", "Shipping the release", "none"]):
        await world.requests.dm("U2", answer, ts=f"1800000000.00100{n}")
        await eventually(lambda n=n: _true(len(world.slack.messages_in("D2")) == n + 2))
    await eventually(lambda: _true("U2" in world.slack.views))  # published at completion
    del world.slack.views["U2"]
    await world.requests.event({"type": "app_home_opened", "user": "U2", "tab": "home"})
    await eventually(lambda: _true("U2" in world.slack.views))
    home = world.slack.views["U2"]
    texts = [b["text"]["text"] for b in home["blocks"] if b["type"] == "section"]
    assert home["type"] == "home" and "Next check-in:* Daily check-in, Fri 09:00" in texts[0]
    [recent] = [t for t in texts if "2026-11-26 · completed" in t]
    assert "mood 4/5" in recent and "“Shipping the release”" in recent
    assert world.slack.calls_to("views.publish")[-1].params["user_id"] == "U2"


async def test_a_members_dm_channel_is_opened_once(world: SlackWorld) -> None:
    await world.requests.dm("U2", "hello?", ts="1800000000.000700")
    await eventually(lambda: _dm_channel_stored(world, "U2"))
    await world.requests.dm("U2", "anyone?", ts="1800000000.000800")
    await eventually(lambda: _true(len(world.slack.messages_in("D2")) == 2))
    assert "No check-in is open" in world.slack.messages_in("D2")[1].text
    assert len(world.slack.calls_to("conversations.open")) == 1


async def _dm_channel_stored(world: SlackWorld, user: str) -> bool:
    async with world.services.sessions() as db:
        stored = await db.scalar(
            select(Member.slack_dm_channel_id).where(Member.slack_user_id == user)
        )
    return stored is not None


async def test_someone_who_joined_after_the_sync_is_enrolled_by_their_first_dm(
    world: SlackWorld,
) -> None:
    world.slack.add_user("U9", "New Person", "new@t.io")  # joined after the sync
    await world.requests.dm("U9", "hello", ts="1800000000.000900")
    channel = world.slack.dm_channel_of("U9")
    await eventually(lambda: _true(len(world.slack.messages_in(channel)) == 1))
    assert "Type *start*" in world.slack.messages_in(channel)[0].text  # mrkdwn
    assert await world.count(Member, Member.slack_user_id == "U9") == 1


async def test_a_guest_is_told_how_to_join(world: SlackWorld) -> None:
    await world.requests.dm("U4", "hello", ts="1800000000.000901")
    channel = world.slack.dm_channel_of("U4")
    await eventually(lambda: _true(len(world.slack.messages_in(channel)) == 1))
    assert "members sync" in world.slack.messages_in(channel)[0].text
    assert await world.count(Member, Member.slack_user_id == "U4") == 0
