"""A storm of faults against two `vizdots worker` processes on PostgreSQL: Slack answering
429 and 500 in bursts and going away, the model failing and timing out, and the database
restarted mid-run. Afterwards every answer is stored once, every reply was sent once,
nothing is left waiting, and the same workers carry on without a restart.

Six members in one Slack workspace each have a check-in delivered at T0 (through the
bursts), then answer three times; their DMs reach the durable inbox as the Slack adapter
stores them. Faults are planned before each round, and the database (this test's own
cluster, so no other test sees it go) is stopped and started between two rounds while
both workers run.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.bootstrap import Services
from core.domain import Provider
from core.inbound import IncomingMessage, Sender
from core.store.migrate import upgrade_to_head
from core.store.models import InboundEvent, Message, OutboxMessage
from tests.conftest import _create_database
from tests.crash_support import T0, Processes, Vizdots, iso, processes, seed_services, vizdots_env
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.world import add_due_session
from tests.postgres import Cluster

MEMBERS = [(f"U{n}", f"Member {n}", f"member{n}@storm.test") for n in range(1, 7)]
ANSWERS = ("4, slept well and ready", "finishing the roadmap review", "waiting on legal")
WAIT = 120.0  # seconds: back-offs after the bursts run on the real clock (2 s, 4 s, 8 s…)


@pytest.fixture
def model() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


class Storm:
    """The world of the test: the fakes, seeding services and the database reads."""

    def __init__(self, services: Services, slack: FakeSlackApi, run: Processes) -> None:
        self.services, self.slack, self.run = services, slack, run

    def dm(self, user: str) -> list[str]:
        return [posted.text for posted in self.slack.messages_in(self.slack.dm_channel_of(user))]

    async def answer(self, user: str, text: str, *, round_: int) -> None:
        """The member's DM as the Slack adapter stores it (retried while the database is
        coming back, as Slack retries an event our endpoint failed to take)."""
        message = IncomingMessage(
            sender=Sender(Provider.SLACK, "T0TEST", user),
            text=text,
            event_id=f"Ev{user}r{round_}",
            message_id=f"{self.slack.dm_channel_of(user)}:{round_}.{user[1:]}",
        )
        for _ in range(50):
            try:
                await self.services.inbox.accept(message)
                return
            except Exception:
                await asyncio.sleep(0.5)
        raise AssertionError(f"the inbox never took {message.event_id}")

    async def until(self, check: object, what: str) -> None:
        deadline = asyncio.get_running_loop().time() + WAIT
        while not await check():  # type: ignore[operator]
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"not within {WAIT:g} s: {what}\n{self.run.logs()}")
            await asyncio.sleep(0.2)

    async def round_done(self, round_: int) -> bool:
        """Every member's answer of the round is taken and nothing is left to send."""
        async with self.services.sessions() as db:
            ids = [f"Ev{user}r{round_}" for user, _, _ in MEMBERS]
            finished = InboundEvent.processed_at.is_not(None) | InboundEvent.given_up
            taken = await db.scalar(
                select(func.count()).where(InboundEvent.event_id.in_(ids), finished)
            )
            unsent = await db.scalar(
                select(func.count()).where(OutboxMessage.status.in_(("pending", "sending")))
            )
        return taken == len(MEMBERS) and unsent == 0


