"""Secret rotation without downtime: each rotating secret takes "current,previous".

During a rotation a request made with the previous secret still passes; one made with
neither is refused and changes nothing."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.app import create_app
from bot.bootstrap import Services, build_services
from bot.settings import SettingsError, load_settings, secret_values
from core.store.models import BillingEvent, CheckinSession, InboundEvent, Member
from tests.fakes.clock import FakeClock
from tests.fakes.http_server import eventually, serving
from tests.fakes.slack_api import TEST_TOKEN, FakeSlackApi
from tests.fakes.slack_requests import SlackRequests, add_people
from tests.fakes.stripe_api import body_of, event, signed
from tests.fakes.world import add_due_session, add_member, add_org

NEW, OLD, NEITHER = "new-secret-2026-11", "old-secret-2026-05", "some-other-secret"
ROTATING = f"{NEW},{OLD}"
NOW = datetime(2026, 11, 30, 9, tzinfo=UTC)


@asynccontextmanager
async def served(db_url: str, **settings: Any) -> AsyncIterator[tuple[Services, str]]:
    config = load_settings(database_url=db_url, **settings)
    services = build_services(config, clock=FakeClock(NOW), loop_interval=None)
    async with serving(create_app(services)) as url:
        yield services, url


async def count(services: Services, model: Any, *where: Any) -> int:
    async with services.sessions() as db:
        return int(await db.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_a_rotating_secret_reads_current_first() -> None:
    settings = load_settings(scheduler_secret=f" {NEW} , {OLD} ")
    assert secret_values(settings.scheduler_secret) == (NEW, OLD)


def test_a_rotating_secret_with_no_value_is_one_clear_error() -> None:
    with pytest.raises(SettingsError, match=r"^invalid setting SLACK_SIGNING_SECRET: holds no"):
        load_settings(slack_signing_secret=" , ")


@pytest.mark.parametrize("secret, delivered", [(OLD, 1), (NEW, 1), (NEITHER, 0)])
async def test_the_scheduler_takes_the_previous_secret_during_a_rotation(
    db_url: str, secret: str, delivered: int
) -> None:
    async with served(db_url, scheduler_secret=ROTATING) as (services, url):
        async with services.sessions.begin() as db:
            await add_member(db, await add_org(db), "ann@acme.io")
        await add_due_session(services.sessions, "ann@acme.io", due=NOW)
        async with httpx.AsyncClient() as client:
            bearer = {"Authorization": f"Bearer {secret}"}
            response = await client.post(f"{url}/api/internal/scheduler", headers=bearer)
        assert response.status_code == (200 if delivered else 401)
        assert await count(services, CheckinSession, CheckinSession.state == "delivered") == (
            delivered
        )


@pytest.mark.parametrize("secret, status", [(OLD, 200), (NEITHER, 401)])
async def test_the_reminders_call_takes_the_previous_secret_during_a_rotation(
    db_url: str, secret: str, status: int
) -> None:
    bearer = {"Authorization": f"Bearer {secret}"}
    async with (
        served(db_url, scheduler_reminders_secret=ROTATING) as (_, url),
        httpx.AsyncClient() as client,
    ):
        response = await client.post(f"{url}/api/internal/reminders", headers=bearer)
    assert response.status_code == status


@pytest.mark.parametrize("secret, stored", [(OLD, 1), (NEW, 1), (NEITHER, 0)])
async def test_slack_requests_signed_with_the_previous_secret_pass_during_a_rotation(
    db_url: str, slack_api: FakeSlackApi, secret: str, stored: int
) -> None:
    add_people(slack_api)
    settings = {"slack_signing_secret": ROTATING, "slack_bot_token": TEST_TOKEN,
                "slack_api_url": slack_api.base_url}  # fmt: skip
    async with served(db_url, **settings) as (services, url):
        await eventually(lambda: _synced(services))
        hook = f"{slack_api.base_url}response_url.hook"
        requests = SlackRequests(url, secret, slack_api.team_id, hook, slack_api.dm_channel_of)
        response = await requests.dm("U2", "hello there", ts=f"{time.time():.6f}")
        await requests.client.aclose()
        assert response.status_code == (200 if stored else 401)
        assert await count(services, InboundEvent) == stored


async def _synced(services: Services) -> bool:
    return await count(services, Member) == 2


@pytest.mark.parametrize("secret, recorded", [(OLD, 1), (NEW, 1), (NEITHER, 0)])
async def test_stripe_events_signed_with_the_previous_secret_pass_during_a_rotation(
    db_url: str, secret: str, recorded: int
) -> None:
    async with served(db_url, stripe_webhook_secret=ROTATING) as (services, url):
        payload = body_of(event("charge.refunded", {"id": "ch_1"}, created=int(time.time())))
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"{url}/api/billing/webhook", content=payload, headers=signed(payload, secret)
            )
        assert response.status_code == (200 if recorded else 401)
        assert await count(services, BillingEvent) == recorded
