"""A simulated day on PostgreSQL with 1 worker process, then with 2: sessions a second,
acknowledgement p99, inbox lag, duplicates and lost answers.

    python bench/simulated_day.py [--members 50000] [--orgs 100] [--workers 1,2]
                                  [--max-seconds 600] [--latency-ms 50] [--keep DIR]
                                  [--database-url postgresql://…]

Loopback only. Each run gets a fresh database (a scratch database on --database-url or
TEST_DATABASE_URL, else on a throwaway cluster from the local binaries), seeded with
`--members` members in `--orgs` orgs on the active plan, each org a Slack workspace with
a daily check-in at 08:00 UTC. Processes, as in production:
  * the fakes: the Slack Web API (tests/fakes/slack_api.py, made to hold many members
    cheaply) and the OpenAI-compatible model (tests/fakes/openai_server.py), each
    answering after `--latency-ms`, as a remote API would;
  * one web process as `vizdots serve --no-loop --no-inbox` builds it: it checks the
    signatures and stores the events in the inbox before acknowledging;
  * N workers as `vizdots worker` builds them (planning, delivery, reminders, the inbox's
    turns, the outbox), their clocks (and the web process's) on one shared timeline
    starting at Monday 08:00 UTC;
  * this process: the members. 80% of them answer: each post of the bot in a member's
    DM (the opening, then each reply) is answered with the member's next words, a
    signed Slack `message` event POSTed to /slack/events, three turns in all (mood,
    focus, blockers). The others stay silent.
The day: planned the evening before (as in production, where planning looks 36 hours
ahead; timed apart), the workers deliver every check-in at 08:00, the members answer
until every answering member's session is completed (or `--max-seconds`); once the
inbox and the outbox are empty (or another cap) the workers are restarted at 14:00, the
first reminder slot an hour after delivery, and nudge the silent ones (until every one
is nudged, nothing new comes for 15 s, or the cap).

Figures per run: sessions completed a second (from the workers' start to the last
completion: delivery and three turns each), openings and replies posted a second, the
acknowledgement p99 of the POSTs, the inbox lag (event received to processed, p50 / p99),
duplicates (posts in Slack carrying the same outbox key: the same opening, reply or
nudge twice; must be 0), lost answers (acknowledged events whose member turn is not
stored; must be 0), each process's CPU per opening or reply, then the 2-worker /
1-worker throughput ratio (goal ≥ 1.6) and its ceiling when the CPU is the limit. On a
2-core machine the database, the fakes, the web process and this client share the two
cores with the workers: the ratio says how far a second worker helps there, not on a
machine with a core each.
Exit 1 when a goal is not met.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import os
import resource
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from processes import Child, announce, child, percentile, stdin_closed
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

SECRET = "bench-signing-secret"
DAY_START = datetime(2026, 3, 2, 8, tzinfo=UTC)  # a Monday, the check-ins' time
REMINDER_SLOT = datetime(2026, 3, 2, 14, 0, 5, tzinfo=UTC)  # the 14:00 slot: a nudge waits 1 h
USER_PREFIX, DM_PREFIX = "UB", "DB"
BENCH_TEAM = "TBENCH"  # the fake's own workspace (the start-up install); no member in it
ANSWERS = (
    "4, feeling rested and ready to start",  # mood
    "shipping the release notes for the new version",  # focus: 6+ words, no follow-up
    "nothing is blocking me at the moment, thanks",  # blockers
)
GOAL_RATIO = 1.6
POLL = 0.1  # seconds between looks at the fake Slack's new posts
QUIET_SECONDS = 15.0  # the reminder phase ends when nothing new was posted for this long


def user_of(member: int) -> str:
    return f"{USER_PREFIX}{member:06d}"


def dm_of(member: int) -> str:
    return f"{DM_PREFIX}{member:06d}"


def team_of(org: int) -> str:
    return f"T{org:05d}"


def answering(member: int) -> bool:
    """About four members in five answer, spread over the orgs (a hash: members are dealt
    to orgs by `member % orgs`, so `member % 5` would leave whole orgs silent)."""
    return zlib.crc32(member.to_bytes(4, "big")) % 5 != 0


# --- clocks -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SharedClock:
    """`start` at the wall-clock instant `anchor` (epoch seconds), running on: every process
    given the same pair reads the same time, so the inbox lag (the web process's receipt,
    a worker's processing) is measured on one timeline."""

    start: datetime
    anchor: float

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.time() - self.anchor)


