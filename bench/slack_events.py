"""Acknowledgement latency of /slack/events for DM message events while the brain is slow.

    python bench/slack_events.py [--rate 200] [--seconds 10] [--brain-seconds 2]
                                 [--database sqlite|postgresql] [--keep DIR]

Three apps take the same stream of signed DM `message` events, one after the other in
one run, each served by uvicorn on loopback through Bolt's FastAPI adapter:
  * the bare baseline: a minimal Bolt AsyncApp (same signing secret, token and fake Web
    API) whose `message` listener does nothing (Bolt acknowledges first);
  * the storing baseline: the same minimal app with `process_before_response=True`
    whose listener commits one INSERT per DM event into the same database before Bolt
    acknowledges — the least any app that stores before acknowledging can do;
  * VizDots as bot/bootstrap.py builds it: SQLite (a migrated file in a temp dir; or
    PostgreSQL, a throwaway cluster from the local binaries), Slack with a
    single-workspace token against tests/fakes/slack_api.py, and the OpenAI brain against
    tests/fakes/openai_server.py, which sleeps `--brain-seconds` on every request.
    As in production, the web process (`vizdots serve --no-loop --no-inbox`) only stores
    each event in the inbox, committed before the acknowledgement; a worker process
    (`vizdots worker --no-plan`, under `nice -n 10` so that acknowledgements win the
    CPU) takes the turns.
The workspace's members are synced by the app's own start-up install. Every member has
an open daily check-in and answers it in words, at most four times and `members / rate`
seconds apart (longer than a brain call): a mood with words (an acknowledgement call),
two vague focus answers (follow-up turn calls), then one more (an acknowledgement). So
every event should cost one model call; the share that did is counted from the words
the fake model was sent (each event's text carries a mark).
Sends are open loop (a fixed schedule, never waiting for responses) over keep-alive
connections, after a second of ignored channel messages to warm both apps up. Each
latency runs from the request's scheduled time to its response, so a late send counts.
Goals: VizDots' p99 within 1.2x of the storing baseline's and under 100 ms; exit 1
otherwise (the ratio to the bare baseline is printed too).

Processes: the load generator is one asyncio loop in this process; each app under test
runs in its own subprocess (VizDots' worker in another) and both fakes in a third. In
one loop the server's work would delay the client's sends and reads and be charged
twice, and the fakes' threads (hundreds of sleeping model requests) would take the GIL
from the app, which real Slack and OpenAI, being remote, never do. With 2 cores the
processes still share the CPU: the load average is printed, and each server's CPU time
per event (Linux /proc) shows what it spent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
import processes
from fastapi import Request, Response  # here: FastAPI reads route annotations from globals
from processes import Child, announce, percentile, stdin_closed
from slack_sdk.signature import SignatureVerifier

SECRET = "bench-signing-secret"
TEAM_ID = "T0TEST"  # FakeSlackApi's workspace
GOAL_RATIO = 1.2  # of the storing baseline's p99
GOAL_P99_MS = 100.0
WARMUP_SECONDS = 1.0
LATE_CLIENT_MS = 10.0
WORKER_NICE = 10  # the worker yields the CPU to the web process: acknowledgements first
DRAIN_QUIET, DRAIN_AT_MOST = 2.5, 10.0  # seconds without a new model request; the cap
TAG = re.compile(r"\bzq[a-z]{4}\b")  # an event's mark in its text; no English word matches
ANSWERS = (
    "4, feeling rested and ready",  # mood with words: an acknowledgement call
    "the release notes",  # focus, vague (< 6 words): the fake model asks a follow-up
    "mostly the docs",  # still vague: the second and last follow-up
    "and some code review",  # no follow-ups left, not a bare value: an acknowledgement
)
Signed = list[tuple[bytes, dict[str, str]]]


# --- the stream of events -----------------------------------------------------------------------
@dataclass(frozen=True)
class Shape:
    rate: float
    seconds: float
    brain_seconds: float

    @property
    def events(self) -> int:
        return round(self.rate * self.seconds)

    @property
    def members(self) -> int:
        """Enough that each has at most `len(ANSWERS)` events, over a brain call apart."""
        apart = math.ceil(self.rate * (self.brain_seconds + 0.5))
        return max(math.ceil(self.events / len(ANSWERS)), apart)

    def options(self) -> list[str]:
        return ["--rate", str(self.rate), "--seconds", str(self.seconds),
                "--brain-seconds", str(self.brain_seconds)]  # fmt: skip


def user_of(member: int) -> str:
    return f"U{member:05d}"


def tag(index: int) -> str:
    letters = ""
    for _ in range(4):
        index, digit = divmod(index, 26)
        letters += chr(ord("a") + digit)
    return "zq" + letters


def dm_event(shape: Shape, index: int) -> dict[str, Any]:
    """Event `index`: member index % members gives its (index // members)-th answer."""
    member, turn = index % shape.members, index // shape.members
    user = user_of(member)
    return {
        "type": "message", "channel_type": "im", "channel": "D" + user.removeprefix("U"),
        "user": user, "text": f"{ANSWERS[turn]} {tag(index)}",
        "ts": f"{1_800_000_000 + index}.000100",
    }  # fmt: skip


def channel_event(index: int) -> dict[str, Any]:
    """A message in a public channel: both apps' listeners ignore it (the warm-up)."""
    return {"type": "message", "channel_type": "channel", "channel": "C0GENERAL",
            "user": user_of(0), "text": "warming up", "ts": f"1700000000.{index:06d}"}  # fmt: skip


def signed(events: Sequence[dict[str, Any]], prefix: str) -> Signed:
    """Request bodies and headers as Slack sends them, signed now (valid for 5 minutes)."""
    verifier, now = SignatureVerifier(SECRET), str(int(time.time()))
    requests = []
    for n, event in enumerate(events):
        body = json.dumps({
            "type": "event_callback", "team_id": TEAM_ID, "api_app_id": "A0TEST", "event": event,
            "event_id": f"Ev{prefix}{n:06d}", "event_time": int(now),
        })  # fmt: skip
        signature = verifier.generate_signature(timestamp=now, body=body) or ""
        headers = {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": now,
            "X-Slack-Signature": signature,
        }
        requests.append((body.encode(), headers))
    return requests


# --- the open-loop load generator ---------------------------------------------------------------
@dataclass(frozen=True)
class Result:
    latency: float  # from the scheduled send to the response, seconds
    lag: float  # how late the client actually sent
    status: int  # 0: no response


async def fire(
    http: aiohttp.ClientSession, url: str, requests: Signed, rate: float
) -> list[Result]:
    """Send at fixed intervals whatever the responses do."""
    loop = asyncio.get_running_loop()
    start, tasks = loop.time() + 0.05, []
    for n, (body, headers) in enumerate(requests):
        due = start + n / rate
        if (wait := due - loop.time()) > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one(http, url, body, headers, due)))
    return await asyncio.gather(*tasks)


