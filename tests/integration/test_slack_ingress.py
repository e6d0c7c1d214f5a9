"""Hostile or broken requests to /slack/events are refused cheaply and quietly.

Unsigned or stale: 401. Signed but no Slack payload: 400. Too large: 413. Never a
500, never a traceback, one short log line, and never the body in the logs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import pytest

from core.store.models import InboundEvent
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.slack_requests import Prepared, SlackWorld, slack_world

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
SECRET_WORDS = "my-manager-is-impossible-7c1f"
LIMIT = 10_000


def _event(event: Any, **extra: Any) -> bytes:
    return json.dumps(
        {"type": "event_callback", "team_id": "T0TEST", "event": event, **extra}
    ).encode()


def _payload(payload: Any) -> bytes:
    return f"payload={quote(json.dumps(payload))}".encode()


DM = {"type": "message", "channel_type": "im", "channel": "D2", "user": "U2", "ts": "1.2"}
MALFORMED: dict[str, tuple[bytes, str]] = {
    "invalid JSON": (b'{"type": ', JSON),
    "a JSON array": (b"[1, 2]", JSON),
    "a JSON string": (b'"hello"', JSON),
    "a JSON number": (b"42", JSON),
    "JSON null": (b"null", JSON),
    "an object without type": (b"{}", JSON),
    "a type that is not a string": (b'{"type": 5}', JSON),
    "an event_callback without event": (b'{"type": "event_callback"}', JSON),
    "an event that is not an object": (_event("message"), JSON),
    "an event without type": (_event({"user": "U2", "text": SECRET_WORDS}), JSON),
    "a user that is a number": (_event({**DM, "user": 5, "text": SECRET_WORDS}), JSON),
    "a channel that is a number": (_event({**DM, "channel": 7}), JSON),
    "authorizations that are a string": (_event(DM, authorizations="x"), JSON),
    "an empty body": (b"", JSON),
    "a NUL character escaped in JSON": (_event({**DM, "text": "a\u0000b"}), JSON),
    "a raw NUL character": (b'{"type": "event_callback", "x": "\x00"}', JSON),
    "a NUL character in a payload": (
        _payload({"type": "block_actions", "actions": [{"action_id": "a", "value": "\u0000"}]}),
        FORM,
    ),
    "a form without payload or command": (b"foo=bar&text=" + SECRET_WORDS.encode(), FORM),
    "a form body that starts with a brace": (b"{not json", FORM),
    "a payload that is not JSON": (b"payload=not-json", FORM),
    "a payload that is a JSON list": (_payload([1]), FORM),
    "a payload without type": (_payload({"user": {"id": "U2"}}), FORM),
    "block_actions without actions": (_payload({"type": "block_actions"}), FORM),
    "block_actions whose actions are a string": (
        _payload({"type": "block_actions", "actions": "x"}),
        FORM,
    ),
}


#: Slack signs UTF-8 text: slack_sdk's verifier cannot even read these, signed or not.
UNVERIFIABLE = {"a body that is not UTF-8": (b'\xff\xfe{"type": "event_callback"}', JSON)}


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Everything logged, from before the app is built (Bolt copies the root level)."""
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.fixture
async def world(
    db_url: str, slack_api: FakeSlackApi, logs: pytest.LogCaptureFixture
) -> AsyncIterator[SlackWorld]:
    async with slack_world(db_url, slack_api, max_request_bytes=LIMIT) as world:
        logs.clear()
        yield world


def _quietly_refused(logs: pytest.LogCaptureFixture) -> None:
    """At most one line at INFO or above, short, without a traceback; the body nowhere
    (the test's own HTTP client, httpx, logs its requests: not the server's lines)."""
    server = [r for r in logs.records if not r.name.startswith(("httpx", "httpcore"))]
    loud = [r for r in server if r.levelno >= logging.INFO]
    assert len(loud) <= 1, [r.getMessage() for r in loud]
    noisy = [r for r in loud if r.exc_info is not None or len(r.getMessage()) >= 200]
    assert noisy == [], [f"{r.name}: {r.getMessage()[:300]}" for r in noisy]
    assert SECRET_WORDS not in logs.text


@pytest.mark.parametrize("kind", list(MALFORMED))
async def test_a_signed_body_that_is_no_slack_payload_is_a_400(
    world: SlackWorld, logs: pytest.LogCaptureFixture, kind: str
) -> None:
    body, content_type = MALFORMED[kind]
    response = await world.requests.post(body, content_type)
    assert response.status_code == 400
    _quietly_refused(logs)
    assert await world.count(InboundEvent) == 0