async def test_a_storm_of_faults_loses_no_answer_and_sends_nothing_twice(
    cluster: Cluster, slack_api: FakeSlackApi, model: FakeOpenAIServer, tmp_path: Path
) -> None:
    url = _create_database(cluster.url, "storm")
    upgrade_to_head(url)
    for user, name, email in MEMBERS:
        slack_api.add_user(user, name, email)
    services = seed_services(url, slack_api, model)
    env = vizdots_env(url, slack_api, model, OPENAI_TIMEOUT_SECONDS="2", OPENAI_MAX_RETRIES="1")
    try:
        assert services.slack is not None
        await services.slack.install_single_workspace()
        for _, _, email in MEMBERS:
            await add_due_session(services.sessions, email, due=T0)
        with processes(tmp_path, env) as run:
            storm = Storm(services, slack_api, run)
            slack_api.fail_next("chat.postMessage", 3, status=429, retry_after=1)
            slack_api.fail_next("chat.postMessage", 2, status=500)
            run.run("deliver", "deliver", "--now", iso(T0), within=120)
            workers = [run.worker(f"worker-{n}", now=T0) for n in (1, 2)]
            await storm.until(
                lambda: _true(all(storm.dm(u) for u, _, _ in MEMBERS)), "every opening DM"
            )
            await _faulty_rounds(storm, cluster, slack_api, model)
            assert all(worker.alive() for worker in workers), run.logs()
            _assert_the_faults_happened(slack_api, model, workers)
            await asyncio.sleep(2.0)  # a late double send would show by now
            await _assert_nothing_lost_nothing_twice(storm)
    finally:
        await services.close()


async def _faulty_rounds(
    storm: Storm, cluster: Cluster, slack: FakeSlackApi, model: FakeOpenAIServer
) -> None:
    for round_, text in enumerate(ANSWERS, start=1):
        if round_ == 1:
            model.fail_next(3, status=500)
            slack.fail_next("chat.postMessage", 4, status=429, retry_after=1)
        if round_ == 2:
            model.delay_next(2, seconds=5)  # past OPENAI_TIMEOUT_SECONDS: timed out
            slack.fail_next("chat.postMessage", 3, status=503)
        for user, _, _ in MEMBERS:
            await storm.answer(user, text, round_=round_)
        if round_ == 2:
            await asyncio.sleep(1.0)  # the workers are mid-turn
            await asyncio.to_thread(cluster.stop, "fast")
            slack.go_down()
            await asyncio.sleep(3.0)
            await asyncio.to_thread(cluster.start)
            slack.come_back()
        await storm.until(lambda r=round_: storm.round_done(r), f"round {round_} taken and sent")


async def _assert_nothing_lost_nothing_twice(storm: Storm) -> None:
    async with storm.services.sessions() as db:
        events = list(await db.scalars(select(InboundEvent)))
        turns = Counter(
            await db.scalars(select(Message.inbound_event_id).where(Message.speaker == "member"))
        )
        agent_ids = list(
            await db.scalars(select(Message.channel_message_id).where(Message.speaker == "agent"))
        )
        outbox = Counter(await db.scalars(select(OutboxMessage.status)))
    assert len(events) == len(MEMBERS) * len(ANSWERS)
    assert not [e.event_id for e in events if e.given_up or e.processed_at is None]
    assert all(turns[e.event_id] == 1 for e in events), turns
    assert None not in agent_ids and len(set(agent_ids)) == len(agent_ids)
    assert set(outbox) == {"sent"}, outbox
    for user, _, _ in MEMBERS:
        posted = storm.slack.messages_in(storm.slack.dm_channel_of(user))
        sent_here = [i for i in agent_ids if i.startswith(f"{storm.slack.dm_channel_of(user)}:")]
        assert len(posted) == len(sent_here), f"{user} got {len(posted)} posts for {sent_here}"


def _assert_the_faults_happened(
    slack: FakeSlackApi, model: FakeOpenAIServer, workers: list[Vizdots]
) -> None:
    """The storm was real: Slack refused posts, the model failed, and each worker lost
    the database and found it again by itself (one line each way)."""
    refused = Counter(c.status for c in slack.calls_to("chat.postMessage") if not c.ok)
    assert refused[429] >= 7 and refused[500] + refused[503] >= 5, refused
    assert sum(e.status >= 500 for e in model.exchanges) >= 3
    for worker in workers:
        log = worker.log.read_text()
        assert "database unreachable" in log and "database reachable again" in log, log[-3000:]


async def _true(value: bool) -> bool:
    return value