async def one(
    http: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str], due: float
) -> Result:
    loop = asyncio.get_running_loop()
    sent = loop.time()
    try:
        async with http.post(url, data=body, headers=headers) as response:
            await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError):
        status = 0
    return Result(latency=loop.time() - due, lag=sent - due, status=status)


async def warm_then_measure(url: str, shape: Shape, measuring: Callable[[], None]) -> list[Result]:
    """A second of ignored channel messages (connections, auth.test), then the DM events."""
    # aiohttp rather than httpx: about a third of the client CPU per request, and CPU is
    # short here. Keep-alive connections, as many as the responses need.
    connector = aiohttp.TCPConnector(limit=1000, keepalive_timeout=60)
    timeout = aiohttp.ClientTimeout(total=15)
    events = signed([dm_event(shape, n) for n in range(shape.events)], "Dm")
    warm = signed([channel_event(n) for n in range(int(shape.rate * WARMUP_SECONDS))], "Warm")
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        await fire(http, url, warm, shape.rate)
        await asyncio.sleep(0.5)
        measuring()
        return await fire(http, url, events, shape.rate)


# --- figures ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Figures:
    p50: float
    p99: float
    failed: dict[int, int]  # status (0: none) -> count, for all but 200
    lag_p99: float
    cpu_ms: float | None  # the server's CPU time per event


