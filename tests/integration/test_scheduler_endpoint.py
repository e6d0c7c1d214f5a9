"""POST /api/internal/scheduler: cron's way in, guarded by SCHEDULER_SECRET."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.app import create_app
from bot.bootstrap import build_services
from bot.settings import load_settings

SECRET = "s3cret-for-tests"


async def client_for(db_url: str, **settings: object) -> AsyncIterator[httpx.AsyncClient]:
    services = build_services(load_settings(database_url=db_url, **settings), loop_interval=None)
    app = create_app(services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@pytest.fixture
async def client(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for c in client_for(db_url, scheduler_secret=SECRET):
        yield c


async def test_the_right_bearer_token_plans_and_delivers(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/internal/scheduler", headers={"Authorization": f"Bearer {SECRET}"}
    )
    assert response.status_code == 200
    assert {"planned", "delivered", "to_email", "failed", "expired"} <= response.json().keys()


@pytest.mark.parametrize("header", [None, "Bearer wrong", SECRET, f"Basic {SECRET}"])
async def test_anything_else_is_refused(client: httpx.AsyncClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = await client.post("/api/internal/scheduler", headers=headers)
    assert response.status_code == 401


async def test_without_a_configured_secret_the_endpoint_is_off(db_url: str) -> None:
    async for client in client_for(db_url):
        response = await client.post(
            "/api/internal/scheduler", headers={"Authorization": "Bearer "}
        )
    assert response.status_code == 503
