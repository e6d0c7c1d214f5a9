"""Turns a second of one worker when each brain call takes 2 s, against the same worker
with a brain answering at once; and no turn lost or doubled.

    python bench/worker_turns.py [--events 2000] [--members 500] [--brain-seconds 2]
                                 [--max-seconds 240] [--database-url postgresql://…]
                                 [--keep DIR]

Two runs, one after the other, each on a fresh PostgreSQL database (a scratch database on
--database-url or TEST_DATABASE_URL, else a throwaway cluster from the local binaries):
  * the baseline: the fake OpenAI-compatible server (tests/fakes/openai_server.py) answers
    at once;
  * the same, answering each request after `--brain-seconds`.
Each run: the Slack workspace (tests/fakes/slack_api.py, one user per member) is installed
by the app's own code, every member has an open daily check-in (as bench/slack_events.py
opens them), and `--events` DMs — each member's four answers in turn, every one costing a
model call — wait in the durable inbox. Then one worker, as `vizdots worker --no-plan`
runs it (bot.worker.run_worker, in this process; the fakes run in a child process so that
their threads never take this one's CPU), takes them until every event is processed and
every reply has reached Slack, or `--max-seconds` have passed (the rate is then over that
window; a turn counts once processed and its reply is in Slack). Settings are the
defaults (WORKER_CONCURRENCY…), so the bench measures what a deployment gets.

Figures: turns a second of each run and their ratio (goal ≥ 0.80: waiting on the model
must not be what limits a worker); lost and doubled turns (goal 0): an event processed
without its member turn stored, a member turn stored twice, a member's DM with fewer
replies than their processed events or more than their stored turns. Exit 1 when a goal
is not met.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from processes import Child, child
from sqlalchemy import func, select

from core.store.migrate import upgrade_to_head

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)  # the workers' clock starts here and runs on
TEAM_ID = "T0TEST"  # FakeSlackApi's workspace
GOAL_RATIO = 0.80
EVENT_PREFIX = "EvW"
ANSWERS = (
    "4, feeling rested and ready",  # mood with words: an acknowledgement call
    "the release notes",  # focus, vague (< 6 words): the fake model asks a follow-up
    "mostly the docs",  # still vague: the second and last follow-up
    "and some code review",  # no follow-ups left, not a bare value: an acknowledgement
)
POLL = 0.25  # seconds between progress checks


def user_of(member: int) -> str:
    return f"U{member:05d}"


def dm_of(member: int) -> str:
    return "D" + user_of(member).removeprefix("U")


# --- the fakes, in a child process --------------------------------------------------------------
def run_fakes(members: int, brain_seconds: float) -> None:
    """Slack (one user per member) and the model, until stdin closes; "report" on stdin
    prints the posts per DM channel and the model requests so far."""
    from tests.fakes.openai_server import FakeOpenAIServer
    from tests.fakes.slack_api import FakeSlackApi

    slack = FakeSlackApi(team_id=TEAM_ID, page_size=200)
    for member in range(members):
        slack.add_user(user_of(member), f"Member {member}", f"m{member}@bench.test")
    with slack, FakeOpenAIServer(delay=brain_seconds) as model:
        print(json.dumps({"slack": slack.base_url, "openai": model.base_url}), flush=True)
        for line in sys.stdin:
            if line.strip() == "report":
                posts: dict[str, int] = {}
                for message in list(slack.messages):
                    posts[message.channel] = posts.get(message.channel, 0) + 1
                report = {"posts": posts, "requests": len(model.requests)}
                print(json.dumps(report), flush=True)


@dataclass(frozen=True)
class Fakes:
    """The child process running `run_fakes` (bench/processes.py) and its URLs."""

    child: Child
    urls: dict[str, Any]

    def report(self) -> dict[str, Any]:
        return self.child.ask("report")


@contextmanager
def fakes(log: Path, members: int, brain_seconds: float) -> Iterator[Fakes]:
    options = ["--members", str(members), "--brain-seconds", str(brain_seconds)]
    with child(__file__, "fakes", log, *options) as started:
        yield Fakes(started, started.read())


# --- one run ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Shape:
    events: int
    members: int
    max_seconds: float


@dataclass(frozen=True)
class RunFigures:
    brain_seconds: float
    concurrency: int
    completed: int
    seconds: float
    finished: bool
    model_requests: int
    lost: int
    doubled: int
    notes: list[str]

    @property
    def rate(self) -> float:
        return self.completed / self.seconds if self.seconds else 0.0


def build(database_url: str, urls: dict[str, Any]) -> Any:
    """Services as `vizdots worker --no-plan` builds them, its clock starting at NOW."""
    from bot.bootstrap import build_services
    from bot.settings import load_settings
    from core.ports import ShiftedClock
    from tests.fakes.slack_api import TEST_TOKEN

    settings = load_settings(
        database_url=database_url,
        slack_signing_secret="bench-signing-secret",
        slack_bot_token=TEST_TOKEN,
        slack_api_url=urls["slack"],
        openai_api_key="sk-bench",
        openai_base_url=urls["openai"],
    )
    return build_services(
        settings, clock=ShiftedClock(NOW), loop_interval=None, inbox_in_process=False
    )


async def set_up(services: Any, shape: Shape, fake: Fakes) -> dict[str, int]:
    """Install, open every member's check-in, queue the events; Slack posts so far."""
    from slack_events import open_checkins

    assert services.slack is not None
    await services.slack.install_single_workspace()
    await open_checkins(services, members=shape.members)
    await opening_posted(services, fake)
    await queue_events(services, shape)
    return dict(fake.report()["posts"])


