"""Nothing lost, nothing sent twice — the check-in opening, with `vizdots deliver` SIGKILLed
after Slack took the DM and before it could record it, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.bootstrap import Services
from tests.crash_support import (
    ANA_DM,
    CLAIM_TIMEOUT_SECONDS,
    T0,
    Look,
    Vizdots,
    iso,
    kill_on_first,
    processes,
    seed_due_checkin,
    seed_services,
    slack_workspace,
    vizdots_env,
    wait_for,
)
from tests.fakes.slack_api import FakeSlackApi
from tests.integration.test_crash_worker import SETTLE, WAIT, to_ana

RESTART = T0 + timedelta(minutes=5)
assert timedelta(seconds=CLAIM_TIMEOUT_SECONDS) < RESTART - T0


@pytest.fixture
async def scripted(db_url: str, slack_api: FakeSlackApi) -> AsyncIterator[Services]:
    slack_workspace(slack_api)
    services = seed_services(db_url, slack_api, None)
    yield services
    await services.close()


async def test_an_opening_slack_took_from_a_killed_process_is_recorded_not_sent_again(
    db_url: str, slack_api: FakeSlackApi, scripted: Services, tmp_path: Path
) -> None:
    look = Look(scripted.sessions, slack_api)
    session_id = await seed_due_checkin(scripted)
    with processes(tmp_path, vizdots_env(db_url, slack_api)) as run:
        delivering: list[Vizdots] = []
        killed = kill_on_first(slack_api, "chat.postMessage", lambda: delivering[0], when=to_ana)
        delivering.append(run.start("deliver", "deliver", "--now", iso(T0)))

        async def dead() -> bool:
            return bool(killed) and not delivering[0].alive()

        await wait_for(dead, within=WAIT, what="deliver killed as Slack took the DM", logs=run.logs)
        assert len(look.dms()) == 1  # Ana has her check-in; the database does not know yet
        run.worker("worker", now=RESTART)

        async def opening_recorded() -> bool:
            rows = await look.outbox(session_id, "opening")
            return bool(rows) and rows[0].status in {"sent", "failed"}

        await wait_for(
            opening_recorded, within=WAIT, what="the opening recorded as sent", logs=run.logs
        )
        await asyncio.sleep(SETTLE)
        [dm] = look.dms()  # exactly one check-in DM
        slack_id = f"{ANA_DM}:{dm.ts}"
        [row] = await look.outbox(session_id, "opening")
        assert (row.status, row.channel_message_id) == ("sent", slack_id)
        [opening] = await look.messages(session_id, speaker="agent")
        assert opening.channel_message_id == slack_id
        assert (await look.session(session_id)).state == "delivered"
        assert len([c for c in slack_api.calls_to("chat.postMessage") if to_ana(c)]) == 1
