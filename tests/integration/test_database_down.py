"""Background loops while the database goes away and comes back: `keep_going` in
process, then `vizdots serve` against a PostgreSQL database taken from under it.

The database is taken away from under a running `serve` (every connection to it ended,
new ones refused: ALTER DATABASE … ALLOW_CONNECTIONS false) and given back. Meanwhile the
background loops (inbox, outbox, purge, planning) back off quietly: one log line when the
database goes, one when it is back, never a traceback a try; /readyz answers 503 saying
why (with no password), then 200 again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.bootstrap import build_services
from bot.settings import load_settings
from bot.worker import keep_going
from core.backoff import Backoff
from core.store.engine import make_sync_engine
from tests.conftest import _fresh_database
from tests.fakes.http_server import free_port

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "pa55-w0rd-never-shown"
DOWN, BACK = "database unreachable: OperationalError", "database reachable again"


# --- in process: what a failing round logs ------------------------------------------------------
QUICK = Backoff(first=timedelta(milliseconds=10), cap=timedelta(milliseconds=40))


async def failing_rounds(db_url: str, caplog: pytest.LogCaptureFixture) -> int:
    """Run a loop whose every round fails for half a second; how many rounds were tried."""
    services = build_services(load_settings(database_url=db_url), loop_interval=None)
    tried = 0

    async def round_() -> float:
        nonlocal tried
        tried += 1
        async with services.sessions() as db:
            await db.execute(text("SELECT * FROM no_such_table"))
        return 0.0

    caplog.set_level(logging.INFO)
    try:
        await asyncio.wait_for(keep_going(services, "test round", round_, retry=QUICK), 0.5)
    except TimeoutError:
        pass
    finally:
        await services.engine.dispose()
    return tried


async def test_a_bug_is_logged_with_its_traceback_at_each_backed_off_try(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tried = await failing_rounds(f"sqlite:///{tmp_path}/up.db", caplog)
    failures = [r for r in caplog.records if r.getMessage() == "test round failed"]
    assert 3 <= tried <= 60  # 10 ms doubling to 40 ms, not a spin
    assert len(failures) in (tried, tried - 1)  # the last round may be cut off mid-query
    assert all(record.exc_info for record in failures)
    assert not any("unreachable" in r.getMessage() for r in caplog.records)


async def test_an_unreachable_database_is_one_line_however_many_tries(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tried = await failing_rounds(f"postgresql://vizdots:{PASSWORD}@127.0.0.1:1/x", caplog)
    assert tried == 1  # then only probes, until the database answers
    [line] = [r.getMessage() for r in caplog.records]
    assert line.startswith("database unreachable: OperationalError: ") and PASSWORD not in line


# --- `vizdots serve` ----------------------------------------------------------------------------
@pytest.fixture
def postgres_url(
    tmp_path: Path, postgres_server: str | None, postgres_template: str | None
) -> Iterator[str]:
    """A PostgreSQL database at head, its URL with a password (the cluster trusts anyone)."""
    with _fresh_database("postgresql", tmp_path, None, postgres_server, postgres_template) as url:
        yield make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)


def allow_connections(admin_url: str, database: str, *, allowed: bool) -> None:
    engine = make_sync_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {allowed}'))
        if not allowed:
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"),
                {"d": database},
            )
    engine.dispose()


@pytest.fixture
def serve(postgres_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`vizdots serve` (dev chat, every loop in process); its base URL and its log file."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_"))}
    env |= {"DATABASE_URL": postgres_url, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "INFO"}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)],
            cwd=tmp_path, env=env | {"PYTHONUNBUFFERED": "1"}, stdout=out, stderr=out,
        )  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}", log
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def eventually(check: Callable[[], bool], *, within: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within:g} s: {what}\n{log.read_text()[-4000:]}")
        time.sleep(0.2)


def readyz(base: str) -> httpx.Response | None:
    try:
        return httpx.get(f"{base}/readyz", timeout=20)
    except httpx.TransportError:
        return None


def log_lines(log: Path) -> list[str]:
    """What the process logged, but for uvicorn's access lines (the test's own probes)."""
    return [line for line in log.read_text().splitlines() if "GET /readyz" not in line]


def test_an_outage_is_two_log_lines_and_readyz_says_why(
    serve: tuple[str, Path], postgres_url: str, postgres_server: str
) -> None:
    base, log = serve

    def ready() -> bool:
        answer = readyz(base)
        return answer is not None and answer.status_code == 200

    eventually(ready, within=60, what="serve ready", log=log)
    before = len(log_lines(log))
    database = make_url(postgres_url).database
    assert database is not None
    allow_connections(postgres_server, database, allowed=False)
    try:
        time.sleep(8.0)  # every loop fails, and retries, many times at its first pace
        answer = readyz(base)
        assert answer is not None and answer.status_code == 503
        reason = answer.json()["reason"]
        assert reason.startswith(DOWN) and "not currently accepting connections" in reason
        during = log_lines(log)[before:]
    finally:
        allow_connections(postgres_server, database, allowed=True)
    assert "Traceback" not in "\n".join(during) and len(during) <= 5, "\n".join(during)
    assert sum(DOWN in line for line in during) == 1
    eventually(lambda: BACK in log.read_text(), within=60, what="back online", log=log)
    eventually(ready, within=30, what="ready again", log=log)
    whole = log.read_text()
    assert whole.count(BACK) == 1 and PASSWORD not in whole