async def opening_posted(services: Any, fake: Fakes, within: float = 30.0) -> None:
    """The first member's opening in Slack (sent by the worker if delivery only queues it)."""
    from bot.worker import run_worker

    if fake.report()["posts"].get(dm_of(0)):
        return
    worker = asyncio.create_task(run_worker(services, plan=False))
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        await asyncio.sleep(POLL)
        if fake.report()["posts"].get(dm_of(0)):
            break
    worker.cancel()
    with suppress(asyncio.CancelledError):
        await worker


async def queue_events(services: Any, shape: Shape) -> None:
    """Event n: member n % members gives their (n // members)-th answer; one round of
    answers after another, so each member's answers are stored in order."""
    from core.domain import Provider
    from core.inbound import IncomingMessage, Sender

    rounds: dict[int, list[Any]] = {}
    for n in range(shape.events):
        member, turn = n % shape.members, n // shape.members
        text = ANSWERS[turn % len(ANSWERS)]
        message = IncomingMessage(
            sender=Sender(Provider.SLACK, TEAM_ID, user_of(member)),
            text=text,
            event_id=f"{EVENT_PREFIX}{n:06d}",
            message_id=f"{dm_of(member)}:{1_800_000_000 + n}.000100",
        )
        rounds.setdefault(turn, []).append(message)
    for messages in rounds.values():
        await asyncio.gather(*(services.inbox.accept(m) for m in messages))


async def processed_events(services: Any) -> int:
    from core.store.models import InboundEvent

    async with services.sessions() as db:
        query = select(func.count()).where(
            InboundEvent.event_id.like(f"{EVENT_PREFIX}%"), InboundEvent.processed_at.is_not(None)
        )
        return int(await db.scalar(query) or 0)


def replies(posts: dict[str, int], before: dict[str, int]) -> int:
    return sum(count - before.get(channel, 0) for channel, count in posts.items())


async def take_turns(
    services: Any, shape: Shape, fake: Fakes, before: dict[str, int], progress: list[str]
) -> tuple[int, float, bool]:
    """One worker until every event is processed and answered in Slack, or the cap: the
    turns completed (processed, their reply in Slack), the seconds, whether all were."""
    from bot.worker import run_worker

    started = time.perf_counter()
    worker = asyncio.create_task(run_worker(services, plan=False))
    completed, finished = 0, False
    while (elapsed := time.perf_counter() - started) < shape.max_seconds:
        await asyncio.sleep(POLL)
        if worker.done():
            worker.result()  # re-raise what stopped it
        processed = await processed_events(services)
        answered = replies(fake.report()["posts"], before)
        progress.append(f"{elapsed:.2f},{processed},{answered}")
        completed = min(processed, answered)  # a turn is done when its reply is in Slack
        if completed >= shape.events:
            finished = True
            break
    elapsed = time.perf_counter() - started
    worker.cancel()
    with suppress(asyncio.CancelledError):
        await worker
    return completed, elapsed, finished


