"""Nothing lost, nothing stalled, nothing sent twice — the inbox path, with real `vizdots`
processes SIGKILLed mid-turn, on SQLite and PostgreSQL.

Ana (Slack, UTC) has a daily check-in delivered at T0 by `vizdots deliver --now T0`, then
answers it: her DM is stored in the durable inbox as the Slack adapter stores it. A
`vizdots worker --now T0+1min` takes the turn and dies (SIGKILL) at the worst moment; a
second worker started with its clock past the claim timeout takes the event over. Ana
must get exactly one reply, her answer must be stored once, and the database must record
the reply as sent with its Slack ts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.bootstrap import Services
from tests.crash_support import (
    ANA,
    ANA_DM,
    CLAIM_TIMEOUT_SECONDS,
    T0,
    Look,
    Processes,
    Vizdots,
    answer,
    iso,
    kill_on_first,
    processes,
    seed_due_checkin,
    seed_services,
    slack_workspace,
    vizdots_env,
    wait_for,
)
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.slack_api import Call, FakeSlackApi

T1 = T0 + timedelta(minutes=1)  # the first worker starts
#: The second worker's clock: the first one's claims are stale by then.
TAKEOVER = T1 + timedelta(minutes=5)
assert timedelta(seconds=CLAIM_TIMEOUT_SECONDS) < TAKEOVER - T1
WAIT = 20.0  # seconds: every wait is bounded; each test stays well under 30 s when it passes
SETTLE = 1.0  # seconds a finished state must hold (a late double send would show)


@pytest.fixture
def model() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
async def scripted(db_url: str, slack_api: FakeSlackApi) -> AsyncIterator[Services]:
    """Seeding services with the scripted brain (no OPENAI_API_KEY)."""
    slack_workspace(slack_api)
    services = seed_services(db_url, slack_api, None)
    yield services
    await services.close()


async def delivered(run: Processes, services: Services, look: Look) -> int:
    """Ana's check-in, delivered by `vizdots deliver --now T0`; its session id."""
    session_id = await seed_due_checkin(services)
    run.run("deliver", "deliver", "--now", iso(T0))
    await wait_for(
        lambda: _true(len(look.dms()) == 1), within=WAIT, what="the opening DM", logs=run.logs
    )
    return session_id


async def settled(look: Look, run: Processes, event_id: str) -> None:
    """The event is finished and nothing is left to send; then SETTLE seconds more."""

    async def done() -> bool:
        event = await look.event(event_id)
        return (event.processed_at is not None or event.given_up) and await look.unsent() == 0

    await wait_for(
        done, within=WAIT, what=f"event {event_id} taken and its reply sent", logs=run.logs
    )
    await asyncio.sleep(SETTLE)


async def assert_one_reply_recorded(look: Look, session_id: int, event_id: str) -> None:
    """Exactly one reply in Ana's DM; her answer stored once; the reply recorded with its ts."""
    opening, *replies = look.dms()
    assert len(replies) == 1, f"Ana got {len(replies)} replies to one answer"
    assert await look.turns_of_event(event_id) == 1
    event = await look.event(event_id)
    assert event.processed_at is not None and not event.given_up
    slack_id = f"{ANA_DM}:{replies[0].ts}"
    agent_turns = await look.messages(session_id, speaker="agent")
    assert [m.channel_message_id for m in agent_turns] == [f"{ANA_DM}:{opening.ts}", slack_id]
    [row] = await look.outbox(session_id, "reply")
    assert (row.status, row.channel_message_id) == ("sent", slack_id)


async def _true(value: bool) -> bool:
    return value


def to_ana(call: Call) -> bool:
    return call.params.get("channel") in {ANA, ANA_DM}


