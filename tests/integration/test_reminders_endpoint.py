"""POST /api/internal/reminders: cron's way in, guarded by SCHEDULER_REMINDERS_SECRET."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from bot.app import create_app
from bot.bootstrap import build_services
from bot.settings import load_settings
from core.store.engine import make_async_engine, make_sessionmaker
from core.store.models import Member
from tests.fakes.clock import FakeClock
from tests.fakes.reminder_world import DUE, add_members

SECRET = "r3minders-for-tests"
BEARER = {"Authorization": f"Bearer {SECRET}"}
AT_SLOT = datetime(2026, 11, 25, 9, 5, tzinfo=UTC)


async def client_for(db_url: str, **settings: object) -> AsyncIterator[httpx.AsyncClient]:
    clock = FakeClock(DUE)
    services = build_services(
        load_settings(database_url=db_url, **settings), clock=clock, loop_interval=None
    )
    app = create_app(services)
    async with app.router.lifespan_context(app):
        await services.delivery.deliver_due(now=DUE)
        clock.current = AT_SLOT
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def seed(db_url: str, count: int) -> None:
    engine = make_async_engine(db_url)
    sessions = make_sessionmaker(engine)
    await add_members(sessions, *((f"m{n}@acme.io", {}) for n in range(count)))
    async with sessions.begin() as db:
        await db.execute(update(Member).values(email_only=True))
    await engine.dispose()


def emails_in(directory: Path) -> int:
    return len(list(directory.glob("*.eml")))


@pytest.mark.parametrize("header", [None, "Bearer wrong", SECRET, f"Basic {SECRET}"])
async def test_anything_but_the_bearer_token_is_refused(db_url: str, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    async for client in client_for(db_url, scheduler_reminders_secret=SECRET):
        assert (await client.post("/api/internal/reminders", headers=headers)).status_code == 401


async def test_without_a_configured_secret_the_endpoint_is_off(db_url: str) -> None:
    async for client in client_for(db_url):
        response = await client.post("/api/internal/reminders", headers=BEARER)
    assert response.status_code == 503


async def test_one_call_takes_a_bounded_batch_and_says_more_is_due(
    db_url: str, email_outbox: Path
) -> None:
    await seed(db_url, 7)
    settings = {"scheduler_reminders_secret": SECRET, "reminder_batch": 3}
    async for client in client_for(db_url, **settings):
        first = (await client.post("/api/internal/reminders", headers=BEARER)).json()
        assert (first["slot"], first["emailed"], first["more_due"]) == (
            "2026-11-25T09:00Z",
            3,
            True,
        )
        assert emails_in(email_outbox) == 3
        second = (await client.post("/api/internal/reminders", headers=BEARER)).json()
        third = (await client.post("/api/internal/reminders", headers=BEARER)).json()
        assert (second["emailed"], third["emailed"], third["more_due"]) == (3, 1, False)
        fourth = (await client.post("/api/internal/reminders", headers=BEARER)).json()
        assert fourth["emailed"] == 0  # once a slot
    assert emails_in(email_outbox) == 7
