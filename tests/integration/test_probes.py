"""/healthz and /readyz, through the real app over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from bot.app import create_app
from bot.bootstrap import build_services
from bot.settings import load_settings
from tests.fakes.clock import FakeClock

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


async def _client(url: str) -> AsyncIterator[httpx.AsyncClient]:
    services = build_services(load_settings(database_url=url), clock=FakeClock(NOW))
    app = create_app(services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@pytest.fixture
async def client(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(db_url):
        yield c


@pytest.fixture
async def blank_client(blank_db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(blank_db_url):
        yield c


async def test_healthz_answers_without_a_database() -> None:
    async for client in _client("postgresql://nobody@127.0.0.1:1/none"):
        assert (await client.get("/healthz")).status_code == 200


async def test_readyz_is_ready_when_the_schema_is_at_head(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200 and response.json() == {"status": "ready"}


async def test_readyz_names_a_schema_behind_head(blank_client: httpx.AsyncClient) -> None:
    response = await blank_client.get("/readyz")
    assert response.status_code == 503
    assert "vizdots migrate" in response.json()["reason"]


async def test_readyz_reports_an_unreachable_database() -> None:
    async for client in _client("postgresql://nobody@127.0.0.1:1/none"):
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["reason"].startswith("database unreachable")
