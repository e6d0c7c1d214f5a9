"""`vizdots demo` gives the demo team a month of history (dates from the clock, once)
and, beside the local chat, `/dev/dashboard` opens its dashboard as the demo owner."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from bot.app import create_app
from bot.bootstrap import Services, build_services
from bot.demo import create_demo
from bot.settings import load_settings
from core.insights import CellState, group_insights
from core.store.models import CheckinSession, Dot, Organization, Schedule
from tests.fakes.clock import FakeClock

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)  # a Wednesday


@pytest.fixture
async def services(db_url: str) -> AsyncIterator[Services]:
    settings = load_settings(database_url=db_url, link_signing_secret="s" * 32)
    services = build_services(settings, clock=FakeClock(NOW), loop_interval=None)
    yield services
    await services.close()


async def counts(services: Services) -> tuple[int, int]:
    async with services.sessions() as db:
        sessions = await db.scalar(select(func.count()).select_from(CheckinSession))
        dots = await db.scalar(select(func.count()).select_from(Dot))
    return int(sessions or 0), int(dots or 0)


async def test_the_demo_team_has_a_month_of_weekday_check_ins_once(services: Services) -> None:
    await create_demo(services)
    first = await counts(services)
    await create_demo(services)
    assert await counts(services) == first  # a second run adds nothing
    async with services.sessions() as db:
        days = (await db.scalars(select(CheckinSession.local_date).distinct())).all()
    past = {day for day in days if day < date(2026, 11, 24)}
    assert min(past) >= NOW.date() - timedelta(days=31)
    assert all(day.weekday() < 5 for day in past)  # the demo schedule: Monday to Friday
    assert first[0] > 6 * 20


async def test_the_demo_dashboard_shows_every_member_with_colours_and_alerts(
    services: Services,
) -> None:
    await create_demo(services)
    async with services.sessions() as db:
        org = await db.scalar(select(Organization.id).where(Organization.slug == "demo"))
        schedule = await db.scalar(select(Schedule.id).where(Schedule.org_id == org))
        assert org is not None and schedule is not None
        found = await group_insights(
            db, org_id=org, schedule_id=schedule, since=NOW.date() - timedelta(days=29),
            until=NOW.date(), now=NOW,
        )  # fmt: skip
    assert found.per_person_shown and len(found.members) == 6
    states = {cell.state for row in found.members for cell in row.cells}
    assert {CellState.COMPLETED, CellState.MISSED, CellState.SKIPPED, CellState.VACATION} <= states
    assert "Chitra Rao" in [b.member for b in found.blockers]
    assert found.participation_rate is not None and found.summaries


async def test_dev_dashboard_leads_to_a_fresh_link_for_the_demo_owner(services: Services) -> None:
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as web:
        assert (await web.get("/dev/dashboard")).status_code == 404  # no demo yet
        await create_demo(services)
        door = await web.get("/dev/dashboard")
        assert door.status_code == 303 and door.headers["location"].startswith("/dashboard/login/")
        signed = await web.post(door.headers["location"])
        assert signed.status_code == 303
        page = await web.get("/dashboard")
    assert page.status_code == 200 and "<h1>Demo Co</h1>" in page.text
    assert "Ana Owner" in page.text and "Chitra Rao, " in page.text
