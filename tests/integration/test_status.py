"""GET /api/internal/status and `vizdots status`: did the scheduler run today, what did
it do, how are today's check-ins doing and how deep is the inbox (job_runs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import create_app
from bot.bootstrap import Services, build_services
from bot.settings import load_settings
from core.job_runs import JobRuns
from core.store.engine import make_async_engine, make_sessionmaker
from core.store.models import CheckinSession, InboundEvent, JobRun
from tests.fakes.clock import FakeClock
from tests.fakes.world import add_due_session, add_member, add_org

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cret-for-status-tests"
BEARER = {"Authorization": f"Bearer {SECRET}"}
NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


@pytest.fixture
async def services(db_url: str) -> AsyncIterator[Services]:
    settings = load_settings(database_url=db_url, scheduler_secret=SECRET)
    built = build_services(
        settings, clock=FakeClock(NOW), loop_interval=None, inbox_in_process=False
    )
    yield built
    await built.close()


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


async def seed_members(sessions: async_sessionmaker[AsyncSession], *due: datetime) -> None:
    async with sessions.begin() as db:
        org = await add_org(db)
        for n in range(len(due)):
            await add_member(db, org, f"m{n}@acme.io")
    for n, at in enumerate(due):
        await add_due_session(sessions, f"m{n}@acme.io", due=at)


async def add_inbound(sessions: async_sessionmaker[AsyncSession], n: int, **values: object) -> None:
    async with sessions.begin() as db:
        db.add(
            InboundEvent(provider="slack", event_id=f"ev{n}", kind="message", workspace="T1",
                         user_id="U1", text="hello", **values)
        )  # fmt: skip


@pytest.mark.parametrize("header", [None, "Bearer wrong", SECRET])
async def test_the_status_needs_the_scheduler_bearer(
    client: httpx.AsyncClient, header: str | None
) -> None:
    response = await client.get("/api/internal/status", headers={"Authorization": header or ""})
    assert response.status_code == 401
    assert "runs" not in response.text


async def test_a_scheduler_call_is_recorded_with_its_counts(
    client: httpx.AsyncClient, services: Services
) -> None:
    await seed_members(services.sessions, NOW, NOW)
    assert (await client.post("/api/internal/scheduler", headers=BEARER)).status_code == 200

    runs = (await client.get("/api/internal/status", headers=BEARER)).json()["runs"]

    scheduler = runs["scheduler"]
    assert (scheduler["trigger"], scheduler["error"]) == ("cron", None)
    assert scheduler["started_at"] == scheduler["finished_at"] == NOW.isoformat()
    assert scheduler["counts"]["delivered"] == 2
    assert runs["reminders"] is None
    async with services.sessions() as db:
        assert len((await db.scalars(select(JobRun))).all()) == 1


async def test_todays_sessions_by_state_and_the_inbox_depth(
    client: httpx.AsyncClient, services: Services
) -> None:
    await seed_members(services.sessions, NOW, NOW, NOW + timedelta(days=1))
    async with services.sessions.begin() as db:
        await db.execute(
            update(CheckinSession).where(CheckinSession.id == 1).values(state="completed")
        )
    await add_inbound(services.sessions, 1, received_at=NOW - timedelta(seconds=90))
    await add_inbound(services.sessions, 2, received_at=NOW - timedelta(seconds=30))
    await add_inbound(services.sessions, 3, received_at=NOW - timedelta(hours=1), processed_at=NOW)

    status = (await client.get("/api/internal/status", headers=BEARER)).json()

    assert status["sessions_today"]["scheduled"] == 1  # tomorrow's is not today's
    assert status["sessions_today"]["completed"] == 1
    assert status["sessions_today"]["failed"] == 0
    assert status["inbox"] == {"pending": 2, "oldest_pending_seconds": 90.0}


async def test_a_run_that_raised_keeps_only_its_exception_class(services: Services) -> None:
    runs = JobRuns(sessions=services.sessions, clock=services.clock)
    with pytest.raises(ValueError):
        async with runs.run("reminders", trigger="loop"):
            raise ValueError("ann@acme.io said: my secret answer")

    last = await runs.last("reminders")

    assert last is not None and last.error == "ValueError"
    assert last.finished_at == NOW
    assert await runs.last_success("reminders") is None


def vizdots(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_"))}
    environment |= {"DATABASE_URL": db_url, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=environment, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


async def test_the_cli_prints_what_the_endpoint_answers(db_url: str) -> None:
    engine = make_async_engine(db_url)
    sessions = make_sessionmaker(engine)
    await seed_members(sessions, NOW)
    async with JobRuns(sessions=sessions, clock=FakeClock(NOW)).run("scheduler", trigger="cron"):
        pass
    await engine.dispose()

    result = vizdots(db_url, "status", "--now", NOW.isoformat())

    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["runs"]["scheduler"]["finished_at"] == NOW.isoformat()
    assert printed["sessions_today"]["scheduled"] == 1
    assert printed["inbox"]["pending"] == 0


def test_the_cli_says_in_one_line_when_the_database_is_unreachable(tmp_path: Path) -> None:
    result = vizdots(f"sqlite:///{tmp_path}/missing/x.db", "status")

    assert result.returncode == 1
    [line] = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith("database unreachable")
    assert result.stdout == ""
