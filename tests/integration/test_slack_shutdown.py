"""`vizdots serve` as a real process: what Slack got a 200 for survives its end.

SIGTERM (a deploy): uvicorn stops listening, finishes the requests in flight — each
stores its event before answering — then exits. SIGKILL right after an
acknowledgement: the event was committed before the acknowledgement was sent.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from core.store.engine import make_async_engine
from core.store.models import InboundEvent
from tests.fakes.http_server import free_port
from tests.fakes.slack_api import TEST_TOKEN, FakeSlackApi
from tests.fakes.slack_requests import SECRET, SlackRequests

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def served(
    db_url: str, slack_api: FakeSlackApi, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    env = {
        **os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": db_url,
        "SLACK_SIGNING_SECRET": SECRET, "SLACK_BOT_TOKEN": TEST_TOKEN,
        "SLACK_API_URL": slack_api.base_url, "LOG_LEVEL": "WARNING",
    }  # fmt: skip
    command = [sys.executable, "-c", "from bot.cli import app; app()",
               "serve", "--host", "127.0.0.1", "--port", str(port), "--no-loop"]  # fmt: skip
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=log, stderr=log)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_ready(process, url, tmp_path / "serve.log")
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def _wait_until_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"vizdots serve did not start:\n{log.read_text()}")


def requests_to(url: str, slack_api: FakeSlackApi) -> SlackRequests:
    hook = f"{slack_api.base_url}response_url.hook"
    return SlackRequests(url, SECRET, slack_api.team_id, hook, slack_api.dm_channel_of)


async def stored_ids(db_url: str) -> set[str]:
    engine = make_async_engine(db_url)
    async with engine.connect() as connection:
        found = set(await connection.scalars(select(InboundEvent.event_id)))
    await engine.dispose()
    return found


async def send(requests: SlackRequests, n: int) -> tuple[str, int]:
    event_id = f"EvShut{n:03d}"
    try:
        response = await requests.dm(
            "U2", f"answer {n}", ts=f"1800000000.{n:06d}", event_id=event_id
        )
    except httpx.TransportError:
        return event_id, 0
    return event_id, response.status_code


async def test_sigterm_finishes_the_acknowledgements_in_flight(
    served: tuple[subprocess.Popen[bytes], str], slack_api: FakeSlackApi, db_url: str
) -> None:
    process, url = served
    requests = requests_to(url, slack_api)
    assert (await send(requests, 0))[1] == 200  # warm: connections open, app ready
    sending = [asyncio.create_task(send(requests, n)) for n in range(1, 31)]
    await asyncio.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    results = await asyncio.gather(*sending)
    await requests.client.aclose()
    # uvicorn shuts down gracefully, then re-raises the signal it caught: -SIGTERM
    assert await asyncio.to_thread(process.wait, 30) in (0, -signal.SIGTERM)
    acknowledged = {event_id for event_id, status in results if status == 200}
    assert acknowledged, "SIGTERM came before any request was in flight"
    assert acknowledged <= await stored_ids(db_url)


async def test_an_event_acknowledged_just_before_a_sigkill_is_stored(
    served: tuple[subprocess.Popen[bytes], str], slack_api: FakeSlackApi, db_url: str
) -> None:
    process, url = served
    requests = requests_to(url, slack_api)
    acknowledged: set[str] = set()
    for next_done in asyncio.as_completed([send(requests, n) for n in range(5)]):
        event_id, status = await next_done
        if status == 200:
            process.kill()  # at once, before anything else can run
            acknowledged.add(event_id)
            break
    await requests.client.aclose()
    process.wait()
    assert acknowledged and acknowledged <= await stored_ids(db_url)


async def test_sigterm_lets_a_commands_reply_finish(
    served: tuple[subprocess.Popen[bytes], str], slack_api: FakeSlackApi
) -> None:
    """The reply runs after the acknowledgement: shutdown waits for it."""
    process, url = served
    requests = requests_to(url, slack_api)
    response = await requests.command("U1", "help")
    process.send_signal(signal.SIGTERM)
    await requests.client.aclose()
    assert response.status_code == 200
    await asyncio.to_thread(process.wait, 30)
    [reply] = slack_api.calls_to("response_url.hook")  # (U1 was never synced here)
    assert "members sync" in reply.params.get("text", "")