# --- role: the fakes ----------------------------------------------------------------------------
def run_fakes(latency: float) -> None:
    """Slack and the model, until stdin closes; "posts N" answers the posts from the N-th
    on as [channel, outbox key] pairs, "requests" the model's request count."""
    from tests.fakes.openai_server import FakeOpenAIServer
    from tests.fakes.slack_api import FakeSlackApi

    class ManyMembersSlack(FakeSlackApi):
        """Members made on demand from their user id, DMs found without a scan of every
        user, no log of calls and no text kept: a day's 200,000 calls in little memory."""

        def _find_user(self, user_id: object) -> dict[str, Any] | None:
            if isinstance(user_id, str) and user_id.startswith(USER_PREFIX):
                return bench_user(user_id, self.team_id)
            return super()._find_user(user_id)

        def _resolve_channel(self, channel: str) -> str | None:
            return channel if channel.startswith(DM_PREFIX) else super()._resolve_channel(channel)

        def answer(
            self, method: str, params: dict[str, Any], token: str | None, client_id: str | None
        ) -> tuple[int, dict[str, Any], dict[str, str]]:
            with self._lock:
                return self._answer(method, params, token)

        def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
            answered = super()._chat_post_message(params)
            if answered.get("ok"):
                self.messages[-1].text, self.messages[-1].blocks = "", []
            return answered

    class CountingModel(FakeOpenAIServer):
        """Counts the requests instead of keeping them."""

        count = 0

        def _record(self, exchange: Any) -> None:
            with self._lock:
                self.count += 1

    slack = ManyMembersSlack(team_id=BENCH_TEAM, page_size=200, latency=latency)
    with slack, CountingModel(delay=latency) as model:
        announce({"slack": slack.base_url, "openai": model.base_url})
        for line in sys.stdin:
            question, _, argument = line.strip().partition(" ")
            if question == "posts":
                with slack._lock:
                    new = slack.messages[int(argument or 0) :]
                announce({"posts": [[p.channel, outbox_key(p.metadata)] for p in new]})
            elif question == "requests":
                announce({"requests": model.count})


def bench_user(user_id: str, team_id: str) -> dict[str, Any]:
    """A Slack user object for a bench member: in UTC, present, no status."""
    profile = {"real_name": user_id, "display_name": "", "status_text": "", "status_emoji": "",
               "status_expiration": 0, "team": team_id}  # fmt: skip
    return {"id": user_id, "team_id": team_id, "name": user_id.lower(), "deleted": False,
            "real_name": user_id, "tz": "UTC", "tz_label": "UTC", "is_bot": False,
            "is_admin": False, "is_owner": False, "is_restricted": False,
            "is_ultra_restricted": False, "is_app_user": False, "profile": profile}  # fmt: skip


def outbox_key(metadata: dict[str, Any] | None) -> str | None:
    payload = (metadata or {}).get("event_payload") or {}
    return str(payload["key"]) if payload.get("key") else None


# --- roles: the web process and a worker --------------------------------------------------------
def services_for(options: argparse.Namespace, *, web: bool) -> Any:
    """Services as `vizdots serve --no-loop --no-inbox` (web) or `vizdots worker` build
    them, on the shared clock."""
    from bot.bootstrap import build_services
    from bot.settings import load_settings
    from tests.fakes.slack_api import TEST_TOKEN

    settings = load_settings(
        database_url=options.database_url,
        slack_signing_secret=SECRET,
        slack_bot_token=TEST_TOKEN,
        slack_api_url=options.slack_url,
        openai_api_key="sk-bench",
        openai_base_url=options.openai_url,
    )
    clock = SharedClock(datetime.fromisoformat(options.start), options.anchor)
    if web:
        return build_services(settings, clock=clock, loop_interval=None, inbox_in_process=False)
    return build_services(settings, clock=clock, loop_interval=None)


