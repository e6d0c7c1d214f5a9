"""Nothing posted twice — a team digest, with the `vizdots worker` SIGKILLed after Slack
took the post and before it could record it, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.bootstrap import Services
from core.store.models import CheckinSession, Digest, Schedule
from tests.crash_support import (
    CLAIM_TIMEOUT_SECONDS,
    T0,
    Vizdots,
    kill_on_first,
    processes,
    seed_due_checkin,
    seed_services,
    slack_workspace,
    vizdots_env,
    wait_for,
)
from tests.fakes.slack_api import FakeSlackApi
from tests.integration.test_crash_worker import SETTLE, WAIT

CHANNEL = "C0TEAM"
RESTART = T0 + timedelta(minutes=5)
assert timedelta(seconds=CLAIM_TIMEOUT_SECONDS) < RESTART - T0


@pytest.fixture
async def scripted(db_url: str, slack_api: FakeSlackApi) -> AsyncIterator[Services]:
    slack_workspace(slack_api)
    slack_api.add_channel(CHANNEL, ["U0BOT"])
    services = seed_services(db_url, slack_api, None)
    yield services
    await services.close()


async def close_the_window(services: Services) -> None:
    """Ana's check-in of T0's date done, on a schedule that reports to the channel."""
    session_id = await seed_due_checkin(services)
    async with services.sessions.begin() as db:
        await db.execute(update(Schedule).values(report_channel=CHANNEL))
        await db.execute(
            update(CheckinSession)
            .where(CheckinSession.id == session_id)
            .values(state="completed", delivered_at=T0, completed_at=T0)
        )


async def test_a_digest_slack_took_from_a_killed_worker_is_recorded_not_posted_again(
    db_url: str, slack_api: FakeSlackApi, scripted: Services, tmp_path: Path
) -> None:
    await close_the_window(scripted)
    with processes(tmp_path, vizdots_env(db_url, slack_api)) as run:
        posting: list[Vizdots] = []
        killed = kill_on_first(
            slack_api, "chat.postMessage", lambda: posting[0],
            when=lambda call: call.params.get("channel") == CHANNEL,
        )  # fmt: skip
        posting.append(run.worker("worker", now=T0))

        async def dead() -> bool:
            return bool(killed) and not posting[0].alive()

        await wait_for(dead, within=WAIT, what="worker killed as Slack took the digest",
                       logs=run.logs)  # fmt: skip
        assert len(slack_api.messages_in(CHANNEL)) == 1  # posted; the database does not know
        run.worker("again", now=RESTART)

        async def recorded() -> bool:
            async with scripted.sessions() as db:
                states = list(await db.scalars(select(Digest.state)))
            return states == ["posted"]

        await wait_for(recorded, within=WAIT, what="the digest recorded as posted", logs=run.logs)
        await asyncio.sleep(SETTLE)
    (posted,) = slack_api.messages_in(CHANNEL)
    async with scripted.sessions() as db:
        (digest,) = await db.scalars(select(Digest))
    assert digest.message_id == f"{CHANNEL}:{posted.ts}" and digest.attempts == 2