async def lost_and_doubled(
    services: Any, shape: Shape, posts: dict[str, int], before: dict[str, int]
) -> tuple[int, int, list[str]]:
    """Per processed event: its member turn stored once; per member: one reply per
    processed event (but those still waiting in the outbox when a run is cut short by the
    cap) and at most one per stored turn (a cut may leave a member's last turn answered
    but not yet marked processed)."""
    from core.store.models import InboundEvent, Member, Message, OutboxMessage

    async with services.sessions() as db:
        done = set(
            await db.scalars(
                select(InboundEvent.event_id).where(
                    InboundEvent.event_id.like(f"{EVENT_PREFIX}%"),
                    InboundEvent.processed_at.is_not(None),
                )
            )
        )
        counted = await db.execute(
            select(Message.inbound_event_id, func.count())
            .where(Message.inbound_event_id.like(f"{EVENT_PREFIX}%"))
            .group_by(Message.inbound_event_id)
        )
        stored = {str(event): int(count) for event, count in counted.all()}
        queued = await db.execute(
            select(Member.slack_user_id, func.count())
            .join(OutboxMessage, OutboxMessage.member_id == Member.id)
            .where(OutboxMessage.kind == "reply", OutboxMessage.status.in_(("pending", "sending")))
            .group_by(Member.slack_user_id)
        )
        waiting = {int(str(user).removeprefix("U")): int(n) for user, n in queued.all()}
    turns_lost = sum(1 for event in done if stored.get(event, 0) == 0)
    turns_doubled = sum(count - 1 for count in stored.values() if count > 1)
    at_least, at_most = per_member(done, shape), per_member(set(stored) | done, shape)
    at_least = [max(n - waiting.get(m, 0), 0) for m, n in enumerate(at_least)]
    got = [posts.get(dm_of(m), 0) - before.get(dm_of(m), 0) for m in range(shape.members)]
    replies_lost = sum(max(low - n, 0) for low, n in zip(at_least, got, strict=True))
    replies_doubled = sum(max(n - high, 0) for high, n in zip(at_most, got, strict=True))
    notes = [
        f"turns: {turns_lost} processed without the member's turn stored, "
        f"{turns_doubled} stored twice; replies: {replies_lost} missing, "
        f"{replies_doubled} extra, {sum(waiting.values())} still in the outbox"
    ]
    return turns_lost + replies_lost, turns_doubled + replies_doubled, notes


def per_member(events: set[str], shape: Shape) -> list[int]:
    counts = [0] * shape.members
    for event in events:
        counts[int(event.removeprefix(EVENT_PREFIX)) % shape.members] += 1
    return counts


async def measure(
    database_url: str, shape: Shape, fake: Fakes, brain_seconds: float, workdir: Path
) -> RunFigures:
    services = build(database_url, fake.urls)
    progress = ["seconds,processed,answered"]
    try:
        before = await set_up(services, shape, fake)
        completed, seconds, finished = await take_turns(services, shape, fake, before, progress)
        await asyncio.sleep(1.0)  # a late (double) send would show
        report = fake.report()
        lost, doubled, notes = await lost_and_doubled(services, shape, report["posts"], before)
    finally:
        await services.close()
    (workdir / f"progress-{brain_seconds:g}s.csv").write_text("\n".join(progress) + "\n")
    return RunFigures(
        brain_seconds=brain_seconds,
        concurrency=services.settings.worker_concurrency,
        completed=completed,
        seconds=seconds,
        finished=finished,
        model_requests=report["requests"],
        lost=lost,
        doubled=doubled,
        notes=notes,
    )