async def serve_web(options: argparse.Namespace) -> None:
    from bot.app import create_app
    from tests.fakes.http_server import serving

    services = services_for(options, web=True)
    try:
        async with serving(create_app(services)) as url:
            announce({"url": url})
            await stdin_closed()
    finally:
        await services.close()


async def work(options: argparse.Namespace) -> None:
    """`vizdots worker`: plan, deliver, remind, the inbox and the outbox, until stdin closes."""
    from bot.worker import run_worker

    services = services_for(options, web=False)
    profile = cProfile.Profile() if options.profile else None
    if profile is not None:
        profile.enable()
    running = asyncio.create_task(run_worker(services, plan=True))
    announce({"worker": os.getpid()})
    try:
        await stdin_closed()
    finally:
        running.cancel()
        with suppress(asyncio.CancelledError):
            await running
        await services.close()
        if profile is not None:
            profile.disable()
            profile.dump_stats(options.profile / f"worker-{os.getpid()}.prof")


# --- the seed -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Shape:
    members: int
    orgs: int
    max_seconds: float
    latency: float
    profile: Path | None = None

    @property
    def answering(self) -> int:
        return sum(1 for m in range(self.members) if answering(m))


def seed(url: str, shape: Shape) -> None:
    """The orgs (active plan), their Slack installations (the one bot token), members with
    their Slack DM known, and each org's daily check-in at 08:00 UTC on weekdays."""
    from core.domain import Provider
    from core.schedule_time import weekdays_mask
    from core.store import models as m
    from core.store.engine import make_sync_engine

    engine = make_sync_engine(url)
    with engine.begin() as db:
        daily = db.scalar(
            select(m.Agent.id).where(m.Agent.slug == "daily", m.Agent.org_id.is_(None))
        )
        orgs = [{"slug": f"bench-{o}", "name": f"Bench {o}", "plan_status": "active"}
                for o in range(shape.orgs)]  # fmt: skip
        ids = list(db.scalars(insert(m.Organization).returning(m.Organization.id), orgs))
        db.execute(insert(m.Installation), [
            {"org_id": org, "provider": Provider.SLACK.value, "external_id": team_of(o),
             "bot_user_id": "U0BOT", "credentials_ref": "env:SLACK_BOT_TOKEN", "active": True}
            for o, org in enumerate(ids)
        ])  # fmt: skip
        db.execute(insert(m.Schedule), [
            {"org_id": org, "agent_id": daily, "weekdays": weekdays_mask(range(5)),
             "local_time": clock_time(8)} for org in ids
        ])  # fmt: skip
        for first in range(0, shape.members, 10_000):
            db.execute(insert(m.Member), [
                {"org_id": ids[n % shape.orgs], "display_name": f"Member {n}",
                 "email": f"m{n}@bench.test", "timezone": "UTC", "slack_user_id": user_of(n),
                 "slack_dm_channel_id": dm_of(n)}
                for n in range(first, min(first + 10_000, shape.members))
            ])  # fmt: skip
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
        db.execute(text("VACUUM ANALYZE"))
    engine.dispose()