async def test_a_body_that_is_not_utf8_is_a_401_whatever_it_claims(
    world: SlackWorld, logs: pytest.LogCaptureFixture
) -> None:
    body, content_type = UNVERIFIABLE["a body that is not UTF-8"]
    for signature in (None, "v0=00"):
        response = await world.requests.post(body, content_type, signature=signature)
        assert response.status_code == 401
    assert await world.count(InboundEvent) == 0
    assert SECRET_WORDS not in logs.text


@pytest.mark.parametrize("kind", list(MALFORMED) + list(UNVERIFIABLE))
async def test_an_unsigned_malformed_body_is_a_401(
    world: SlackWorld, logs: pytest.LogCaptureFixture, kind: str
) -> None:
    body, content_type = {**MALFORMED, **UNVERIFIABLE}[kind]
    response = await world.requests.post(body, content_type, signature="v0=00")
    assert response.status_code == 401
    _quietly_refused(logs)


@pytest.mark.parametrize("timestamp", ["abc", "", "-5", "1e9", "12a", "0x10", "9" * 40])
async def test_a_timestamp_that_is_not_a_number_is_a_401(
    world: SlackWorld, logs: pytest.LogCaptureFixture, timestamp: str
) -> None:
    body = _event({**DM, "text": SECRET_WORDS})
    prepared = world.requests.signed(body, JSON)
    headers = prepared.headers | {"X-Slack-Request-Timestamp": timestamp}
    response = await world.requests.send(Prepared(body, headers))
    assert response.status_code == 401
    _quietly_refused(logs)
    assert await world.count(InboundEvent) == 0


@pytest.mark.parametrize(
    "tamper", [{"signature": "v0=deadbeef"}, {"signature": ""}, {"age": 6 * 60}]
)
async def test_a_rejected_dm_leaves_no_trace_of_its_words_in_the_logs(
    world: SlackWorld, logs: pytest.LogCaptureFixture, tamper: dict[str, Any]
) -> None:
    response = await world.requests.dm("U2", SECRET_WORDS, ts="1800000000.000100", **tamper)
    assert response.status_code == 401
    _quietly_refused(logs)
    assert await world.count(InboundEvent) == 0


async def test_a_body_above_the_limit_is_a_413(world: SlackWorld) -> None:
    text = "x" * LIMIT
    response = await world.requests.dm("U2", text, ts="1800000000.000200")
    assert response.status_code == 413
    assert await world.count(InboundEvent) == 0


async def test_a_streamed_body_is_cut_off_at_the_limit(world: SlackWorld) -> None:
    """No Content-Length (chunked): the bytes are counted as they arrive."""
    body = _event({**DM, "text": "y" * (3 * LIMIT)})
    prepared = world.requests.signed(body, JSON)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    response = await world.requests.client.post(
        f"{world.requests.base_url}/slack/events", content=chunks(), headers=prepared.headers
    )
    assert response.status_code == 413
    assert await world.count(InboundEvent) == 0


async def test_a_body_within_the_limit_is_taken(world: SlackWorld) -> None:
    response = await world.requests.dm("U2", "z" * (LIMIT // 2), ts="1800000000.000300")
    assert response.status_code == 200
    assert await world.count(InboundEvent) == 1


async def test_a_member_typing_a_backslash_escape_is_an_answer(world: SlackWorld) -> None:
    response = await world.requests.dm("U2", "\\u0000 is not a mood", ts="1800000000.000400")
    assert response.status_code == 200
    assert await world.count(InboundEvent) == 1


@pytest.mark.parametrize("field", ["user", "channel", "ts"])
async def test_ids_longer_than_slacks_are_ignored_never_a_500(
    world: SlackWorld, field: str
) -> None:
    event = {**DM, "text": "4", field: "X" * 500}
    response = await world.requests.event(event, event_id="E" * 500)
    assert response.status_code == 200
    assert await world.count(InboundEvent) == 0


async def test_a_long_event_id_is_replaced_by_a_derived_one(world: SlackWorld) -> None:
    response = await world.requests.event({**DM, "text": "4"}, event_id="E" * 500)
    assert response.status_code == 200
    assert await world.count(InboundEvent, InboundEvent.event_id.like("slack:%")) == 1