# --- databases ----------------------------------------------------------------------------------
@contextmanager
def scratch(server: str) -> Iterator[str]:
    from plan_sessions import scratch_database

    with scratch_database(server) as url:
        upgrade_to_head(url)
        yield url


def run_once(server: str, shape: Shape, brain_seconds: float, workdir: Path) -> RunFigures:
    label = f"{brain_seconds:g}s"
    with (
        scratch(server) as url,
        fakes(workdir / f"fakes-{label}.log", shape.members, brain_seconds) as fake,
    ):
        return asyncio.run(measure(url, shape, fake, brain_seconds, workdir))


# --- the report ---------------------------------------------------------------------------------
def describe(run: RunFigures, shape: Shape) -> str:
    brain = "at once" if not run.brain_seconds else f"after {run.brain_seconds:g} s"
    window = "all" if run.finished else f"capped at {shape.max_seconds:g} s:"
    return (
        f"brain answering {brain:<12} {run.rate:6.2f} turns/s  "
        f"({window} {run.completed}/{shape.events} turns completed in {run.seconds:.1f} s; "
        f"{run.model_requests} model requests)"
    )


def report(shape: Shape, fast: RunFigures, slow: RunFigures) -> bool:
    ratio = slow.rate / fast.rate if fast.rate else 0.0
    print(describe(fast, shape))
    print(describe(slow, shape))
    print(f"ratio slow / instant brain: {ratio:.2f}")
    for run in (fast, slow):
        label = "instant" if not run.brain_seconds else f"{run.brain_seconds:g} s"
        print(f"{label} brain: lost {run.lost}, doubled {run.doubled} ({run.notes[0]})")
    clean = not (fast.lost or fast.doubled or slow.lost or slow.doubled)
    print(f"goal ratio ≥ {GOAL_RATIO:.2f}: {'met' if ratio >= GOAL_RATIO else 'NOT met'}")
    print(f"goal no turn lost or doubled: {'met' if clean else 'NOT met'}")
    return ratio >= GOAL_RATIO and clean


def run(shape: Shape, brain_seconds: float, url: str | None, keep: Path | None) -> bool:
    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    print(f"{shape.events} inbox events from {shape.members} members (each with an open "
          f"check-in); one worker (defaults, in-process) on PostgreSQL; fake OpenAI answering "
          f"at once, then after {brain_seconds:g} s; {os.cpu_count()} CPUs, "
          f"load average {load}", flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="vizdots-bench-") as tmp:
        workdir = keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        logging.basicConfig(
            filename=workdir / "worker.log",
            level=logging.WARNING,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        from plan_sessions import postgres_server

        with postgres_server(url or os.environ.get("TEST_DATABASE_URL")) as server:
            print("measuring with the brain answering at once…", flush=True)
            fast = run_once(server, shape, 0.0, workdir)
            print(f"measuring with the brain answering after {brain_seconds:g} s…", flush=True)
            slow = run_once(server, shape, brain_seconds, workdir)
        print(f"worker concurrency (WORKER_CONCURRENCY): {fast.concurrency}")
        return report(shape, fast, slow)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=2000, help="inbox events in all")
    parser.add_argument("--members", type=int, default=500, help="members sending them")
    parser.add_argument("--brain-seconds", type=float, default=2.0, help="each model call")
    parser.add_argument(
        "--max-seconds", type=float, default=240.0,
        help="stop a run after this long; its rate is then over that window",
    )  # fmt: skip
    parser.add_argument("--database-url", help="a PostgreSQL server (admin URL)")
    parser.add_argument("--keep", type=Path, help="keep the logs and progress CSVs in DIR")
    parser.add_argument("--role", choices=["fakes"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "fakes":
        run_fakes(args.members, args.brain_seconds)
        return
    if args.events > args.members * len(ANSWERS):
        parser.error(f"at most {len(ANSWERS)} events a member: raise --members")
    shape = Shape(events=args.events, members=args.members, max_seconds=args.max_seconds)
    sys.exit(0 if run(shape, args.brain_seconds, args.database_url, args.keep) else 1)


if __name__ == "__main__":
    main()