# --- the members --------------------------------------------------------------------------------
@dataclass
class Members:
    """What the members sent and what Slack acknowledged."""

    shape: Shape
    http: aiohttp.ClientSession
    url: str
    sent: dict[int, int] = field(default_factory=dict)  # member: answers sent
    acknowledged: set[str] = field(default_factory=set)  # event ids
    latencies: list[float] = field(default_factory=list)  # seconds
    refused: int = 0
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def on_post(self, channel: str, key: str | None) -> None:
        """A bot's opening or reply in a member's DM: an answering member says the next thing."""
        if not channel.startswith(DM_PREFIX) or not key:
            return
        if not key.startswith(("opening:", "reply:")):
            return
        member = int(channel.removeprefix(DM_PREFIX))
        turn = self.sent.get(member, 0)
        if not answering(member) or turn >= len(ANSWERS):
            return
        self.sent[member] = turn + 1
        task = asyncio.create_task(self.answer(member, turn))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def answer(self, member: int, turn: int) -> None:
        event_id = f"EvDay{member:06d}t{turn}"
        body, headers = signed_event(member, turn, self.shape.orgs, event_id)
        started = time.perf_counter()
        try:
            async with self.http.post(self.url, data=body, headers=headers) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        self.latencies.append(time.perf_counter() - started)
        if status == 200:
            self.acknowledged.add(event_id)
        else:
            self.refused += 1


def signed_event(member: int, turn: int, orgs: int, event_id: str) -> tuple[bytes, dict[str, str]]:
    """A DM `message` event as Slack sends it, signed now."""
    now = str(int(time.time()))
    event = {"type": "message", "channel_type": "im", "channel": dm_of(member),
             "user": user_of(member), "text": ANSWERS[turn],
             "ts": f"{1_800_000_000 + member}.{turn:06d}"}  # fmt: skip
    body = json.dumps({"type": "event_callback", "team_id": team_of(member % orgs),
                       "api_app_id": "A0TEST", "event": event, "event_id": event_id,
                       "event_time": int(now)})  # fmt: skip
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=now, body=body) or ""
    headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": now,
               "X-Slack-Signature": signature}  # fmt: skip
    return body.encode(), headers


class Posts:
    """The fake Slack's posts, read as they come."""

    def __init__(self, fakes: Child) -> None:
        self.fakes = fakes
        self.all: list[tuple[str, str | None]] = []

    def steps(self) -> int:
        """Openings and replies among the posts so far."""
        return sum(1 for _, key in self.all if key and key.startswith(("opening:", "reply:")))

    def new(self) -> list[tuple[str, str | None]]:
        fresh = [(str(c), k) for c, k in self.fakes.ask(f"posts {len(self.all)}")["posts"]]
        self.all += fresh
        return fresh


# --- one run ------------------------------------------------------------------------------------
@dataclass
class RunFigures:
    workers: int
    completed: int = 0
    seconds: float = 0.0
    finished: bool = False
    ack_p99: float = 0.0
    ack_p50: float = 0.0
    lag_p50: float = 0.0
    lag_p99: float = 0.0
    answers: int = 0
    refused: int = 0
    lost: int = 0
    duplicates: int = 0
    nudged: int = 0
    silent: int = 0
    reminder_seconds: float = 0.0
    model_requests: int = 0
    given_up: int = 0
    steps: int = 0  # openings and replies posted in the answering window
    drained: bool = False  # nothing left in the inbox and the outbox after the day
    planned: int = 0
    plan_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    progress: list[str] = field(default_factory=lambda: ["seconds,posts,acknowledged,completed"])
    cpu: dict[str, float] = field(default_factory=dict)  # seconds of the answering phase

    @property
    def rate(self) -> float:
        return self.completed / self.seconds if self.seconds else 0.0

    @property
    def step_rate(self) -> float:
        """Openings and replies posted a second: the work rate, also within a cap."""
        return self.steps / self.seconds if self.seconds else 0.0


class Processes:
    """The web process and the workers, each a child of this file on the shared clock."""

    def __init__(self, stack: ExitStack, workdir: Path, options: list[str]) -> None:
        self.stack, self.workdir, self.options = stack, workdir, options

    def start(self, role: str, name: str, start: datetime, anchor: float) -> Child:
        timeline = ["--start", start.isoformat(), "--anchor", repr(anchor)]
        log = self.workdir / f"{name}.log"
        return self.stack.enter_context(child(__file__, role, log, *self.options, *timeline))