def figures(results: Sequence[Result], cpu: float | None) -> Figures:
    latencies = [r.latency * 1000 for r in results]
    return Figures(
        p50=percentile(latencies, 0.50),
        p99=percentile(latencies, 0.99),
        failed=dict(Counter(r.status for r in results if r.status != 200)),
        lag_p99=percentile([r.lag * 1000 for r in results], 0.99),
        cpu_ms=None if cpu is None else cpu * 1000 / len(results),
    )


# --- subprocesses ---------------------------------------------------------------------------
def child(role: str, log: Path, *options: str, nice: int = 0) -> AbstractContextManager[Child]:
    """This file run with --role (bench/processes.py)."""
    return processes.child(__file__, role, log, *options, nice=nice)


# --- role: the fakes ----------------------------------------------------------------------------
def run_fakes(shape: Shape) -> None:
    """The Slack workspace (one user per member) and the slow model, until stdin closes."""
    from tests.fakes.openai_server import FakeOpenAIServer
    from tests.fakes.slack_api import FakeSlackApi

    slack = FakeSlackApi(team_id=TEAM_ID, page_size=200)
    for member in range(shape.members):
        slack.add_user(user_of(member), f"Member {member}", f"m{member}@bench.test")
    model = FakeOpenAIServer()
    model.delay_next(10 * shape.events, seconds=shape.brain_seconds)
    with slack, model:
        announce({"slack": slack.base_url, "openai": model.base_url})
        for line in sys.stdin:
            if line.strip() == "report":
                announce({"requests": len(model.requests), "tags": brain_tags(model.requests)})


def brain_tags(bodies: Sequence[dict[str, Any]]) -> list[str]:
    """The events whose words were the latest member words of a model request."""
    found = set()
    for body in bodies:
        text = "\n".join(str(m.get("content") or "") for m in body.get("messages", []))
        if lines := re.findall(r"(?m)^Member: (.*)$", text):
            found.update(TAG.findall(lines[-1]))
    return sorted(found)


# --- role: the apps under test ------------------------------------------------------------------
async def serve_minimal(slack_url: str, database_url: str | None) -> None:
    """The bare baseline; with `database_url`, the storing one."""
    from fastapi import FastAPI
    from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    from tests.fakes.http_server import serving
    from tests.fakes.slack_api import TEST_TOKEN

    store = await baseline_store(database_url) if database_url else None
    bolt = AsyncApp(
        signing_secret=SECRET,
        client=AsyncWebClient(token=TEST_TOKEN, base_url=slack_url),
        process_before_response=store is not None,
    )

    @bolt.event("message")
    async def store_or_ignore(body: dict[str, Any], event: dict[str, Any]) -> None:
        """Bare: Bolt has acknowledged already. Storing: one INSERT, then the ack."""
        if store is not None and event.get("channel_type") == "im":
            await store(body)

    handler = AsyncSlackRequestHandler(bolt)
    api = FastAPI()

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    api.add_api_route("/slack/events", events, methods=["POST"])
    async with serving(api) as url:
        announce({"url": url})
        await stdin_closed()


async def baseline_store(database_url: str) -> Callable[[dict[str, Any]], Awaitable[None]]:
    """One committed INSERT per event into a table of its own in the same database."""
    from sqlalchemy import Column, MetaData, String, Table, Text, insert

    from core.store.engine import make_async_engine

    engine = make_async_engine(database_url)
    table = Table(
        "bench_baseline_events", MetaData(), Column("event_id", String(64), primary_key=True),
        Column("user_id", String(64)), Column("text", Text),
    )  # fmt: skip
    async with engine.begin() as connection:
        await connection.run_sync(table.metadata.create_all)
    statement = insert(table)

    async def store(body: dict[str, Any]) -> None:
        event = body["event"]
        row = {
            "event_id": body["event_id"],
            "user_id": event.get("user"),
            "text": event.get("text"),
        }
        async with engine.begin() as connection:
            await connection.execute(statement, row)

    return store


def bench_services(
    database_url: str, slack_url: str, openai_url: str, accept_window: float = 0.02
) -> Any:
    """Services as `vizdots serve --no-loop --no-inbox` and `vizdots worker --no-plan`
    build them: the web process only stores events, the worker takes the turns."""
    from bot.bootstrap import build_services
    from bot.settings import load_settings
    from tests.fakes.slack_api import TEST_TOKEN

    settings = load_settings(
        database_url=database_url,
        slack_signing_secret=SECRET,
        slack_bot_token=TEST_TOKEN,
        slack_api_url=slack_url,
        openai_api_key="sk-bench",
        openai_base_url=openai_url,
    )
    return build_services(
        settings, loop_interval=None, inbox_in_process=False, accept_window=accept_window
    )


