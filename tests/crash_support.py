"""Crash tests' helpers: `vizdots` in real subprocesses that a test SIGKILLs, a Slack
workspace seeded through the product's own code, and bounded waits.

Each subprocess runs this checkout's code (PYTHONPATH is set to it) as
`python -c "from bot.cli import app; app()" …`, in the test's temporary directory (so no
`.env` is read), with its output in a log file that a failing test shows. The clock is
never the real one: every command gets `--now` (a worker's clock starts there and runs on).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.bootstrap import Services, build_services
from bot.settings import load_settings
from core.domain import Provider
from core.inbound import IncomingMessage, Sender
from core.store.models import CheckinSession, InboundEvent, Member, Message, OutboxMessage
from tests.fakes.clock import FakeClock
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.slack_api import TEST_TOKEN, Call, FakeSlackApi, Posted
from tests.fakes.world import add_due_session

ROOT = Path(__file__).resolve().parents[1]
SECRET = "crash-signing-secret"
#: A Monday 09:00 UTC: Ana's (UTC) daily check-in is due then.
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
#: How long a claim may go silent before another worker takes it over (CLAIM_TIMEOUT_SECONDS).
CLAIM_TIMEOUT_SECONDS = 60
ANA, ANA_EMAIL = "U1", "ana@crash.test"
ANA_DM = "D1"


def iso(instant: datetime) -> str:
    return instant.isoformat()


# --- the environment of a `vizdots` process -----------------------------------------------------
def vizdots_env(
    db_url: str, slack: FakeSlackApi, model: FakeOpenAIServer | None = None, **extra: str
) -> dict[str, str]:
    """Single-workspace Slack against the fake; the OpenAI brain against `model`, if any."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SLACK_"))}
    env |= {
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": db_url,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_BOT_TOKEN": TEST_TOKEN,
        "SLACK_API_URL": slack.base_url,
        "CLAIM_TIMEOUT_SECONDS": str(CLAIM_TIMEOUT_SECONDS),
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    if model is not None:
        env |= {
            "OPENAI_API_KEY": "sk-crash-test",
            "OPENAI_BASE_URL": model.base_url,
            # a hung call is killed, never timed out; and shorter than the claim (settings check)
            "OPENAI_TIMEOUT_SECONDS": "50",
            "OPENAI_MAX_RETRIES": "0",
        }
    return env | extra


# --- processes ----------------------------------------------------------------------------------
@dataclass
class Vizdots:
    """One `vizdots …` subprocess; its stdout and stderr go to `log`."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: no handler, no cleanup, no last words."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self, tail: int = 4000) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} (exit {self.process.poll()}) ---\n{text[-tail:]}"


@dataclass
class Processes:
    """Every process a test started: killed at its end, their logs shown on a failure."""

    workdir: Path
    env: dict[str, str]
    started: list[Vizdots] = field(default_factory=list)

    def start(self, name: str, *args: str) -> Vizdots:
        log = self.workdir / f"{name}.log"
        command = [sys.executable, "-c", "from bot.cli import app; app()", *args]
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, cwd=self.workdir, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        started = Vizdots(name, process, log)
        self.started.append(started)
        return started

    def worker(self, name: str, *, now: datetime) -> Vizdots:
        return self.start(name, "worker", "--now", iso(now))

    def run(self, name: str, *args: str, within: float = 30.0) -> Vizdots:
        """Run a command to its end (a non-zero exit fails the test)."""
        done = self.start(name, *args)
        done.process.wait(timeout=within)
        assert done.process.returncode == 0, self.logs()
        return done

    def logs(self) -> str:
        return "\n".join(p.output() for p in self.started)

    def kill_all(self) -> None:
        for process in self.started:
            process.kill()


@contextmanager
def processes(workdir: Path, env: dict[str, str]) -> Iterator[Processes]:
    started = Processes(workdir, env)
    try:
        yield started
    finally:
        started.kill_all()


def kill_on_first(
    slack: FakeSlackApi,
    method: str,
    victim: Callable[[], Vizdots],
    *,
    when: Callable[[Call], bool] = lambda call: True,
) -> list[Call]:
    """SIGKILL `victim()` when Slack has taken its first successful `method` call that
    matches `when` (the message is in the workspace), before the answer leaves: the caller
    never learns it was sent. Returns the list the killing call is appended to."""
    killed: list[Call] = []

    def hook(call: Call) -> None:
        if killed or not call.ok or not when(call):
            return
        killed.append(call)
        victim().kill()

    slack.on_call(method, hook)
    return killed


# --- waiting ------------------------------------------------------------------------------------
async def wait_for(
    check: Callable[[], Awaitable[bool]], *, within: float, what: str, logs: Callable[[], str]
) -> None:
    """Poll `check` until it holds; after `within` seconds fail, saying `what` and the logs."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {within:g} s: {what}\n{logs()}")
        await asyncio.sleep(0.05)