async def answer_phase(
    shape: Shape, posts: Posts, url: str, database_url: str, figures: RunFigures
) -> Members:
    """The members answer what the bot posts until every answering member's session is
    completed or the cap; then the workers finish what is in the inbox and the outbox
    (at most another cap), so that the reminder slot's jump of the clock finds nothing
    half done."""
    from core.store.engine import make_async_engine

    engine = make_async_engine(database_url)
    try:
        return await answering_members(shape, posts, url, engine, figures)
    finally:
        await engine.dispose()


async def answering_members(
    shape: Shape, posts: Posts, url: str, engine: AsyncEngine, figures: RunFigures
) -> Members:
    connector = aiohttp.TCPConnector(limit=200, keepalive_timeout=60)
    timeout = aiohttp.ClientTimeout(total=30)
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        members = Members(shape, http, f"{url}/slack/events")
        next_count = 0.0
        while (elapsed := time.perf_counter() - started) < shape.max_seconds:
            for channel, key in await asyncio.to_thread(posts.new):
                members.on_post(channel, key)
            if elapsed >= next_count:
                figures.completed = await scalar(engine, COMPLETED)
                figures.seconds = elapsed
                figures.steps = posts.steps()
                figures.progress.append(
                    f"{elapsed:.1f},{len(posts.all)},{len(members.acknowledged)},{figures.completed}"
                )
                if figures.completed >= shape.answering:
                    figures.finished = True
                    break
                next_count = elapsed + 1.0
            await asyncio.sleep(POLL)
        if members.tasks:
            await asyncio.gather(*members.tasks)
    figures.drained = await drained(engine, within=shape.max_seconds)
    if not figures.drained:
        async with engine.connect() as db:
            left = (await db.execute(text(LEFT))).all()
        figures.notes.append("left after the day: " + ", ".join(f"{k} {n}" for k, n in left))
    return members