async def serve_vizdots(
    shape: Shape, database_url: str, slack_url: str, openai_url: str, accept_window: float
) -> None:
    from bot.app import create_app
    from tests.fakes.http_server import serving

    services = bench_services(database_url, slack_url, openai_url, accept_window)
    async with serving(create_app(services)) as url:
        started = time.perf_counter()
        opened = await open_checkins(services, members=shape.members)
        announce({"url": url, "opened": opened, "setup": time.perf_counter() - started})
        await stdin_closed()


async def run_worker(database_url: str, slack_url: str, openai_url: str) -> None:
    """`vizdots worker --no-plan`: the inbox's turns, until stdin closes."""
    from contextlib import suppress

    from bot.worker import drain_forever

    services = bench_services(database_url, slack_url, openai_url)
    draining = asyncio.create_task(drain_forever(services))
    announce({"worker": os.getpid()})
    try:
        await stdin_closed()
    finally:
        draining.cancel()
        with suppress(asyncio.CancelledError):
            await draining
        await services.close()


async def synced_members(services: Any, *, members: int, within: float = 30.0) -> list[int]:
    """Member ids once the app's start-up install has synced them all."""
    from sqlalchemy import select

    from core.store.models import Member

    deadline = time.monotonic() + within
    while True:
        async with services.sessions() as db:
            ids = list(await db.scalars(select(Member.id).order_by(Member.id)))
        if len(ids) >= members or time.monotonic() > deadline:
            return ids
        await asyncio.sleep(0.05)


async def open_checkins(services: Any, *, members: int) -> int:
    """The first member's check-in through Delivery.start_now, the others copies of it.

    start_now costs about 40 ms of CPU a member (opening, Slack DM, records): 20 s for
    500. Copying its session and opening message per member, and storing each member's
    DM channel as delivery would have, leaves the database as 500 start_nows would (but
    for the greeting's name and the opening's Slack ts, which no text turn reads).
    """
    from sqlalchemy import func, literal, select, update

    from core.store.models import CheckinSession, Member, Message

    first, *others = await synced_members(services, members=members)
    started = await services.delivery.start_now(member_id=first)
    async with services.sessions.begin() as db:
        session = await db.get_one(CheckinSession, started.session_id)
        opening = await db.scalar(select(Message).where(Message.session_id == session.id))
        copies = [CheckinSession(**columns(session, member_id=m)) for m in others]
        db.add_all(copies)
        await db.flush()
        db.add_all(Message(**columns(opening, session_id=c.id)) for c in copies)
        dm_channel = literal("D") + func.substr(Member.slack_user_id, 2)
        await db.execute(update(Member).values(slack_dm_channel_id=dm_channel))
    return 1 + len(copies)


def columns(row: Any, **changes: Any) -> dict[str, Any]:
    """A row's column values without its id and creation time, with `changes`."""
    skip = {"id", "created_at", "channel_message_id"}
    names = [c.key for c in row.__table__.columns if c.key not in skip]
    return {name: getattr(row, name) for name in names} | changes


# --- the run ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BrainReport:
    requests: int
    waited: float
    events_reaching: int
    log: list[str]


def drained(fakes: Child) -> dict[str, Any]:
    """The model's report once no new request has come for DRAIN_QUIET seconds (at most
    DRAIN_AT_MOST), with `waited`: the seconds since the last response."""
    started = time.monotonic()
    report, changed = fakes.ask("report"), started
    while time.monotonic() < started + DRAIN_AT_MOST and time.monotonic() - changed < DRAIN_QUIET:
        time.sleep(0.25)
        fresh = fakes.ask("report")
        if fresh["requests"] != report["requests"]:
            report, changed = fresh, time.monotonic()
    return report | {"waited": time.monotonic() - started}


def log_problems(log: Path) -> list[str]:
    """The commonest warnings and exceptions in a server's log."""
    lines = log.read_text().splitlines()
    wanted = re.compile(r"WARNING|ERROR|^[\w.]+(Error|Exception)\b")
    found = Counter(line[:160] for line in lines if wanted.search(line))
    return [f"{count}x {line}" for line, count in found.most_common(5)]


