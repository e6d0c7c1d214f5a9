"""A single-workspace process whose start-up sync has not finished: the workspace admin's
first `/vizdots members sync` is answered at once, over the real Bolt app and signed
requests, against the fake Slack Web API. Bots, guests and deactivated people are refused.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.app import create_app
from bot.bootstrap import Services, build_services
from bot.settings import load_settings
from core.commands.service import UNKNOWN_SENDER
from core.store.models import Installation, Member
from tests.fakes.clock import FakeClock
from tests.fakes.http_server import eventually, serving
from tests.fakes.slack_api import TEST_TOKEN, FakeSlackApi
from tests.fakes.slack_requests import SlackRequests

SECRET = "test-signing-secret"
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


@dataclass
class Workspace:
    services: Services
    slack: FakeSlackApi
    requests: SlackRequests

    async def members(self) -> dict[str, str]:
        """Slack user id → role."""
        async with self.services.sessions() as db:
            rows = await db.execute(select(Member.slack_user_id, Member.role))
        return {str(user): role for user, role in rows}

    async def command(self, user: str, text: str) -> str:
        """Run a slash command and wait for its reply (sent to response_url after the ack)."""
        before = len(self.replies())
        assert (await self.requests.command(user, text)).status_code == 200
        await eventually(lambda: _true(len(self.replies()) > before))
        return self.replies()[-1]

    def replies(self) -> list[str]:
        return [call.params.get("text", "") for call in self.slack.calls_to("response_url.hook")]

    async def installed(self) -> bool:
        async with self.services.sessions() as db:
            return bool(await db.scalar(select(func.count()).select_from(Installation)))


async def _true(value: bool) -> bool:
    return value


@pytest.fixture
async def workspace(db_url: str, slack_api: FakeSlackApi) -> AsyncIterator[Workspace]:
    """Started and registered, but its start-up sync failed (users.list), so it knows nobody
    yet: the state a large workspace is in while users.list pages along."""
    slack_api.add_user("U1", "Ada Admin", "ada@t.io", "Europe/Paris", is_admin=True)
    slack_api.add_user("U2", "Ben Member", "ben@t.io", "Europe/Berlin")
    slack_api.add_user("U3", "Gone Person", "gone@t.io", deleted=True)
    slack_api.add_user("U4", "Guest Person", "guest@t.io", restricted=True)
    slack_api.add_user("U5", "Deploy Bot", None, is_bot=True)
    slack_api.fail_next("users.list", error="internal_error")
    settings = load_settings(
        database_url=db_url,
        slack_signing_secret=SECRET,
        slack_bot_token=TEST_TOKEN,
        slack_api_url=slack_api.base_url,
    )
    services = build_services(settings, clock=FakeClock(NOW), loop_interval=None)
    async with serving(create_app(services)) as url:
        hook = f"{slack_api.base_url}response_url.hook"
        requests = SlackRequests(url, SECRET, slack_api.team_id, hook, slack_api.dm_channel_of)
        found = Workspace(services, slack_api, requests)
        await eventually(found.installed)
        await eventually(lambda: _true(bool(slack_api.calls_to("users.list"))))
        assert await found.members() == {}
        yield found
        await requests.client.aclose()


async def test_the_admins_first_members_sync_works_at_once(workspace: Workspace) -> None:
    reply = await workspace.command("U1", "members sync")
    assert reply == "Members synced: 1 added, 0 updated, 0 deactivated."
    assert await workspace.members() == {"U1": "admin", "U2": "member"}
    [lookup] = workspace.slack.calls_to("users.info")
    assert lookup.params["user"] == "U1"


async def test_a_member_is_enrolled_by_their_first_command(workspace: Workspace) -> None:
    reply = await workspace.command("U2", "members sync")
    assert "only admins can use `members sync`" in reply
    assert await workspace.members() == {"U2": "member"}


@pytest.mark.parametrize("user", ["U3", "U4", "U5"], ids=["deactivated", "guest", "bot"])
async def test_someone_who_may_not_take_part_is_refused(workspace: Workspace, user: str) -> None:
    assert await workspace.command(user, "members sync") == UNKNOWN_SENDER
    assert await workspace.members() == {}


async def test_a_member_not_synced_yet_who_says_start_gets_a_check_in(
    workspace: Workspace,
) -> None:
    assert (await workspace.requests.dm("U2", "start", ts="1.1")).status_code == 200
    dm = workspace.slack.dm_channel_of("U2")
    await eventually(lambda: _true(bool(workspace.slack.messages_in(dm))))
    [opening] = workspace.slack.messages_in(dm)
    assert opening.text.startswith("Hi Ben!")
    assert await workspace.members() == {"U2": "member"}


async def test_a_bot_that_dms_the_app_is_not_enrolled(workspace: Workspace) -> None:
    assert (await workspace.requests.dm("U5", "hello", ts="1.2")).status_code == 200
    await eventually(lambda: _true(bool(workspace.slack.calls_to("users.info"))))
    assert await workspace.members() == {}
