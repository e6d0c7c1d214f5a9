"""The dev chat's digest page: a digest the scheduler posted to a schedule's report
channel is shown at /dev/digests, linked from the chat page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from bot.app import create_app
from bot.bootstrap import Services, build_services
from bot.settings import load_settings
from tests.fakes.clock import FakeClock
from tests.fakes.digest_world import EXPIRES, Team

SECRET = "s3cret-for-tests"


@pytest.fixture
def services(db_url: str) -> Services:
    settings = load_settings(database_url=db_url, scheduler_secret=SECRET)
    clock = FakeClock(EXPIRES + timedelta(minutes=1))
    return build_services(settings, clock=clock, loop_interval=None)


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def test_the_scheduler_posts_the_digest_and_the_dev_page_shows_it(
    services: Services, client: httpx.AsyncClient
) -> None:
    team = await Team.create(services.sessions, size=2, report_channel="team", chat=None)
    await team.checkin(0, mood=5.0)
    await team.checkin(1, mood=3.0)
    ran = await client.post(
        "/api/internal/scheduler", headers={"Authorization": f"Bearer {SECRET}"}
    )
    assert ran.json()["digests"]["posted"] == 1
    page = (await client.get("/dev/digests")).text
    assert "acme · #team · 2026-11-24" in page
    assert "<strong>Daily check-in digest, 2026-11-24</strong>" in page
    assert "2 of 2 check-ins (100%)" in page
    (digest,) = await team.digests()
    assert (digest.state, digest.provider) == ("posted", "dev")


async def test_the_page_says_when_nothing_was_posted(client: httpx.AsyncClient) -> None:
    page = await client.get("/dev/digests")
    assert page.status_code == 200 and "No digest has been posted yet." in page.text


async def test_the_chat_page_links_to_the_digests(client: httpx.AsyncClient) -> None:
    assert 'href="/dev/digests"' in (await client.get("/dev")).text
