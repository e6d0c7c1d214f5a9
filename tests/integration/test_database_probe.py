"""A failed probe of the database leaves nothing running behind it.

aiosqlite stops the worker thread of a connection that failed to open by handing its
last result back to the event loop; when a command exits right after (`vizdots serve`
on a database it cannot reach) the loop may be closed before the thread gets there, and
the thread prints `RuntimeError: Event loop is closed` under the command's one line
(omnilib/aiosqlite#389). The probe waits for that thread while the loop still runs.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.store.engine import make_async_engine
from core.store.health import schema_problem, unreachable


def worker_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.is_alive()}


@pytest.mark.parametrize("probe", [unreachable, schema_problem])
async def test_an_unopenable_sqlite_file_is_unreachable_with_no_thread_left(
    probe: Callable[[AsyncEngine], Awaitable[str | None]], tmp_path: Path
) -> None:
    engine = make_async_engine(f"sqlite+aiosqlite:///{tmp_path}/missing/x.db")
    before = worker_threads()
    try:
        problem = await probe(engine)
        assert worker_threads() - before == set()
    finally:
        await engine.dispose()
    assert problem is not None and problem.startswith("database unreachable: OperationalError")
