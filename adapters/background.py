"""Work a chat adapter starts after acknowledging a request (a command's reply, a roster
read), tracked so that a graceful shutdown can wait for it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any


class Background:
    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, work: Coroutine[Any, Any, Any], *, what: str) -> None:
        task = asyncio.create_task(self._logged(work, what))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def finish(self, *, within: float = 10.0) -> None:
        """Wait (at most `within` seconds) for the work still running."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=within)

    async def _logged(self, work: Coroutine[Any, Any, Any], what: str) -> None:
        try:
            await work
        except Exception as error:  # after the ack nobody else would hear of it
            self._log.warning("%s failed: %s", what, type(error).__name__)
