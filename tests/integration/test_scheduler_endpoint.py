"""POST /api/internal/scheduler: cron's way in, guarded by SCHEDULER_SECRET."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time

import httpx
import pytest
from sqlalchemy import func, select

from bot.app import create_app
from bot.bootstrap import build_services
from bot.settings import load_settings
from core.store.engine import make_async_engine, make_sessionmaker
from core.store.models import CheckinSession, OutboxMessage
from tests.fakes.clock import FakeClock
from tests.fakes.world import add_due_session, add_member, add_org, add_schedule

SECRET = "s3cret-for-tests"
NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
BEARER = {"Authorization": f"Bearer {SECRET}"}


async def client_for(db_url: str, **settings: object) -> AsyncIterator[httpx.AsyncClient]:
    services = build_services(
        load_settings(database_url=db_url, **settings), clock=FakeClock(NOW), loop_interval=None
    )
    app = create_app(services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@pytest.fixture
async def client(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for c in client_for(db_url, scheduler_secret=SECRET):
        yield c


async def test_the_right_bearer_token_plans_and_delivers(db_url: str) -> None:
    """A member whose daily check-in is due now, nothing planned yet: one call plans it
    and sends its opening."""
    await member_with_a_schedule(db_url)
    async for client in client_for(db_url, scheduler_secret=SECRET):
        response = await client.post("/api/internal/scheduler", headers=BEARER)
        assert response.status_code == 200
        counts = response.json()
        assert (counts["planned"] >= 1, counts["delivered"]) == (True, 1)
        assert {"to_email", "failed", "expired"} <= counts.keys()
    engine = make_async_engine(db_url)
    async with make_sessionmaker(engine)() as db:
        today = await db.scalar(select(CheckinSession).where(CheckinSession.due_at == NOW))
        opening = await db.scalar(select(OutboxMessage).where(OutboxMessage.kind == "opening"))
    await engine.dispose()
    assert today is not None and today.state == "delivered"
    assert opening is not None and opening.status == "sent"


async def member_with_a_schedule(db_url: str) -> None:
    engine = make_async_engine(db_url)
    async with make_sessionmaker(engine).begin() as db:
        org = await add_org(db)
        await add_member(db, org, "ana@acme.io", timezone="UTC")
        await add_schedule(db, org, local_time=time(9))
    await engine.dispose()


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


async def seed_due_sessions(db_url: str, count: int) -> None:
    engine = make_async_engine(db_url)
    sessions = make_sessionmaker(engine)
    async with sessions.begin() as db:
        org = await add_org(db)
        for n in range(count):
            await add_member(db, org, f"m{n}@acme.io")
    for n in range(count):
        await add_due_session(sessions, f"m{n}@acme.io", due=NOW)
    await engine.dispose()


async def delivered_count(db_url: str) -> int:
    engine = make_async_engine(db_url)
    async with make_sessionmaker(engine)() as db:
        query = select(func.count()).where(CheckinSession.state == "delivered")
        count = int(await db.scalar(query) or 0)
    await engine.dispose()
    return count


async def test_one_call_delivers_a_bounded_batch_and_says_more_is_due(db_url: str) -> None:
    await seed_due_sessions(db_url, 7)
    async for client in client_for(db_url, scheduler_secret=SECRET, scheduler_batch=3):
        first = (await client.post("/api/internal/scheduler", headers=BEARER)).json()
        assert (first["delivered"], first["more_due"]) == (3, True)
        assert await delivered_count(db_url) == 3
        second = (await client.post("/api/internal/scheduler", headers=BEARER)).json()
        third = (await client.post("/api/internal/scheduler", headers=BEARER)).json()
        assert (second["delivered"], third["delivered"], third["more_due"]) == (3, 1, False)
    assert await delivered_count(db_url) == 7