async def drained(engine: AsyncEngine, *, within: float) -> bool:
    """Until no inbox event and no outbox message waits (True), or `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not await scalar(engine, WAITING):
            return True
        await asyncio.sleep(0.5)
    return False


LEFT = """
SELECT 'inbox', count(*) FROM inbound_events WHERE processed_at IS NULL
UNION ALL SELECT 'outbox ' || kind || ' ' || status, count(*) FROM outbox
WHERE status IN ('pending', 'sending') GROUP BY kind, status
"""
WAITING = """
SELECT (SELECT count(*) FROM inbound_events WHERE processed_at IS NULL)
     + (SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending'))
"""


COMPLETED = "SELECT count(*) FROM checkin_sessions WHERE state = 'completed'"


async def scalar(engine: AsyncEngine, query: str) -> int:
    async with engine.connect() as db:
        return int(await db.scalar(text(query)) or 0)


def reminder_phase(shape: Shape, posts: Posts) -> tuple[int, float]:
    """Nudges posted until every silent member has one, nothing new came for a while, or
    the cap; (nudges, seconds)."""
    silent = shape.members - shape.answering
    started = last = time.perf_counter()
    while (now := time.perf_counter()) - started < shape.max_seconds:
        if posts.new():
            last = now
        nudged = sum(1 for _, key in posts.all if key and key.startswith("nudge:"))
        if nudged >= silent or now - last > QUIET_SECONDS:
            break
        time.sleep(0.5)
    nudged = sum(1 for _, key in posts.all if key and key.startswith("nudge:"))
    return nudged, time.perf_counter() - started


def measure_run(server: str, shape: Shape, workers: int, workdir: Path) -> RunFigures:
    figures = RunFigures(workers=workers)
    with scratch(server) as database_url, ExitStack() as stack:
        seed(database_url, shape)
        figures.planned, figures.plan_seconds = asyncio.run(plan_the_day(database_url))
        latency = ["--latency-ms", str(shape.latency * 1000)]
        fakes = stack.enter_context(child(__file__, "fakes", workdir / "fakes.log", *latency))
        urls = fakes.read()
        options = ["--database-url", database_url, "--slack-url", urls["slack"],
                   "--openai-url", urls["openai"]]  # fmt: skip
        if shape.profile is not None:
            shape.profile.mkdir(parents=True, exist_ok=True)
            options += ["--profile", str(shape.profile)]
        started = Processes(stack, workdir / f"{workers}-workers", options)
        started.workdir.mkdir(exist_ok=True)
        anchor = time.time()
        web = started.start("web", "web", DAY_START, anchor)
        day = [started.start("worker", f"worker-{n}", DAY_START, anchor) for n in range(workers)]
        url = web.read()["url"]
        for worker in day:
            worker.read()
        before = cpu_times(database_url, {"web": [web], "fakes": [fakes], "workers": day})
        posts = Posts(fakes)
        members = asyncio.run(answer_phase(shape, posts, url, database_url, figures))
        after = cpu_times(database_url, {"web": [web], "fakes": [fakes], "workers": day})
        figures.cpu = {name: after[name] - before[name] for name in after}
        for worker in day:
            worker.stop()
        if figures.drained:  # else the jump to the slot would give the waiting events up
            remind(started, shape, posts, figures)
        time.sleep(1.0)  # a late (double) send would show
        posts.new()
        figures.model_requests = int(fakes.ask("requests")["requests"])
        asyncio.run(count_outcomes(database_url, members, posts, figures, shape))
    (started.workdir / "progress.csv").write_text("\n".join(figures.progress) + "\n")
    return figures


async def plan_the_day(database_url: str) -> tuple[int, float]:
    """Plan the day's check-ins the evening before, as the workers' planning (or the cron's)
    does in production: workers starting at 08:00 then find the day planned, rather than
    all planning the same 50,000 sessions at once. (sessions, seconds)"""
    from core.planning import plan_sessions
    from core.store.engine import make_async_engine, make_sessionmaker

    engine = make_async_engine(database_url)
    started = time.perf_counter()
    try:
        planned = await plan_sessions(
            sessions=make_sessionmaker(engine), now=DAY_START - timedelta(hours=12),
            grace=timedelta(hours=2),
        )  # fmt: skip
    finally:
        await engine.dispose()
    return planned, time.perf_counter() - started


def remind(started: Processes, shape: Shape, posts: Posts, figures: RunFigures) -> None:
    """The workers again, their clock at the afternoon reminder slot."""
    anchor = time.time()
    workers = figures.workers
    slot = [
        started.start("worker", f"reminders-{n}", REMINDER_SLOT, anchor) for n in range(workers)
    ]
    for worker in slot:
        worker.read()
    figures.nudged, figures.reminder_seconds = reminder_phase(shape, posts)
    for worker in slot:
        worker.stop()


def cpu_times(database_url: str, children: dict[str, list[Child]]) -> dict[str, float]:
    """CPU seconds so far of each group of children, of this process (the members) and of
    the PostgreSQL server (the postmaster, the backends it reaped and the live ones)."""
    times = {name: sum(c.cpu_seconds() or 0.0 for c in group) for name, group in children.items()}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    times["members (client)"] = usage.ru_utime + usage.ru_stime
    times["postgresql"] = postgres_cpu(database_url)
    return times


def postgres_cpu(database_url: str) -> float:
    from core.store.engine import make_sync_engine

    engine = make_sync_engine(database_url)
    try:
        with engine.connect() as db:
            folder = Path(str(db.scalar(text("SHOW data_directory"))))
            backends = list(db.scalars(text("SELECT pid FROM pg_stat_activity")))
    finally:
        engine.dispose()
    postmaster = int((folder / "postmaster.pid").read_text().split()[0])
    return process_cpu(postmaster, children=True) + sum(process_cpu(p) for p in backends)


def process_cpu(pid: int, *, children: bool = False) -> float:
    """User + system seconds of a process (and of its reaped children); 0 when gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = sum(int(f) for f in fields[11 : 15 if children else 13])
    return ticks / os.sysconf("SC_CLK_TCK")


async def count_outcomes(
    database_url: str, members: Members, posts: Posts, figures: RunFigures, shape: Shape
) -> None:
    """Acknowledgement and inbox lag percentiles, duplicates and lost answers."""
    from core.store.engine import make_async_engine
    from core.store.models import InboundEvent, Message

    latencies = [s * 1000 for s in members.latencies]
    figures.ack_p50, figures.ack_p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    figures.answers, figures.refused = len(members.acknowledged), members.refused
    keys = [key for _, key in posts.all if key]
    figures.duplicates = len(keys) - len(set(keys))
    figures.silent = shape.members - shape.answering
    engine = make_async_engine(database_url)
    try:
        async with engine.connect() as db:
            lags = await inbox_lags(db)
            stored = set(await db.scalars(
                select(Message.inbound_event_id).where(Message.inbound_event_id.is_not(None))
            ))  # fmt: skip
            waiting = int(await db.scalar(text(WAITING)) or 0)
            given_up = select(func.count()).where(InboundEvent.given_up.is_(True))
            figures.given_up = int(await db.scalar(given_up) or 0)
    finally:
        await engine.dispose()
    figures.lag_p50, figures.lag_p99 = percentile(lags, 0.5), percentile(lags, 0.99)
    figures.lost = len(members.acknowledged - stored)
    if waiting:
        figures.notes.append(f"{waiting} inbox events and outbox messages still waiting at the end")
    if figures.given_up:
        figures.notes.append(f"{figures.given_up} inbox events given up")


async def inbox_lags(db: Any) -> list[float]:
    """Milliseconds from receipt to processing of the day's events (those processed
    before the clock jumped to the reminder slot), given-up ones aside."""
    from core.store.models import InboundEvent

    rows = await db.execute(
        select(InboundEvent.received_at, InboundEvent.processed_at).where(
            InboundEvent.processed_at < REMINDER_SLOT, InboundEvent.given_up.is_(False)
        )
    )
    return [(done - got).total_seconds() * 1000 for got, done in rows.all()]


# --- databases ----------------------------------------------------------------------------------
@contextmanager
def scratch(server: str) -> Iterator[str]:
    from plan_sessions import scratch_database

    from core.store.migrate import upgrade_to_head

    with scratch_database(server) as url:
        upgrade_to_head(url)
        yield url


# --- the report ---------------------------------------------------------------------------------
def describe(run: RunFigures, shape: Shape) -> list[str]:
    window = "all" if run.finished else f"capped at {shape.max_seconds:g} s:"
    return [
        f"{run.workers} worker{'s' if run.workers > 1 else ''}: {run.rate:7.2f} sessions/s, "
        f"{run.step_rate:.1f} openings and replies/s "
        f"({window} {run.completed}/{shape.answering} answering members' sessions completed "
        f"in {run.seconds:.1f} s; {run.model_requests} model requests)",
        f"  planned the evening before: {run.planned} sessions in {run.plan_seconds:.1f} s",
        f"  acknowledgement p50 {run.ack_p50:.1f} ms, p99 {run.ack_p99:.1f} ms "
        f"({run.answers} answers acknowledged, {run.refused} refused)",
        f"  inbox lag p50 {run.lag_p50:.0f} ms, p99 {run.lag_p99:.0f} ms",
        f"  reminders: {run.nudged}/{run.silent} silent members nudged in "
        f"{run.reminder_seconds:.1f} s"
        if run.drained
        else "  reminders: not run (the inbox and the outbox were not drained within the cap)",
        f"  duplicates {run.duplicates}, lost answers {run.lost}",
        "  CPU ms an opening or reply: " + cpu_shares(run),
        *(f"  note: {note}" for note in run.notes),
    ]


def cpu_shares(run: RunFigures) -> str:
    """Each process group's CPU time of the answering phase per opening or reply posted."""
    if not run.steps:
        return "nothing posted"
    shares = (f"{name} {seconds * 1000 / run.steps:.1f}" for name, seconds in run.cpu.items())
    return ", ".join(shares) + f" (all: {sum(run.cpu.values()) * 1000 / run.steps:.1f})"


def cpu_ceiling(one: RunFigures) -> float:
    """How much faster 2 workers can be than 1 at most, from what each step costs: a worker
    uses at most one core, and all the processes together at most every core."""
    worker = one.cpu["workers"] / one.steps
    everything = sum(one.cpu.values()) / one.steps
    cores = os.cpu_count() or 1
    return min(2 / worker, cores / everything) / min(1 / worker, cores / everything)


def report(shape: Shape, runs: list[RunFigures]) -> bool:
    for run in runs:
        print("\n".join(describe(run, shape)))
    clean = all(not r.duplicates and not r.lost for r in runs)
    print(f"goal no duplicate, no lost answer: {'met' if clean else 'NOT met'}")
    finished = all(r.finished for r in runs)
    rates = {r.workers: r.rate if finished else r.step_rate for r in runs}
    if 1 not in rates or 2 not in rates:
        return clean
    ratio = rates[2] / rates[1] if rates[1] else 0.0
    cores = os.cpu_count()
    shared = "the database, the fakes, the web process, this client and the workers"
    measure = "sessions/s" if finished else "openings and replies/s (a run was capped)"
    print(f"throughput 2 workers / 1 worker in {measure}: {ratio:.2f}x "
          f"(goal ≥ {GOAL_RATIO}; {cores} CPUs shared by {shared})")  # fmt: skip
    one = next(r for r in runs if r.workers == 1)
    if one.steps and one.cpu.get("workers"):
        print(f"ceiling of that ratio when the CPU is the limit: {cpu_ceiling(one):.2f}x "
              "(from the 1-worker run's CPU per opening or reply)")  # fmt: skip
    return clean and ratio >= GOAL_RATIO


def run(shape: Shape, workers: list[int], server_url: str | None, keep: Path | None) -> bool:
    from plan_sessions import postgres_server

    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    print(f"{shape.members} members in {shape.orgs} orgs, {shape.answering} answering 3 turns; "
          f"fakes answering after {shape.latency * 1000:g} ms; PostgreSQL; "
          f"{os.cpu_count()} CPUs, load average {load}", flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="vizdots-day-") as tmp:
        workdir = keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        results = []
        with postgres_server(server_url or os.environ.get("TEST_DATABASE_URL")) as server:
            for count in workers:
                load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
                print(f"the day with {count} worker{'s' if count > 1 else ''} (load average "
                      f"{load})…", flush=True)  # fmt: skip
                results.append(measure_run(server, shape, count, workdir))
        return report(shape, results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--orgs", type=int, default=100)
    parser.add_argument("--workers", default="1,2", help="worker processes of each run")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="cap of each phase")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="the fakes' answer time")
    parser.add_argument("--database-url", help="a PostgreSQL server (admin URL)")
    parser.add_argument("--keep", type=Path, help="keep the processes' logs in DIR")
    parser.add_argument("--profile", type=Path, help="write each worker's cProfile stats to DIR")
    parser.add_argument("--role", choices=["fakes", "web", "worker"], help=argparse.SUPPRESS)
    parser.add_argument("--slack-url", help=argparse.SUPPRESS)
    parser.add_argument("--openai-url", help=argparse.SUPPRESS)
    parser.add_argument("--start", help=argparse.SUPPRESS)
    parser.add_argument("--anchor", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        logging.basicConfig(level=logging.WARNING)
    if args.role == "fakes":
        run_fakes(args.latency_ms / 1000)
    elif args.role == "web":
        asyncio.run(serve_web(args))
    elif args.role == "worker":
        asyncio.run(work(args))
    else:
        if args.members < args.orgs or args.orgs < 1:
            parser.error("--members must be at least --orgs, and --orgs at least 1")
        workers = [int(n) for n in args.workers.split(",")]
        shape = Shape(
            args.members, args.orgs, args.max_seconds, args.latency_ms / 1000, args.profile
        )
        sys.exit(0 if run(shape, workers, args.database_url, args.keep) else 1)


if __name__ == "__main__":
    main()