# --- the world: one workspace, Ana with a check-in due at T0 ------------------------------------
def slack_workspace(slack: FakeSlackApi) -> None:
    """Ana alone (no owner: no welcome DM, no other check-in to send)."""
    slack.add_user(ANA, "Ana Answer", ANA_EMAIL)


def seed_services(db_url: str, slack: FakeSlackApi, model: FakeOpenAIServer | None) -> Services:
    """Services as the subprocesses build them, in this process, on a clock stopped at T0."""
    settings = load_settings(
        database_url=db_url,
        slack_signing_secret=SECRET,
        slack_bot_token=TEST_TOKEN,
        slack_api_url=slack.base_url,
        **(
            {"openai_api_key": "sk-crash-test", "openai_base_url": model.base_url}
            if model is not None
            else {}
        ),
    )
    return build_services(settings, clock=FakeClock(T0), loop_interval=None, dev_chat=False)


async def seed_due_checkin(services: Services) -> int:
    """Install the workspace (members synced) and give Ana a daily check-in due at T0."""
    assert services.slack is not None
    await services.slack.install_single_workspace()
    return await add_due_session(services.sessions, ANA_EMAIL, due=T0)


async def answer(services: Services, text: str, *, event_id: str, ts: str) -> None:
    """Ana's DM as the Slack adapter hands it over: stored in the durable inbox."""
    sender = Sender(Provider.SLACK, "T0TEST", ANA)
    message = IncomingMessage(sender=sender, text=text, event_id=event_id, message_id=f"D1:{ts}")
    assert await services.inbox.accept(message)


# --- what happened ------------------------------------------------------------------------------
@dataclass
class Look:
    """Reads of the database and the fake workspace, for waits and assertions."""

    sessions: async_sessionmaker[AsyncSession]
    slack: FakeSlackApi

    def dms(self) -> list[Posted]:
        return self.slack.messages_in(ANA_DM)

    async def ana(self) -> Member:
        async with self.sessions() as db:
            member = await db.scalar(select(Member).where(Member.slack_user_id == ANA))
        assert member is not None
        return member

    async def session(self, session_id: int) -> CheckinSession:
        async with self.sessions() as db:
            return await db.get_one(CheckinSession, session_id)

    async def messages(self, session_id: int, **where: Any) -> list[Message]:
        async with self.sessions() as db:
            query = select(Message).where(Message.session_id == session_id).filter_by(**where)
            return list(await db.scalars(query.order_by(Message.id)))

    async def turns_of_event(self, event_id: str) -> int:
        async with self.sessions() as db:
            query = select(func.count()).where(Message.inbound_event_id == event_id)
            return int(await db.scalar(query) or 0)

    async def event(self, event_id: str) -> InboundEvent:
        async with self.sessions() as db:
            row = await db.scalar(select(InboundEvent).where(InboundEvent.event_id == event_id))
        assert row is not None
        return row

    async def outbox(self, session_id: int, kind: str) -> list[OutboxMessage]:
        async with self.sessions() as db:
            query = select(OutboxMessage).where(
                OutboxMessage.session_id == session_id, OutboxMessage.kind == kind
            )
            return list(await db.scalars(query.order_by(OutboxMessage.id)))

    async def unsent(self) -> int:
        """Outbox rows still to send (pending, or claimed and sending)."""
        async with self.sessions() as db:
            query = select(func.count()).where(OutboxMessage.status.in_(("pending", "sending")))
            return int(await db.scalar(query) or 0)