# --- a. the model hangs, the worker dies mid-turn ------------------------------------------------
async def test_a_worker_killed_while_the_model_hangs_is_taken_over_and_ana_gets_one_reply(
    db_url: str, slack_api: FakeSlackApi, model: FakeOpenAIServer, tmp_path: Path
) -> None:
    slack_workspace(slack_api)
    services = seed_services(db_url, slack_api, model)
    look = Look(services.sessions, slack_api)
    try:
        with processes(tmp_path, vizdots_env(db_url, slack_api, model)) as run:
            session_id = await delivered(run, services, look)
            await answer(services, "4, feeling rested and ready", event_id="EvHang", ts="1.1")
            model.hang()
            first = run.worker("worker-1", now=T1)
            await asyncio.to_thread(model.wait_held, 1, within=WAIT)  # mid-turn, model stuck
            assert await look.turns_of_event("EvHang") == 1  # her turn was stored first
            first.kill()
            model.release()  # the model answers again (the dead worker's call goes nowhere)
            run.worker("worker-2", now=TAKEOVER)
            await settled(look, run, "EvHang")
            await assert_one_reply_recorded(look, session_id, "EvHang")
    finally:
        await services.close()


# --- c. the worker dies after Slack took the reply, before it knew ------------------------------
async def test_a_worker_killed_right_after_slack_took_the_reply_does_not_send_it_twice(
    db_url: str, slack_api: FakeSlackApi, scripted: Services, tmp_path: Path
) -> None:
    look = Look(scripted.sessions, slack_api)
    with processes(tmp_path, vizdots_env(db_url, slack_api)) as run:
        session_id = await delivered(run, scripted, look)
        await answer(scripted, "4", event_id="EvKill", ts="1.1")
        workers: list[Vizdots] = []
        killed = kill_on_first(slack_api, "chat.postMessage", lambda: workers[0], when=to_ana)
        workers.append(run.worker("worker-1", now=T1))
        await wait_for(
            lambda: _true(bool(killed) and not workers[0].alive()),
            within=WAIT,
            what="worker-1 killed as Slack took the reply",
            logs=run.logs,
        )
        assert len(look.dms()) == 2  # Slack has the reply; the dead worker never learned it
        run.worker("worker-2", now=TAKEOVER)
        await settled(look, run, "EvKill")
        await assert_one_reply_recorded(look, session_id, "EvKill")
        assert len([c for c in slack_api.calls_to("chat.postMessage") if to_ana(c)]) == 2


# --- d. Slack unreachable when the reply is due --------------------------------------------------
async def test_a_reply_due_while_slack_is_unreachable_is_retried_and_arrives_once(
    db_url: str, slack_api: FakeSlackApi, scripted: Services, tmp_path: Path
) -> None:
    look = Look(scripted.sessions, slack_api)
    with processes(tmp_path, vizdots_env(db_url, slack_api)) as run:
        session_id = await delivered(run, scripted, look)
        await answer(scripted, "4", event_id="EvDown", ts="1.1")
        slack_api.go_down()
        run.worker("worker-1", now=T1)

        async def failed_once() -> bool:
            """A failed attempt recorded (or the row given up, or sent), or the reply dropped."""
            rows = await look.outbox(session_id, "reply")
            if rows:
                row = rows[0]
                retrying = row.status == "pending" and row.attempts >= 1 and row.last_error
                return bool(retrying) or row.status in {"sent", "failed"}
            return (await look.event("EvDown")).processed_at is not None

        await wait_for(failed_once, within=WAIT, what="a failed send recorded", logs=run.logs)
        assert any(not c.ok for c in slack_api.calls_to("chat.postMessage"))
        rows = await look.outbox(session_id, "reply")
        assert rows, "the reply Slack could not take was dropped (no outbox row)"
        [row] = rows
        assert row.status == "pending", f"the reply is {row.status}, not waiting for a retry"
        slack_api.come_back()
        # The first worker retries after its back-off; a second one, its clock an hour on,
        # sees the retry due at once. Either way: one reply.
        run.worker("worker-2", now=T0 + timedelta(hours=1))
        await settled(look, run, "EvDown")
        await assert_one_reply_recorded(look, session_id, "EvDown")
