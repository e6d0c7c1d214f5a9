"""Planning and delivery, once (cron, CLI) or every minute (the in-process loop), and
the inbox's turns, taken as they arrive."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from core.planning import plan_sessions

if TYPE_CHECKING:
    from bot.bootstrap import Services

log = logging.getLogger("vizdots.worker")


async def plan(services: Services, *, now: datetime) -> int:
    grace = timedelta(hours=services.settings.session_grace_hours)
    return await plan_sessions(sessions=services.sessions, now=now, grace=grace)


async def plan_and_deliver(services: Services, *, now: datetime) -> dict[str, Any]:
    planned = await plan(services, now=now)
    delivered = await services.delivery.deliver_due(now=now)
    return {"planned": planned, **asdict(delivered)}


async def run_forever(services: Services) -> None:
    """The embedded scheduler: plan and deliver every `loop_interval` seconds."""
    interval = services.loop_interval or 60.0
    while True:
        try:
            counts = await plan_and_deliver(services, now=services.clock.now())
            if counts["planned"] or counts["delivered"] or counts["failed"]:
                log.info("cycle: %s", {k: v for k, v in counts.items() if k != "errors"})
        except Exception:  # keep the loop alive; the next cycle retries
            log.exception("planning/delivery cycle failed")
        await asyncio.sleep(interval)


async def drain_forever(services: Services, *, idle: float = 0.1, batch: int = 50) -> None:
    """Take the inbox's turns: again at once after a full batch, else every `idle` s."""
    while True:
        try:
            taken = await services.inbox.drain(now=services.clock.now(), limit=batch)
        except Exception:  # a database hiccup: keep the loop alive, the next round retries
            log.exception("inbox drain failed")
            taken = 0
        if taken < batch:
            await asyncio.sleep(idle)


async def run_worker(services: Services, *, plan: bool = True) -> None:
    """`vizdots worker`: the inbox and (with `plan`) planning and delivery, until cancelled."""
    loops = [drain_forever(services)]
    if plan:
        loops.append(run_forever(services))
    await asyncio.gather(*loops)