def measure(app: Child, url: str, shape: Shape) -> tuple[list[Result], float | None]:
    """The results, and the server's CPU seconds when the measured sends began."""
    marks: list[float | None] = []
    results = asyncio.run(
        warm_then_measure(f"{url}/slack/events", shape, lambda: marks.append(app.cpu_seconds()))
    )
    return results, marks[0]


def cpu_since(app: Child, mark: float | None) -> float | None:
    now = app.cpu_seconds()
    return None if now is None or mark is None else now - mark


def measure_minimal(
    shape: Shape, workdir: Path, slack_url: str, database_url: str | None = None
) -> Figures:
    name, options = "minimal", ["--slack-url", slack_url]
    if database_url is not None:
        name, options = "minimal-storing", [*options, "--database-url", database_url]
    with child("minimal", workdir / f"{name}.log", *options) as app:
        results, mark = measure(app, app.read()["url"], shape)
        return figures(results, cpu_since(app, mark))


def measure_vizdots(
    shape: Shape,
    workdir: Path,
    database: str,
    fakes: Child,
    urls: dict[str, Any],
    window_ms: float,
    with_worker: bool = True,
) -> tuple[Figures, BrainReport, float | None]:
    from core.store.migrate import upgrade_to_head

    upgrade_to_head(database)
    options = ["--database-url", database, "--slack-url", urls["slack"],
               "--openai-url", urls["openai"], *shape.options()]  # fmt: skip
    window = ["--accept-window-ms", str(window_ms)]
    log, worker_log = workdir / "vizdots.log", workdir / "worker.log"
    with child("vizdots", log, *options, *window) as app:
        ready = app.read()
        print(f"VizDots ready: {ready['opened']} check-ins open (set up in {ready['setup']:.1f} s)")
        taking_turns = child("worker", worker_log, *options, nice=WORKER_NICE)
        with taking_turns if with_worker else nullcontext() as worker:
            if worker is not None:
                worker.read()
            worker_mark = worker.cpu_seconds() if worker is not None else None
            results, mark = measure(app, ready["url"], shape)
            lines = (f"{n / shape.rate:.3f},{r.latency * 1000:.1f}" for n, r in enumerate(results))
            (workdir / "latencies.csv").write_text("sent_s,latency_ms\n" + "\n".join(lines))
            report = drained(fakes)  # the turns still running after the load
            cpu = cpu_since(app, mark)
            worker_cpu = cpu_since(worker, worker_mark) if worker is not None else None
    reaching = set(report["tags"]) & {tag(n) for n in range(shape.events)}
    problems = log_problems(log) + (log_problems(worker_log) if with_worker else [])
    brain = BrainReport(report["requests"], report["waited"], len(reaching), problems)
    worker_ms = None if worker_cpu is None else worker_cpu * 1000 / shape.events
    return figures(results, cpu), brain, worker_ms


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'vizdots.db'}"
        return
    from tests.postgres import find_bindir, throwaway_cluster

    bindir = find_bindir()
    if bindir is None:
        sys.exit("--database postgresql needs the PostgreSQL binaries (initdb, pg_ctl)")
    with throwaway_cluster(bindir) as url:
        yield url


