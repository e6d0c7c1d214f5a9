"""Is the database reachable and its schema at head? Used by /readyz, the CLI's start-up
check and the background loops' outage watch (core.store.outage).

Reasons are short and safe to show anyone: the driver's error class and the first line
of its message, with the URL's password struck out should a driver ever repeat it."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from core.store.migrate import current_revision, head_revision

#: How long a probe waits for a connection before calling the database unreachable.
PROBE_SECONDS = 10.0
_LONGEST_REASON = 200
T = TypeVar("T")


def failure_reason(error: BaseException, *, secret: str | None = None) -> str:
    """`OperationalError: connection failed: … Connection refused` — the driver's own
    error (not SQLAlchemy's wrapper and its background link), one line, no `secret`."""
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    reason = f"{type(cause).__name__}: {lines[0].strip()}" if lines else type(cause).__name__
    if secret:
        reason = reason.replace(secret, "***")
    return reason[:_LONGEST_REASON]


class Unreachable(Exception):
    """No connection, or none that answered within the probe's time."""


#: How long a failed probe waits for a thread the driver started to end (see below).
_DRIVER_THREAD_SECONDS = 2.0


async def _probe(engine: AsyncEngine, work: Callable[[Connection], T], *, within: float) -> T:
    running_before = set(threading.enumerate())
    try:
        async with asyncio.timeout(within), engine.connect() as connection:
            return await connection.run_sync(work)
    except TimeoutError:
        raise Unreachable(f"no answer within {within:g} s") from None
    except Exception as error:  # any driver error means "unreachable"
        await _driver_threads_ended(running_before)
        raise Unreachable(failure_reason(error, secret=engine.url.password)) from None


async def _driver_threads_ended(running_before: set[threading.Thread]) -> None:
    """Let the threads a failed connect started end while the loop still runs. aiosqlite
    stops the worker of a connection that could not open by handing a result back to the
    event loop; a command that exits on the failure would otherwise close the loop first
    and the thread would print `Event loop is closed` (omnilib/aiosqlite#389)."""
    started = set(threading.enumerate()) - running_before
    deadline = asyncio.get_running_loop().time() + _DRIVER_THREAD_SECONDS
    while any(thread.is_alive() for thread in started):
        if asyncio.get_running_loop().time() > deadline:
            return
        await asyncio.sleep(0.005)


def _select_one(connection: Connection) -> None:
    connection.exec_driver_sql("SELECT 1")


async def unreachable(engine: AsyncEngine, *, within: float = PROBE_SECONDS) -> str | None:
    """None when a connection answers a query, else "database unreachable: <why>"."""
    try:
        await _probe(engine, _select_one, within=within)
    except Unreachable as problem:
        return f"database unreachable: {problem}"
    return None


async def schema_problem(engine: AsyncEngine, *, within: float = PROBE_SECONDS) -> str | None:
    """None when ready, else a short reason an operator can act on."""
    try:
        current = await _probe(engine, current_revision, within=within)
    except Unreachable as problem:
        return f"database unreachable: {problem}"
    head = head_revision()
    if current != head:
        return f"schema at {current or 'nothing'}, expected {head}: run `vizdots migrate`"
    return None


class OutageLog:
    """A process's one voice about a database outage, whichever of its background loops
    notices: one line when the database is found unreachable, one when it answers again,
    nothing in between (the loops back off quietly meanwhile)."""

    def __init__(self, *, logger: logging.Logger | None = None) -> None:
        self._log = logger or logging.getLogger("vizdots.database")
        self.reason: str | None = None

    def down(self, reason: str) -> None:
        if self.reason is None:
            self._log.warning("%s; background work waits for it, retrying with back-off", reason)
        self.reason = reason

    def up(self) -> None:
        if self.reason is not None:
            self._log.warning("database reachable again; background work resumes")
        self.reason = None
