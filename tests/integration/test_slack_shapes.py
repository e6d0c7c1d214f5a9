"""Real Slack payload shapes reach the right place, or are ignored in one log line.

A DM answer with a file (subtype file_share) or sent from a thread to the DM
(thread_broadcast) is an answer; an edit whose new version has no ts uses the previous
one's; Enterprise Grid org-wide shapes (no team id in Bolt's context) never raise.
Bot posts, deletions, thread replies and channel messages never reach the inbox.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from sqlalchemy import select

from core.store.models import InboundEvent, Installation, Message
from tests.fakes.http_server import eventually
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.slack_requests import SlackWorld, slack_world

ENTERPRISE = "E0GRID"


@pytest.fixture
async def world(db_url: str, slack_api: FakeSlackApi) -> AsyncIterator[SlackWorld]:
    async with slack_world(db_url, slack_api) as world:
        yield world


@pytest.fixture
async def asked(world: SlackWorld) -> SlackWorld:
    """Ben's daily check-in is open: its first question (mood, 1 to 5) was sent."""
    await world.requests.command("U1", "schedule set daily everyday 09:00")
    await eventually(lambda: _true(len(world.replies_to_commands()) == 1))
    await world.plan_and_deliver()
    return world


async def _true(value: bool) -> bool:
    return value


async def mood_is(world: SlackWorld, mood: int) -> bool:
    return (await world.session_of("U2")).brain_state.get("answers", {}).get("mood") == mood


def dm(text: str, ts: str, **fields: Any) -> dict[str, Any]:
    return {"type": "message", "channel_type": "im", "channel": "D2", "user": "U2",
            "text": text, "ts": ts, **fields}  # fmt: skip


def org_wide(event: dict[str, Any], **body: Any) -> str:
    """An Enterprise Grid org-wide install's event: authorizations name no team."""
    return json.dumps({
        "type": "event_callback", "enterprise_id": ENTERPRISE, "api_app_id": "A0TEST",
        "event": event, "event_id": f"EvGrid{id(event)}", "event_time": 1800000000,
        "authorizations": [{"enterprise_id": ENTERPRISE, "team_id": None, "user_id": "U0BOT",
                            "is_bot": True, "is_enterprise_install": True}],
        "is_ext_shared_channel": False, **body,
    })  # fmt: skip


FILE = {"id": "F1", "name": "mood.png", "mimetype": "image/png", "mode": "hosted"}


async def test_an_answer_with_a_file_is_taken_with_a_note(asked: SlackWorld) -> None:
    event = dm("4", "1800000000.000100", subtype="file_share", files=[FILE], upload=False)
    assert (await asked.requests.event(event)).status_code == 200
    await eventually(lambda: mood_is(asked, 4))
    async with asked.services.sessions() as db:
        said = list(await db.scalars(select(Message.text).where(Message.speaker == "member")))
    assert said == ["4 [attachment not read]"]


async def test_a_file_without_words_is_not_an_answer_but_is_noted(asked: SlackWorld) -> None:
    event = dm("", "1800000000.000150", subtype="file_share", files=[FILE])
    assert (await asked.requests.event(event)).status_code == 200
    await eventually(lambda: _true(len(asked.slack.messages_in("D2")) == 2))
    assert not await mood_is(asked, 4) and "1 to 5" in asked.slack.messages_in("D2")[1].text


async def test_a_thread_broadcast_to_the_dm_is_an_answer(asked: SlackWorld) -> None:
    root = asked.slack.messages_in("D2")[0].ts
    event = dm("4", "1800000000.000200", subtype="thread_broadcast", thread_ts=root,
               root={"ts": root, "text": "How are you?"})  # fmt: skip
    assert (await asked.requests.event(event)).status_code == 200
    await eventually(lambda: mood_is(asked, 4))


async def test_an_edit_without_a_ts_in_its_new_version_uses_the_previous(
    asked: SlackWorld,
) -> None:
    ts = "1800000000.000300"
    await asked.requests.dm("U2", "2", ts=ts)
    await eventually(lambda: mood_is(asked, 2))
    edited = {
        "type": "message", "subtype": "message_changed", "channel_type": "im", "channel": "D2",
        "hidden": True, "ts": "1800000000.000399",
        "message": {"type": "message", "user": "U2", "text": "5", "edited": {"user": "U2"}},
        "previous_message": {"type": "message", "user": "U2", "text": "2", "ts": ts},
    }  # fmt: skip
    assert (await asked.requests.event(edited)).status_code == 200
    await eventually(lambda: mood_is(asked, 5))


async def test_an_edit_with_no_ts_at_all_is_ignored_in_one_line(
    world: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="vizdots.slack")
    edited = {
        "type": "message", "subtype": "message_changed", "channel_type": "im", "channel": "D2",
        "message": {"type": "message", "user": "U2", "text": "5"},
    }  # fmt: skip
    assert (await world.requests.event(edited)).status_code == 200
    assert await world.count(InboundEvent) == 0
    [line] = [r for r in caplog.records if r.name == "vizdots.slack"]
    assert "no channel or ts" in line.getMessage() and line.exc_info is None


