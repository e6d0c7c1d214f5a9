"""A signed request replayed within its 5 minutes changes nothing the second time.

Slash commands and App Home controls carry no event id: their trigger id is recorded
before the acknowledgement, so a byte-identical replay is answered 200 and ignored. A
check-in button press is stored in the inbox under its action_ts: kept once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.seen import first_time, purge_seen
from core.store.models import AuditEntry, InboundEvent, SeenRequest
from tests.fakes.http_server import eventually
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.slack_requests import NOW, SlackWorld, slack_world

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
async def world(db_url: str, slack_api: FakeSlackApi) -> AsyncIterator[SlackWorld]:
    async with slack_world(db_url, slack_api) as world:
        yield world


async def audited(world: SlackWorld, action: str) -> int:
    return await world.count(AuditEntry, AuditEntry.action == action)


async def replies(world: SlackWorld, count: int) -> bool:
    return len(world.replies_to_commands()) == count


async def test_a_replayed_slash_command_runs_once(world: SlackWorld) -> None:
    form = world.requests.command_form("U1", "schedule set daily everyday 09:00")
    once = world.requests.signed(form, FORM)
    responses = [await world.requests.send(once) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    await eventually(lambda: replies(world, 1))
    await asyncio.sleep(0.3)  # a replay would have replied by now
    assert len(world.replies_to_commands()) == 1
    assert await audited(world, "schedule.set") == 1


async def test_the_same_words_typed_again_run_again(world: SlackWorld) -> None:
    """Not a replay: Slack gives each invocation its own trigger id."""
    for _ in range(2):
        response = await world.requests.command("U2", "email off")
        assert response.status_code == 200
    await eventually(lambda: replies(world, 2))
    assert await audited(world, "member.email") == 2


async def test_a_replayed_app_home_control_changes_nothing(world: SlackWorld) -> None:
    action = {
        "type": "button", "action_id": "vizdots_home_email", "value": "off",
        "block_id": "vizdots_home_settings", "text": {"type": "plain_text", "text": "Off"},
    }  # fmt: skip
    form = world.requests.action_form("U2", action, {"type": "view", "view_id": "V1"})
    once = world.requests.signed(form, FORM)
    assert [(await world.requests.send(once)).status_code for _ in range(3)] == [200] * 3
    await eventually(lambda: _published(world, "U2"))
    await asyncio.sleep(0.3)
    assert await audited(world, "member.email") == 1


async def _published(world: SlackWorld, user: str) -> bool:
    return user in world.slack.views


async def test_a_replayed_button_press_is_one_turn(world: SlackWorld) -> None:
    await world.requests.command("U1", "schedule set daily everyday 09:00")
    await eventually(lambda: replies(world, 1))
    await world.plan_and_deliver()
    question_ts = world.slack.messages_in("D2")[0].ts
    four = world.buttons_of()[3]
    once = world.requests.signed(
        world.requests.press_form("U2", four, message_ts=question_ts), FORM
    )
    assert [(await world.requests.send(once)).status_code for _ in range(3)] == [200] * 3
    assert await world.count(InboundEvent, InboundEvent.choice.is_not(None)) == 1


async def test_seen_keys_are_purged_in_batches(world: SlackWorld) -> None:
    sessions = world.services.sessions
    for n in range(5):
        assert await first_time(sessions, f"key-{n}", NOW - timedelta(minutes=10 + n))
    assert not await first_time(sessions, "key-0", NOW)
    assert await first_time(sessions, "fresh", NOW)
    before = NOW - timedelta(minutes=5)
    assert await purge_seen(sessions, before, 3) == 3
    assert await purge_seen(sessions, before, 3) == 2
    assert await purge_seen(sessions, before, 3) == 0
    async with sessions() as db:
        assert list(await db.scalars(select(SeenRequest.key))) == ["fresh"]
