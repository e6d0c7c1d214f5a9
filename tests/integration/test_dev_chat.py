"""The local web chat at /dev answers a check-in end to end over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from bot.app import create_app
from bot.bootstrap import build_services
from bot.demo import create_demo
from bot.settings import load_settings
from tests.fakes.clock import FakeClock

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


@pytest.fixture
async def client(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    services = build_services(
        load_settings(database_url=db_url), clock=FakeClock(NOW), loop_interval=None
    )
    app = create_app(services)
    async with app.router.lifespan_context(app):
        await create_demo(services)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def member_id(client: httpx.AsyncClient, email: str) -> int:
    members = (await client.get("/dev/api/members")).json()
    return next(m["id"] for m in members if m["email"] == email)


async def test_the_page_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/dev")
    assert response.status_code == 200 and "VizDots" in response.text


async def test_the_demo_team_spans_several_timezones(client: httpx.AsyncClient) -> None:
    members = (await client.get("/dev/api/members")).json()
    assert len({m["timezone"] for m in members}) >= 4


async def test_a_check_in_is_answered_with_a_button_then_text(client: httpx.AsyncClient) -> None:
    ben = await member_id(client, "ben@demo.vizdots.dev")
    [session] = (await client.get(f"/dev/api/members/{ben}/chat")).json()["sessions"]
    four = next(b for b in session["buttons"] if b["label"].startswith("4"))
    await client.post(f"/dev/api/members/{ben}/say", json={"text": "4", "choice": four["value"]})
    await client.post(f"/dev/api/members/{ben}/say", json={"text": "Reviewing PRs"})
    await client.post(f"/dev/api/members/{ben}/say", json={"text": "none"})
    [done] = (await client.get(f"/dev/api/members/{ben}/chat")).json()["sessions"]
    assert done["state"] == "completed" and done["buttons"] == []
    assert "Mood: 4/5" in done["summary"]


async def test_commands_typed_in_the_chat_are_answered(client: httpx.AsyncClient) -> None:
    ana = await member_id(client, "ana@demo.vizdots.dev")
    response = await client.post(f"/dev/api/members/{ana}/say", json={"text": "/vizdots help"})
    assert "schedule" in response.json()["command_reply"]


async def test_an_unknown_member_is_a_404(client: httpx.AsyncClient) -> None:
    response = await client.post("/dev/api/members/999999/say", json={"text": "hi"})
    assert response.status_code == 404


async def test_a_malformed_body_is_a_400(client: httpx.AsyncClient) -> None:
    ana = await member_id(client, "ana@demo.vizdots.dev")
    response = await client.post(f"/dev/api/members/{ana}/say", json={"nope": 1})
    assert response.status_code == 400 and response.json()["problems"][0]["field"] == "text"


async def test_the_local_chat_is_not_served_when_turned_off(db_url: str) -> None:
    services = build_services(
        load_settings(database_url=db_url), clock=FakeClock(NOW), loop_interval=None, dev_chat=False
    )
    app = create_app(services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.get("/dev")).status_code == 404


@pytest.mark.parametrize("member", ["0", "-1", str(2**31), str(2**63), str(2**70)])
async def test_an_out_of_range_member_id_is_a_client_error(
    client: httpx.AsyncClient, member: str
) -> None:
    said = await client.post(f"/dev/api/members/{member}/say", json={"text": "hi"})
    chat = await client.get(f"/dev/api/members/{member}/chat")
    assert 400 <= said.status_code < 500 and 400 <= chat.status_code < 500
