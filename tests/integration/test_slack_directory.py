"""SlackDirectory over real HTTP: the workspace's people and channel members, page by page."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.slack.clients import SlackClients
from adapters.slack.directory import SlackDirectory, SlackDirectoryError
from core.ports import MemberProfile
from tests.fakes.slack_api import TEST_TOKEN, FakeSlackApi


@pytest.fixture
async def clients(slack_api: FakeSlackApi) -> AsyncIterator[SlackClients]:
    async def token_for_org(org_id: int) -> str | None:
        return TEST_TOKEN

    async def token_for_team(team_id: str) -> str | None:
        return TEST_TOKEN if team_id == slack_api.team_id else None

    clients = SlackClients(
        api_url=slack_api.base_url,
        token_for_org=token_for_org,
        token_for_team=token_for_team,
        retry_backoff=0.01,
    )
    yield clients
    await clients.close()


@pytest.fixture
def directory(clients: SlackClients) -> SlackDirectory:
    return SlackDirectory(clients=clients)


async def ids(directory: SlackDirectory, team_id: str) -> list[str]:
    return [profile.external_id for profile in await directory.list_members(team_id)]


async def test_people_come_from_every_page(
    directory: SlackDirectory, slack_api: FakeSlackApi
) -> None:
    for n in range(7):
        slack_api.add_user(f"U{n}", f"Person {n}", f"p{n}@example.com")
    assert await ids(directory, slack_api.team_id) == [f"U{n}" for n in range(7)]
    assert len(slack_api.calls_to("users.list")) == 5  # 9 users (Slackbot, the bot), 2 a page


async def test_pages_are_asked_for_200_at_a_time(
    directory: SlackDirectory, slack_api: FakeSlackApi
) -> None:
    await directory.list_members(slack_api.team_id)
    assert slack_api.calls_to("users.list")[0].params["limit"] == "200"


async def test_a_profile_reads_name_email_and_time_zone(
    directory: SlackDirectory, slack_api: FakeSlackApi
) -> None:
    slack_api.add_user("U1", "Ana Silva", "ana@example.com", "Europe/Lisbon")
    assert await directory.list_members(slack_api.team_id) == [
        MemberProfile("U1", "Ana Silva", "ana@example.com", "Europe/Lisbon", is_admin=False)
    ]


async def test_a_name_falls_back_to_the_display_name_then_the_handle(
    directory: SlackDirectory, slack_api: FakeSlackApi
) -> None:
    slack_api.add_user("U1", "", "ana@example.com", display_name="ana.s")
    slack_api.add_user("U2", "", "bo@example.com")
    names = [p.display_name for p in await directory.list_members(slack_api.team_id)]
    assert names == ["ana.s", "bo"]


async def test_bots_slackbot_and_deactivated_users_are_skipped(
    directory: SlackDirectory, slack_api: FakeSlackApi
) -> None:
    slack_api.add_user("U1", "Ana", "ana@example.com")
    slack_api.add_user("U2", "Deploy bot", None, is_bot=True)
    slack_api.add_user("U3", "Gone", "gone@example.com", deleted=True)
    slack_api.add_user("U4", "Workflow", None)["is_app_user"] = True
    assert await ids(directory, slack_api.team_id) == ["U1"]


async def test_guests_are_skipped_by_default(
    directory: SlackDirectory, slack_api: FakeSlackApi
) -> None:
    slack_api.add_user("U1", "Ana", "ana@example.com")
    slack_api.add_user("U2", "Guest", "guest@example.com", restricted=True)
    slack_api.add_user("U3", "Single", "single@example.com")["is_ultra_restricted"] = True
    assert await ids(directory, slack_api.team_id) == ["U1"]


async def test_guests_can_be_included(clients: SlackClients, slack_api: FakeSlackApi) -> None:
    slack_api.add_user("U1", "Ana", "ana@example.com")
    slack_api.add_user("U2", "Guest", "guest@example.com", restricted=True)
    directory = SlackDirectory(clients=clients, include_guests=True)
    assert await ids(directory, slack_api.team_id) == ["U1", "U2"]


async def test_admins_and_owners_are_flagged(
    directory: SlackDirectory, slack_api: FakeSlackApi
) -> None:
    slack_api.add_user("U1", "Admin", "admin@example.com", is_admin=True)
    slack_api.add_user("U2", "Owner", "owner@example.com", is_owner=True)
    slack_api.add_user("U3", "Primary", "primary@example.com")["is_primary_owner"] = True
    slack_api.add_user("U4", "Member", "member@example.com")
    flags = [p.is_admin for p in await directory.list_members(slack_api.team_id)]
    assert flags == [True, True, True, False]


async def test_a_workspace_without_a_token_cannot_be_listed(directory: SlackDirectory) -> None:
    with pytest.raises(SlackDirectoryError, match="not installed"):
        await directory.list_members("T0OTHER")


async def test_a_slack_error_is_reported_with_its_code(
    directory: SlackDirectory, slack_api: FakeSlackApi
) -> None:
    slack_api.fail_next("users.list", error="missing_scope")
    with pytest.raises(SlackDirectoryError, match="missing_scope"):
        await directory.list_members(slack_api.team_id)


async def test_a_rate_limited_page_is_retried(
    directory: SlackDirectory, slack_api: FakeSlackApi
) -> None:
    slack_api.add_user("U1", "Ana", "ana@example.com")
    slack_api.fail_next("users.list", status=429, retry_after=0)
    assert await ids(directory, slack_api.team_id) == ["U1"]


async def test_channel_members_come_from_every_page(
    directory: SlackDirectory, slack_api: FakeSlackApi
) -> None:
    slack_api.add_channel("C1TEAM", ["U1", "U2", "U3", "U4", "U5"])
    members = await directory.channel_members(slack_api.team_id, "C1TEAM")
    assert members == ["U1", "U2", "U3", "U4", "U5"]
    assert len(slack_api.calls_to("conversations.members")) == 3


async def test_a_channel_the_bot_cannot_see_has_no_members(
    directory: SlackDirectory, slack_api: FakeSlackApi
) -> None:
    assert await directory.channel_members(slack_api.team_id, "C404") == []


# --- one person (users.info): a sender VizDots does not know yet -----------------------------
async def test_one_person_is_looked_up_by_id(
    directory: SlackDirectory, slack_api: FakeSlackApi
) -> None:
    slack_api.add_user("U1", "Ana Silva", "ana@example.com", "Europe/Lisbon", is_admin=True)
    assert await directory.member(slack_api.team_id, "U1") == MemberProfile(
        "U1", "Ana Silva", "ana@example.com", "Europe/Lisbon", is_admin=True
    )
    [call] = slack_api.calls_to("users.info")
    assert call.params["user"] == "U1"


@pytest.mark.parametrize(
    "flags",
    [
        {"is_bot": True},
        {"deleted": True},
        {"is_restricted": True},
        {"is_ultra_restricted": True},
        {"is_app_user": True},
        {"team_id": "T0ELSEWHERE"},
    ],
    ids=["bot", "deactivated", "guest", "single-channel guest", "app user", "slack connect"],
)
async def test_someone_who_may_not_take_part_is_refused(
    directory: SlackDirectory, slack_api: FakeSlackApi, flags: dict[str, object]
) -> None:
    slack_api.add_user("U1", "Someone", "someone@example.com").update(flags)
    assert await directory.member(slack_api.team_id, "U1") is None


async def test_slackbot_and_an_unknown_id_are_refused(
    directory: SlackDirectory, slack_api: FakeSlackApi
) -> None:
    assert await directory.member(slack_api.team_id, "USLACKBOT") is None
    assert await directory.member(slack_api.team_id, "U404") is None


async def test_a_failed_lookup_is_a_directory_error_with_its_code(
    directory: SlackDirectory, slack_api: FakeSlackApi
) -> None:
    slack_api.add_user("U1", "Ana", "ana@example.com")
    slack_api.fail_next("users.info", error="missing_scope")
    with pytest.raises(SlackDirectoryError, match=r"users\.info failed: missing_scope"):
        await directory.member(slack_api.team_id, "U1")


async def test_a_lookup_in_a_workspace_without_a_token_is_a_directory_error(
    directory: SlackDirectory,
) -> None:
    with pytest.raises(SlackDirectoryError, match="not installed"):
        await directory.member("T0OTHER", "U1")