def report(
    shape: Shape,
    bases: tuple[Figures, Figures],
    ours: Figures,
    brain: BrainReport,
    worker_ms: float | None,
) -> bool:
    bare, storing = bases
    rows = (("minimal Bolt app", bare), ("minimal storing app", storing), ("VizDots", ours))
    for name, found in rows:
        print(f"{name:<20} p50: {found.p50:6.1f} ms   p99: {found.p99:6.1f} ms")
    ratio = ours.p99 / storing.p99
    print(f"p99 ratio VizDots / minimal storing app: {ratio:.2f}x")
    print(f"p99 ratio VizDots / minimal Bolt app: {ours.p99 / bare.p99:.2f}x")
    failed = ", ".join(f"{name} {found.failed or 0}" for name, found in rows)
    print(f"not acknowledged with 200: {failed}")
    lags = ", ".join(f"{name} {found.lag_p99:.1f} ms" for name, found in rows)
    print(f"client send lag p99: {lags}")
    if max(found.lag_p99 for _name, found in rows) > LATE_CLIENT_MS:
        print("note: the client itself sent late, so the CPU was short: figures are noisy")
    if all(found.cpu_ms is not None for _name, found in rows):
        cpu = ", ".join(f"{name} {found.cpu_ms:.1f} ms" for name, found in rows)
        print(f"server CPU per event: {cpu}")
    if worker_ms is not None:
        print(f"worker CPU per event (the turns, nice {WORKER_NICE}): {worker_ms:.1f} ms")
    print(f"events whose words reached the {shape.brain_seconds:g} s brain "
          f"by {brain.waited:.0f} s after the load: "
          f"{brain.events_reaching}/{shape.events} ({brain.events_reaching / shape.events:.0%}); "
          f"model requests: {brain.requests}")  # fmt: skip
    for line in brain.log:
        print(f"VizDots log: {line}")
    within_ratio = ratio <= GOAL_RATIO and not ours.failed
    under = ours.p99 < GOAL_P99_MS and not ours.failed
    print(f"goal p99 within {GOAL_RATIO}x of the minimal storing app: "
          f"{'met' if within_ratio else 'NOT met'}")  # fmt: skip
    print(f"goal p99 under {GOAL_P99_MS:.0f} ms: {'met' if under else 'NOT met'}")
    return within_ratio and under


def run(shape: Shape, kind: str, keep: Path | None, window: float, with_worker: bool) -> bool:
    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    name = "SQLite" if kind == "sqlite" else "PostgreSQL"
    batching = (
        "one INSERT an event"
        if window < 0
        else f"inbox group commit, waiting {window:g} ms for company"
        if window
        else "inbox group commit"
    )
    print(f"{shape.events} DM events at {shape.rate:g}/s from {shape.members} members per app; "
          f"database: {name}; brain: fake OpenAI, {shape.brain_seconds:g} s a call; "
          f"{os.cpu_count()} CPUs, load average {load}; {batching}"
          f"{'' if with_worker else '; VizDots without a worker'}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="vizdots-bench-") as tmp:
        workdir = keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        with (
            child("fakes", workdir / "fakes.log", *shape.options()) as fakes,
            database(kind, workdir) as url,
        ):
            urls = fakes.read()
            bare = measure_minimal(shape, workdir, urls["slack"])
            storing = measure_minimal(shape, workdir, urls["slack"], url)
            ours, brain, worker_ms = measure_vizdots(
                shape, workdir, url, fakes, urls, window, with_worker
            )
    return report(shape, (bare, storing), ours, brain, worker_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="events a second")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each load")
    parser.add_argument("--brain-seconds", type=float, default=2.0, help="each model call")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--accept-window-ms", type=float, default=0.0,
        help="0: group commit (an INSERT at once, events arriving meanwhile share the next);"
        " > 0: also wait this many ms for company; -1: one INSERT per event",
    )  # fmt: skip
    parser.add_argument("--keep", type=Path, help="keep the logs (and SQLite file) in DIR")
    parser.add_argument(
        "--no-worker", action="store_true",
        help="VizDots' web process alone (the turns wait in the inbox): the cost of storing"
        " before acknowledging, without a worker sharing the CPU and the database",
    )  # fmt: skip
    roles = ["fakes", "minimal", "vizdots", "worker"]
    parser.add_argument("--role", choices=roles, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--slack-url", help=argparse.SUPPRESS)
    parser.add_argument("--openai-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    shape = Shape(rate=args.rate, seconds=args.seconds, brain_seconds=args.brain_seconds)
    if args.role == "fakes":
        run_fakes(shape)
    elif args.role == "minimal":
        asyncio.run(serve_minimal(args.slack_url, args.database_url))
    elif args.role == "vizdots":
        window = None if args.accept_window_ms < 0 else args.accept_window_ms / 1000
        urls = (args.database_url, args.slack_url, args.openai_url)
        asyncio.run(serve_vizdots(shape, *urls, accept_window=window))
    elif args.role == "worker":
        asyncio.run(run_worker(args.database_url, args.slack_url, args.openai_url))
    else:
        ok = run(shape, args.database, args.keep, args.accept_window_ms, not args.no_worker)
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
