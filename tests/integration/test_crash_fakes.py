"""The fake peers' crash-test behaviours, through the real SDKs: Slack message metadata
and conversations.history, a hook between "received" and "answered", Slack unreachable;
a slow model and a model that hangs until released."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from openai import AsyncOpenAI
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.slack_api import TEST_TOKEN, Call, FakeSlackApi

TAG = {"event_type": "vizdots_outbox", "event_payload": {"key": "reply:42"}}


@pytest.fixture
def client(slack_api: FakeSlackApi) -> AsyncWebClient:
    slack_api.add_user("U1", "Ana", "ana@t.io")
    return AsyncWebClient(token=TEST_TOKEN, base_url=slack_api.base_url)


async def test_a_message_keeps_its_metadata_and_history_shows_it_when_asked(
    slack_api: FakeSlackApi, client: AsyncWebClient
) -> None:
    await client.chat_postMessage(channel="D1", text="first")
    posted = await client.chat_postMessage(channel="D1", text="tagged", metadata=TAG)
    await client.chat_postMessage(channel="D1", text="last")
    assert slack_api.messages_in("D1")[1].metadata == TAG
    plain = await client.conversations_history(channel="D1", limit=15)
    assert [m["text"] for m in plain["messages"]] == ["last", "tagged", "first"]  # newest first
    assert not any("metadata" in m for m in plain["messages"])
    tagged = await client.conversations_history(channel="D1", include_all_metadata=True)
    [found] = [m for m in tagged["messages"] if "metadata" in m]
    assert found["ts"] == posted["ts"] and found["metadata"] == TAG


async def test_metadata_sent_form_encoded_as_a_json_string_is_kept_too(
    slack_api: FakeSlackApi, client: AsyncWebClient
) -> None:
    metadata = '{"event_type": "t", "event_payload": {}}'
    await client.api_call(
        "chat.postMessage", data={"channel": "D1", "text": "hi", "metadata": metadata}
    )
    assert slack_api.messages_in("D1")[0].metadata == {"event_type": "t", "event_payload": {}}


async def test_history_pages_at_most_fifteen_between_oldest_and_latest(
    slack_api: FakeSlackApi, client: AsyncWebClient
) -> None:
    stamps = [(await client.chat_postMessage(channel="D1", text=str(n)))["ts"] for n in range(20)]
    page = await client.conversations_history(channel="D1", limit=100)
    assert len(page["messages"]) == 15 and page["has_more"] is True
    between = await client.conversations_history(channel="D1", oldest=stamps[2], latest=stamps[6])
    assert [m["text"] for m in between["messages"]] == ["5", "4", "3"]
    with pytest.raises(SlackApiError, match="channel_not_found"):
        await client.conversations_history(channel="C0NOPE")


async def test_a_hook_runs_after_the_post_is_stored_and_before_the_answer(
    slack_api: FakeSlackApi, client: AsyncWebClient
) -> None:
    seen: list[tuple[str, int]] = []

    def hook(call: Call) -> None:
        seen.append((call.params["text"], len(slack_api.messages_in("D1"))))
        time.sleep(0.3)

    remove = slack_api.on_call("chat.postMessage", hook)
    started = time.monotonic()
    await client.chat_postMessage(channel="D1", text="hello")
    assert seen == [("hello", 1)] and time.monotonic() - started >= 0.3
    remove()
    await client.chat_postMessage(channel="D1", text="again")
    assert seen == [("hello", 1)]


async def test_an_unreachable_slack_answers_nothing_until_it_comes_back(
    slack_api: FakeSlackApi, client: AsyncWebClient
) -> None:
    slack_api.go_down()
    with pytest.raises(aiohttp.ClientError):
        await client.chat_postMessage(channel="D1", text="lost?")
    assert slack_api.messages_in("D1") == []
    calls = slack_api.calls_to("chat.postMessage")  # the SDK retried a dropped connection
    assert calls and {(c.status, c.error) for c in calls} == {(0, "unreachable")}
    slack_api.come_back()
    await client.chat_postMessage(channel="D1", text="now")
    assert [m.text for m in slack_api.messages_in("D1")] == ["now"]


def model_client(server: FakeOpenAIServer, timeout: float = 10.0) -> AsyncOpenAI:
    return AsyncOpenAI(api_key="sk-test", base_url=server.base_url, max_retries=0, timeout=timeout)


async def ask(client: AsyncOpenAI) -> str:
    answer = await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}]
    )
    return answer.choices[0].message.content or ""


async def test_every_answer_waits_the_configured_delay() -> None:
    with FakeOpenAIServer(delay=0.4) as server:
        client = model_client(server)
        started = time.monotonic()
        await asyncio.gather(ask(client), ask(client))
        assert 0.4 <= time.monotonic() - started < 1.5  # concurrent, each 0.4 s
        server.delay = 0.0
        started = time.monotonic()
        await ask(client)
        assert time.monotonic() - started < 0.3
        await client.close()


async def test_a_hanging_model_holds_requests_until_released() -> None:
    with FakeOpenAIServer() as server:
        client = model_client(server)
        server.hang()
        waiting = asyncio.create_task(ask(client))
        await asyncio.to_thread(server.wait_held, 1)
        await asyncio.sleep(0.2)
        assert not waiting.done() and server.held == 1 and server.requests == []
        server.release()
        assert await asyncio.wait_for(waiting, 5) and server.held == 0
        assert len(server.requests) == 1
        await client.close()


async def test_a_held_request_of_a_client_that_gave_up_is_released_at_stop() -> None:
    server = FakeOpenAIServer().start()
    server.hang()
    client = model_client(server, timeout=0.3)
    with pytest.raises(Exception, match="timed out"):
        await ask(client)
    assert server.held == 1
    server.stop()
    await asyncio.sleep(0.1)
    assert server.held == 0
    await client.close()
