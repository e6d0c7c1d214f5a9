"""SlackChannel over real HTTP: slack_sdk's AsyncWebClient against the local fake Slack API."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.slack.blocks import message_blocks
from adapters.slack.channel import SlackChannel
from adapters.slack.clients import SlackClients
from core.domain import Question, QuestionKind
from core.ports import DeliveryError, FixedClock, MemberAddress, OutgoingMessage
from core.rendering import agent_message, answered
from tests.fakes.slack_api import TEST_TOKEN, FakeSlackApi

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
ORG, OTHER_ORG = 1, 2
MOOD = Question(key="mood", text="How are you?", kind=QuestionKind.SCALE)
HELLO = agent_message(7, "Hi Ana! How are you today?", MOOD)
MakeChannel = Callable[..., SlackChannel]


def ana(**changes: Any) -> MemberAddress:
    values: dict[str, Any] = {"member_id": 11, "org_id": ORG, "display_name": "Ana"}
    return MemberAddress(**{**values, "slack_user_id": "U1ANA", **changes})


@pytest.fixture
def workspace(slack_api: FakeSlackApi) -> FakeSlackApi:
    slack_api.add_user("U1ANA", "Ana Silva", "ana@example.com", "Europe/Lisbon")
    return slack_api


@pytest.fixture
async def make_channel(workspace: FakeSlackApi) -> AsyncIterator[MakeChannel]:
    """A SlackChannel on a client for org 1 only, with fast back-off (options change retries)."""
    made: list[SlackClients] = []

    async def token_for_org(org_id: int) -> str | None:
        return TEST_TOKEN if org_id == ORG else None

    async def token_for_team(team_id: str) -> str | None:
        return TEST_TOKEN

    def make(
        *, check_status: bool = True, api_url: str | None = None, **options: Any
    ) -> SlackChannel:
        clients = SlackClients(
            api_url=api_url or workspace.base_url,
            token_for_org=token_for_org,
            token_for_team=token_for_team,
            **{"retry_backoff": 0.01, **options},
        )
        made.append(clients)
        return SlackChannel(clients=clients, check_status=check_status, clock=FixedClock(NOW))

    yield make
    for clients in made:
        await clients.close()


@pytest.fixture
def channel(make_channel: MakeChannel) -> SlackChannel:
    return make_channel()


async def test_a_first_send_opens_the_dm_and_hands_its_id_back(
    channel: SlackChannel, workspace: FakeSlackApi
) -> None:
    sent = await channel.send(ana(), HELLO)
    assert sent.learned == {"slack_dm_channel_id": workspace.dm_channel_of("U1ANA")}
    assert [c.params["users"] for c in workspace.calls_to("conversations.open")] == ["U1ANA"]


async def test_a_stored_dm_channel_is_used_without_opening_it_again(
    channel: SlackChannel, workspace: FakeSlackApi
) -> None:
    first = await channel.send(ana(), HELLO)
    second = await channel.send(
        ana(slack_dm_channel_id=first.learned["slack_dm_channel_id"]), HELLO
    )
    assert len(workspace.calls_to("conversations.open")) == 1
    assert second.learned == {}
    assert len(workspace.messages_in(workspace.dm_channel_of("U1ANA"))) == 2


async def test_the_message_id_names_the_channel_and_ts(
    channel: SlackChannel, workspace: FakeSlackApi
) -> None:
    sent = await channel.send(ana(), HELLO)
    posted = workspace.messages[0]
    assert sent.message_id == f"{posted.channel}:{posted.ts}"


async def test_the_post_carries_the_text_and_the_buttons_with_their_values(
    channel: SlackChannel, workspace: FakeSlackApi
) -> None:
    await channel.send(ana(), HELLO)
    posted = workspace.messages[0]
    assert posted.text == HELLO.text
    assert posted.blocks == message_blocks(HELLO)
    values = [e["value"] for b in posted.blocks if b["type"] == "actions" for e in b["elements"]]
    assert values == [b.value for b in HELLO.buttons]


async def test_the_post_is_made_with_the_workspace_bot_token(
    channel: SlackChannel, workspace: FakeSlackApi
) -> None:
    await channel.send(ana(), HELLO)
    assert {call.token for call in workspace.calls} == {TEST_TOKEN}


async def test_update_edits_the_message_it_names(
    channel: SlackChannel, workspace: FakeSlackApi
) -> None:
    first = await channel.send(ana(), HELLO)
    await channel.send(ana(), OutgoingMessage("Another"))
    await channel.update(ana(), first.message_id, answered(HELLO.text, "4 🙂"))
    edited, untouched = workspace.messages
    assert (edited.edits, edited.text) == (1, f"{HELLO.text}\n✅ 4 🙂")
    assert not [b for b in edited.blocks if b["type"] == "actions"]
    assert (untouched.edits, untouched.text) == (0, "Another")


async def test_a_member_with_an_out_of_office_status_is_away(
    channel: SlackChannel, workspace: FakeSlackApi
) -> None:
    workspace.set_status("U1ANA", "Out of office", ":palm_tree:")
    assert await channel.away(ana()) == "Slack status: 🌴 Out of office"
    assert workspace.calls_to("conversations.open") == []


async def test_replies_are_sent_whatever_the_status(
    channel: SlackChannel, workspace: FakeSlackApi
) -> None:
    workspace.set_status("U1ANA", "Out of office", ":palm_tree:")
    await channel.send(ana(), HELLO)
    assert len(workspace.messages) == 1 and workspace.calls_to("users.info") == []


async def test_a_status_set_until_after_the_members_local_day_is_away(
    channel: SlackChannel, workspace: FakeSlackApi
) -> None:
    until = NOW.replace(hour=23, minute=30) + timedelta(days=1)
    workspace.set_status("U1ANA", "Team offsite", expiration=int(until.timestamp()))
    assert await channel.away(ana()) is not None


async def test_without_the_status_check_users_info_is_not_called(
    make_channel: MakeChannel, workspace: FakeSlackApi
) -> None:
    workspace.set_status("U1ANA", "Out of office", ":palm_tree:")
    assert await make_channel(check_status=False).away(ana()) is None
    assert workspace.calls_to("users.info") == []


async def test_a_failed_status_lookup_does_not_stop_the_check_in(
    channel: SlackChannel, workspace: FakeSlackApi
) -> None:
    workspace.fail_next("users.info", 5, status=500)
    assert await channel.away(ana()) is None


async def test_a_burst_of_rate_limits_still_posts_exactly_one_message(
    channel: SlackChannel, workspace: FakeSlackApi
) -> None:
    workspace.fail_next("chat.postMessage", 3, status=429, retry_after=0)
    await channel.send(ana(), HELLO)
    assert len(workspace.calls_to("chat.postMessage")) == 4
    assert len(workspace.messages) == 1


async def test_rate_limits_beyond_the_retries_are_retryable(
    make_channel: MakeChannel, workspace: FakeSlackApi
) -> None:
    workspace.fail_next("chat.postMessage", 3, status=429, retry_after=0)
    with pytest.raises(DeliveryError) as failed:
        await make_channel(rate_limit_retries=1).send(ana(), HELLO)
    assert failed.value.retryable
    assert "ratelimited" in str(failed.value)


async def test_server_errors_beyond_the_retries_are_retryable(
    channel: SlackChannel, workspace: FakeSlackApi
) -> None:
    workspace.fail_next("chat.postMessage", 10, status=500)
    with pytest.raises(DeliveryError) as failed:
        await channel.send(ana(), HELLO)
    assert failed.value.retryable
    assert workspace.messages == []


async def test_an_unknown_user_is_not_retryable(
    channel: SlackChannel, workspace: FakeSlackApi
) -> None:
    with pytest.raises(DeliveryError) as failed:
        await channel.send(ana(slack_user_id="U404"), HELLO)
    assert not failed.value.retryable
    assert "user_not_found" in str(failed.value)
    assert workspace.calls_to("chat.postMessage") == []


async def test_a_post_refused_for_the_user_is_not_retryable(
    channel: SlackChannel, workspace: FakeSlackApi
) -> None:
    workspace.fail_next("chat.postMessage", error="user_not_found")
    with pytest.raises(DeliveryError) as failed:
        await channel.send(ana(), HELLO)
    assert not failed.value.retryable


async def test_a_revoked_token_is_not_retryable(
    channel: SlackChannel, workspace: FakeSlackApi
) -> None:
    workspace.revoke(TEST_TOKEN)
    with pytest.raises(DeliveryError) as failed:
        await channel.send(ana(), HELLO)
    assert not failed.value.retryable
    assert "removed from the workspace" in str(failed.value)


async def test_a_deactivated_account_is_not_retryable(
    channel: SlackChannel, workspace: FakeSlackApi
) -> None:
    workspace.add_user("U2GONE", "Gone", "gone@example.com", deleted=True)
    with pytest.raises(DeliveryError) as failed:
        await channel.send(ana(slack_user_id="U2GONE"), HELLO)
    assert not failed.value.retryable


async def test_an_unreachable_slack_is_retryable(make_channel: MakeChannel) -> None:
    closed = make_channel(api_url="http://127.0.0.1:9/api/", check_status=False)
    with pytest.raises(DeliveryError) as failed:
        await closed.send(ana(slack_dm_channel_id="D1ANA"), HELLO)
    assert failed.value.retryable


async def test_a_member_is_reachable_with_a_slack_id_and_a_token(channel: SlackChannel) -> None:
    assert await channel.can_reach(ana())


async def test_a_member_without_a_slack_id_is_not_reachable(channel: SlackChannel) -> None:
    assert not await channel.can_reach(ana(slack_user_id=None))


async def test_a_member_of_a_workspace_without_a_token_is_not_reachable(
    channel: SlackChannel,
) -> None:
    assert not await channel.can_reach(ana(org_id=OTHER_ORG))


async def test_logs_hold_neither_the_token_nor_the_message_text(
    channel: SlackChannel, workspace: FakeSlackApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    workspace.fail_next("chat.postMessage", error="channel_not_found")
    with pytest.raises(DeliveryError):
        await channel.send(ana(), HELLO)
    await channel.send(ana(), HELLO)
    assert "chat.postMessage" in caplog.text and "channel_not_found" in caplog.text
    assert TEST_TOKEN not in caplog.text
    assert "How are you" not in caplog.text


async def test_a_message_with_an_outbox_key_carries_it_in_its_metadata(
    make_channel: MakeChannel, workspace: FakeSlackApi
) -> None:
    channel = make_channel()
    await channel.send(ana(), OutgoingMessage("Hi Ana!", key="opening:7"))
    [posted] = workspace.messages
    assert posted.metadata == {
        "event_type": "vizdots_outbox",
        "event_payload": {"key": "opening:7"},
    }


async def test_find_sent_finds_the_message_tagged_with_the_key(
    make_channel: MakeChannel, workspace: FakeSlackApi
) -> None:
    channel = make_channel()
    first = await channel.send(ana(), OutgoingMessage("Hi Ana!", key="opening:7"))
    await channel.send(ana(), OutgoingMessage("Thanks!", key="reply:9"))
    found = await channel.find_sent(ana(), "opening:7")
    assert found is not None and found.message_id == first.message_id
    [look_up] = workspace.calls_to("conversations.history")
    assert look_up.params["include_all_metadata"] in (True, "true", "1")


async def test_find_sent_says_none_when_the_message_never_arrived(
    make_channel: MakeChannel, workspace: FakeSlackApi
) -> None:
    channel = make_channel()
    await channel.send(ana(), OutgoingMessage("Hi Ana!", key="opening:7"))
    assert await channel.find_sent(ana(), "reply:8") is None
    assert len(workspace.messages) == 1  # looking is not posting


async def test_a_failing_look_up_is_a_delivery_error_not_a_guess(
    make_channel: MakeChannel, workspace: FakeSlackApi
) -> None:
    channel = make_channel(rate_limit_retries=0)
    await channel.send(ana(), OutgoingMessage("Hi Ana!", key="opening:7"))
    workspace.fail_next("conversations.history", 1, status=429, retry_after=30)
    with pytest.raises(DeliveryError) as raised:
        await channel.find_sent(ana(), "opening:7")
    assert raised.value.retryable