NOT_ANSWERS = {
    "a bot_message": dm("4", "1.1", subtype="bot_message", bot_id="B9"),
    "a message with a bot_id": dm("4", "1.2", bot_id="B0BOT", app_id="A0TEST"),
    "another app's bot's message": dm("4", "1.3", bot_id="B0OTHER", app_id="A0OTHER"),
    "a message_deleted": {"type": "message", "subtype": "message_deleted", "channel_type": "im",
                          "channel": "D2", "deleted_ts": "1.0", "hidden": True,
                          "previous_message": {"type": "message", "user": "U2", "text": "4"}},
    "a reply in a thread": dm("4", "1.4", thread_ts="1.0", parent_user_id="U0BOT"),
    "a channel message": {**dm("4", "1.5"), "channel_type": "channel", "channel": "C1"},
    "a channel_join": dm("joined", "1.6", subtype="channel_join"),
    "a message without a user": {k: v for k, v in dm("4", "1.7").items() if k != "user"},
    "an edit by a bot": {"type": "message", "subtype": "message_changed", "channel_type": "im",
                         "channel": "D2", "message": {"bot_id": "B0BOT", "text": "x", "ts": "1"}},
    "a me_message": dm("waves", "1.8", subtype="me_message"),
}  # fmt: skip


@pytest.mark.parametrize("kind", list(NOT_ANSWERS))
async def test_what_is_no_answer_never_reaches_the_inbox(asked: SlackWorld, kind: str) -> None:
    assert (await asked.requests.event(NOT_ANSWERS[kind])).status_code == 200
    assert await asked.count(InboundEvent) == 0
    await asked.requests.event(dm("3", "1.9"))  # a real answer, to sync on: it comes after
    await eventually(lambda: _true(len(asked.slack.messages_in("D2")) == 2))
    assert await asked.count(InboundEvent) == 1
    assert [m.text for m in await _member_turns(asked)] == ["3"]
    assert len(asked.slack.calls_to("chat.postMessage")) == 2  # the opening and its reply
    assert await mood_is(asked, 3)


async def _member_turns(world: SlackWorld) -> list[Message]:
    async with world.services.sessions() as db:
        return list(await db.scalars(select(Message).where(Message.speaker == "member")))


async def test_an_event_nobody_listens_to_is_acknowledged_and_ignored(
    world: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    event = {"type": "reaction_added", "user": "U2", "reaction": "thumbsup",
             "item": {"type": "message", "channel": "D2", "ts": "1.0"}}  # fmt: skip
    assert (await world.requests.event(event)).status_code == 200  # else Slack redelivers
    server = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert [r.getMessage() for r in server] == ["slack request ignored: no listener for "
                                                "event_callback/reaction_added"]  # fmt: skip


async def test_an_org_wide_dm_is_stored_for_its_workspace(world: SlackWorld) -> None:
    body = org_wide(dm("hello", "1800000000.000500"), team_id=world.slack.team_id)
    assert (await world.requests.post(body, "application/json")).status_code == 200
    async with world.services.sessions() as db:
        [workspace] = list(await db.scalars(select(InboundEvent.workspace)))
    assert workspace == world.slack.team_id


async def test_an_org_wide_app_home_opened_is_published(world: SlackWorld) -> None:
    event = {"type": "app_home_opened", "user": "U2", "channel": "D2", "tab": "home"}
    body = org_wide(event, team_id=world.slack.team_id)
    assert (await world.requests.post(body, "application/json")).status_code == 200
    await eventually(lambda: _true("U2" in world.slack.views))
    assert "isn't set up" not in json.dumps(world.slack.views["U2"])  # Ben was found


async def test_an_org_wide_uninstall_naming_only_the_enterprise_is_recorded(
    world: SlackWorld,
) -> None:
    body = org_wide({"type": "app_uninstalled"})
    assert (await world.requests.post(body, "application/json")).status_code == 200
    async with world.services.sessions() as db:
        [active] = list(await db.scalars(select(Installation.active)))
    assert active is False


@pytest.mark.parametrize(("tokens", "still_active"), [({"oauth": ["U2"]}, True),
                                                     ({"bot": ["U0BOT"]}, False)])  # fmt: skip
async def test_revoked_tokens_uninstall_only_when_the_bots_are_revoked(
    world: SlackWorld, tokens: dict[str, list[str]], still_active: bool
) -> None:
    event = {"type": "tokens_revoked", "tokens": tokens}
    assert (await world.requests.event(event)).status_code == 200
    async with world.services.sessions() as db:
        [active] = list(await db.scalars(select(Installation.active)))
    assert active is still_active


@pytest.mark.parametrize(
    "change", [{"value": "v" * 201}, {"value": 5}, {"action_ts": None}, {"action_ts": "9" * 61}]
)
async def test_a_button_press_of_an_unexpected_shape_is_ignored(
    asked: SlackWorld, change: dict[str, Any]
) -> None:
    button = {**asked.buttons_of()[3], **change}
    form = asked.requests.action_form("U2", button, {"type": "message", "message_ts": "1.0"})
    if "action_ts" in change:  # action_form stamps an action_ts: put the odd one back
        payload = json.loads(parse_qs(form)["payload"][0])
        payload["actions"][0]["action_ts"] = change["action_ts"]
        form = urlencode({"payload": json.dumps(payload)})
    response = await asked.requests.post(form, "application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert await asked.count(InboundEvent) == 0
