"""The worker's purge: finished inbox and outbox rows after the retention, replay keys
after the replay window, in bounded batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.bootstrap import Services, build_services
from bot.settings import load_settings
from bot.worker import tidy
from core.domain import Provider
from core.inbound import IncomingMessage, Sender
from core.seen import first_time
from core.store.models import InboundEvent, OutboxMessage, SeenRequest
from tests.fakes.clock import FakeClock
from tests.fakes.world import add_member, add_org

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


async def count(services: Services, model: type) -> int:
    async with services.sessions() as db:
        return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def busy_day(db_url: str) -> Services:
    """A member said something with nothing open (a notice went out) and a command was seen."""
    services = build_services(
        load_settings(database_url=db_url), clock=FakeClock(NOW), loop_interval=None
    )
    async with services.sessions.begin() as db:
        await add_member(db, await add_org(db), "ana@acme.io")
    sender = Sender(Provider.DEV, "acme", "ana@acme.io")
    await services.inbox.accept(IncomingMessage(sender=sender, text="hello?", event_id="Ev1"))
    await services.inbox.drain()
    assert await first_time(services.sessions, "command:T1", NOW)
    return services


async def test_nothing_is_purged_within_the_retention(db_url: str) -> None:
    services = await busy_day(db_url)
    purged = await tidy(services, now=NOW + timedelta(minutes=30))
    assert set(purged.values()) == {0}
    assert (await count(services, InboundEvent), await count(services, OutboxMessage)) == (1, 1)
    await services.close()


async def test_replay_keys_go_after_an_hour_finished_rows_after_the_retention(
    db_url: str,
) -> None:
    services = await busy_day(db_url)
    purged = await tidy(services, now=NOW + timedelta(days=1))
    assert purged == {"inbound_events": 0, "outbox": 0, "seen_requests": 1}
    purged = await tidy(services, now=NOW + timedelta(days=8))
    assert purged == {"inbound_events": 1, "outbox": 1, "seen_requests": 0}
    assert await count(services, SeenRequest) == 0
    await services.close()
