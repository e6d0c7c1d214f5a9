"""Multi-workspace install through Slack OAuth, with slack_sdk's SQLAlchemy stores."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from adapters.slack.ingress import TokenBuckets
from bot.app import create_app
from bot.bootstrap import Services, build_services
from bot.settings import load_settings
from core.store.engine import make_async_engine
from core.store.models import AuditEntry, InboundEvent, Installation, Member, Organization
from tests.fakes.clock import FakeClock
from tests.fakes.http_server import eventually, serving
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.slack_requests import SlackRequests, slack_world

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


@pytest.fixture
async def app_url(db_url: str, slack_api: FakeSlackApi) -> AsyncIterator[tuple[str, Services]]:
    slack_api.add_user("U1", "Ivy Installer", "ivy@t.io", "Asia/Kolkata")
    slack_api.add_user("U2", "Ward Admin", "ward@t.io", "UTC", is_admin=True)
    slack_api.add_user("U3", "Mo Member", "mo@t.io", "Europe/Paris")
    slack_api.installer_id = "U1"
    settings = load_settings(
        database_url=db_url,
        slack_signing_secret="secret",
        slack_client_id="111.222",
        slack_client_secret="client-secret",
        slack_api_url=slack_api.base_url,
    )
    services = build_services(settings, clock=FakeClock(NOW), loop_interval=None)
    async with serving(create_app(services)) as url:
        yield url, services


async def install(url: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url, timeout=10) as browser:
        page = await browser.get("/slack/install")
        assert page.status_code == 200
        state = re.search(r"state=([\w-]+)", page.text)
        assert state is not None, page.text
        # The state cookie is Secure (HTTPS only); a browser on the real site sends it back.
        cookie = page.headers["set-cookie"].split(";")[0]
        return await browser.get(
            f"/slack/oauth_redirect?code=the-code&state={state.group(1)}",
            headers={"Cookie": cookie},
        )


async def test_an_oauth_install_creates_the_org_with_the_installer_as_owner(
    app_url: tuple[str, Services], slack_api: FakeSlackApi
) -> None:
    url, services = app_url
    finished = await install(url)
    assert finished.status_code == 200
    async with services.sessions() as db:
        org = await db.scalar(select(Organization))
        roles = {m.slack_user_id: m.role for m in await db.scalars(select(Member))}
        installation = await db.scalar(select(Installation))
    assert org is not None and org.plan_status == "trialing" and org.trial_ends_at is not None
    assert roles == {"U1": "owner", "U2": "admin", "U3": "member"}
    assert installation is not None and installation.external_id == slack_api.team_id


async def test_the_installer_is_welcomed_by_dm(
    app_url: tuple[str, Services], slack_api: FakeSlackApi
) -> None:
    await install(app_url[0])
    [welcome] = slack_api.messages_in(slack_api.dm_channel_of("U1"))
    assert "VizDots is installed" in welcome.text and "/vizdots schedule set" in welcome.text


async def test_a_redirect_without_a_valid_state_installs_nothing(
    app_url: tuple[str, Services], slack_api: FakeSlackApi
) -> None:
    url, services = app_url
    async with httpx.AsyncClient(base_url=url) as browser:
        response = await browser.get("/slack/oauth_redirect?code=the-code&state=forged")
    assert response.status_code == 400
    async with services.sessions() as db:
        assert await db.scalar(select(Organization)) is None
    assert slack_api.calls_to("oauth.v2.access") == []


async def test_installing_twice_keeps_one_org(
    app_url: tuple[str, Services], slack_api: FakeSlackApi
) -> None:
    url, services = app_url
    await install(url)
    await install(url)
    async with services.sessions() as db:
        orgs = list(await db.scalars(select(Organization)))
    assert len(orgs) == 1
    await eventually(lambda: _true(len(slack_api.messages) == 1))  # welcomed once


async def _true(value: bool) -> bool:
    return value


async def states(services: Services) -> int:
    assert services.slack is not None and services.slack.state_store is not None
    table = services.slack.state_store.oauth_states
    async with services.engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(table)) or 0)


async def expiry_range(services: Services) -> tuple[datetime, datetime]:
    assert services.slack is not None and services.slack.state_store is not None
    table = services.slack.state_store.oauth_states
    async with services.engine.connect() as connection:
        row = (
            await connection.execute(
                select(func.min(table.c.expire_at), func.max(table.c.expire_at))
            )
        ).one()
    return tuple(value.replace(tzinfo=value.tzinfo or UTC) for value in row)  # type: ignore[return-value]


async def test_the_install_page_is_rate_limited_per_client(
    app_url: tuple[str, Services],
) -> None:
    url, services = app_url
    async with httpx.AsyncClient(base_url=url) as browser:
        statuses = [(await browser.get("/slack/install")).status_code for _ in range(200)]
    assert statuses[:10] == [200] * 10 and set(statuses[10:]) == {429}
    assert await states(services) == 10


async def test_expired_install_states_are_purged_in_batches(
    app_url: tuple[str, Services],
) -> None:
    url, services = app_url
    assert services.slack is not None
    async with httpx.AsyncClient(base_url=url) as browser:
        for _ in range(5):
            assert (await browser.get("/slack/install")).status_code == 200
    first, last = await expiry_range(services)  # slack_sdk stamps them with the real time
    assert await services.slack.purge_expired_states(first - timedelta(seconds=1)) == 0
    later = last + timedelta(seconds=1)
    assert await services.slack.purge_expired_states(later, batch=3) == 3
    assert await services.slack.purge_expired_states(later, batch=3) == 2
    assert await states(services) == 0


async def test_oauth_requests_never_call_auth_test(
    app_url: tuple[str, Services], slack_api: FakeSlackApi
) -> None:
    url, services = app_url
    await install(url)
    before = len(slack_api.calls_to("auth.test"))
    requests = SlackRequests(url, "secret", slack_api.team_id, "", slack_api.dm_channel_of)
    responses = await asyncio.gather(
        *(requests.dm("U3", f"hi {n}", ts=f"1.{n}", event_id=f"EvO{n}") for n in range(10))
    )
    await requests.client.aclose()
    assert [r.status_code for r in responses] == [200] * 10
    assert len(slack_api.calls_to("auth.test")) == before
    async with services.sessions() as db:
        assert await db.scalar(select(func.count()).select_from(InboundEvent)) == 10


async def install_audits(db_url: str) -> int:
    engine = make_async_engine(db_url)
    async with engine.connect() as connection:
        count = await connection.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "install")
        )
    await engine.dispose()
    return int(count or 0)


async def test_a_single_workspace_restart_records_no_new_install(
    db_url: str, slack_api: FakeSlackApi
) -> None:
    for _ in range(3):
        listed = len(slack_api.calls_to("users.list"))
        async with slack_world(db_url, slack_api):  # its start-up install: members listed
            await eventually(lambda n=listed: _true(len(slack_api.calls_to("users.list")) > n))
            await asyncio.sleep(0.3)  # and stored
    assert await install_audits(db_url) == 1


async def test_a_single_workspace_reinstalled_after_an_uninstall_is_recorded(
    db_url: str, slack_api: FakeSlackApi
) -> None:
    async with slack_world(db_url, slack_api) as world:
        assert (await world.requests.event({"type": "app_uninstalled"})).status_code == 200
    async with slack_world(db_url, slack_api) as world:
        await eventually(lambda: _active(world.services))
    assert await install_audits(db_url) == 2


async def _active(services: Services) -> bool:
    async with services.sessions() as db:
        return await db.scalar(select(Installation.active)) is True


def test_a_clients_bucket_refills_and_forgotten_clients_stay_bounded() -> None:
    buckets = TokenBuckets(burst=2, per_minute=6, clients=3)  # a token every 10 s
    assert [buckets.take("a", now=0) for _ in range(3)] == [True, True, False]
    assert buckets.take("a", now=9) is False and buckets.take("a", now=10.5) is True
    for client in "bcde":
        assert buckets.take(client, now=11)
    assert buckets.take("a", now=11) is True  # forgotten (the oldest), so a full bucket
