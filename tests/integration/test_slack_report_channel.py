"""A schedule's report channel is the channel `/vizdots schedule set` was typed in —
never a DM, where a digest would reach one person instead of the team."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from core.store.models import Schedule
from tests.fakes.http_server import eventually
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.slack_requests import SlackWorld, slack_world

SET = "schedule set daily everyday 09:00"


@pytest.fixture
async def world(db_url: str, slack_api: FakeSlackApi) -> AsyncIterator[SlackWorld]:
    async with slack_world(db_url, slack_api) as world:
        yield world


async def typed(world: SlackWorld, channel: tuple[str, str]) -> None:
    before = len(world.replies_to_commands())
    response = await world.requests.command("U1", SET, channel=channel)
    assert response.status_code == 200

    async def replied() -> bool:
        return len(world.replies_to_commands()) > before

    await eventually(replied)


async def report_channel(world: SlackWorld) -> str | None:
    async with world.services.sessions() as db:
        found: str | None = await db.scalar(select(Schedule.report_channel))
    return found


async def test_a_schedule_set_in_a_channel_reports_there(world: SlackWorld) -> None:
    await typed(world, ("C0TEAM", "team"))
    assert await report_channel(world) == "C0TEAM"


async def test_a_schedule_set_again_in_a_dm_keeps_its_report_channel(world: SlackWorld) -> None:
    await typed(world, ("C0TEAM", "team"))
    await typed(world, ("D0ADMIN", "directmessage"))
    assert await report_channel(world) == "C0TEAM"


async def test_a_schedule_first_set_in_a_dm_has_no_report_channel(world: SlackWorld) -> None:
    await typed(world, ("D0ADMIN", "directmessage"))
    assert await report_channel(world) is None
