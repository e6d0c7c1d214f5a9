"""Planning and delivery, once (cron, CLI) or every minute (the in-process loop); the
inbox's turns, taken as they arrive; the outbox's messages, sent and retried; and the
purge of what is finished."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from core.planning import plan_sessions
from core.seen import purge_seen

if TYPE_CHECKING:
    from bot.bootstrap import Services

log = logging.getLogger("vizdots.worker")


async def plan(services: Services, *, now: datetime) -> int:
    grace = timedelta(hours=services.settings.session_grace_hours)
    return await plan_sessions(sessions=services.sessions, now=now, grace=grace)


async def plan_and_deliver(
    services: Services, *, now: datetime, limit: int | None = None
) -> dict[str, Any]:
    """Plan, then deliver what is due (at most `limit`: `more_due` tells what was left)."""
    planned = await plan(services, now=now)
    delivered = await services.delivery.deliver_due(now=now, limit=limit)
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


async def remind(services: Services, *, now: datetime, limit: int | None = None) -> dict[str, Any]:
    """One reminder run for the slot `now` falls in (at most `limit` nudges and emails)."""
    if services.reminders is None:
        return {"disabled": "email reminders need the email extra (vizdots[email])"}
    return asdict(await services.reminders.remind(now=now, limit=limit))


async def remind_forever(services: Services) -> None:
    """Nudges and reminder emails every `loop_interval` seconds (each slot's once)."""
    if services.reminders is None:
        return
    start = getattr(services.reminders.mailer, "start", None)
    if start is not None:  # SES: the account's sending rate, read once
        await start()
    while True:
        try:
            counts = await remind(services, now=services.clock.now())
            if counts["nudged"] or counts["emailed"] or counts["failed"] or counts["in_doubt"]:
                log.info("reminders: %s", {k: v for k, v in counts.items() if k != "errors"})
        except Exception:  # keep the loop alive; the next round retries
            log.exception("reminder run failed")
        await asyncio.sleep(services.loop_interval or 60.0)


async def drain_forever(services: Services, *, idle: float = 0.1) -> None:
    """Take the inbox's turns as they arrive (claims are looked for every `idle` s)."""
    while True:
        try:
            await services.inbox.drain(limit=None, idle=idle)
        except Exception:  # a database hiccup: keep the loop alive, the next round retries
            log.exception("inbox drain failed")
            await asyncio.sleep(1.0)


async def send_forever(services: Services, *, idle: float = 0.5) -> None:
    """Send the outbox's due messages: new ones nobody sent, retries, abandoned sends."""
    while True:
        try:
            tried = await services.outbox.send_due()
        except Exception:  # keep the loop alive; the next round retries
            log.exception("outbox round failed")
            tried = 0
        if not tried:
            await asyncio.sleep(idle)


#: A replayed Slack request is refused by its signature after five minutes: the keys of
#: requests seen are kept long enough to cover that, and no longer.
SEEN_FOR = timedelta(hours=1)


async def tidy(services: Services, *, now: datetime, batch: int = 500) -> dict[str, int]:
    """Purge, in bounded batches, what is finished and older than the retention period,
    replay keys past any replay window, and OAuth states that expired."""
    before = now - timedelta(days=services.settings.retention_days)
    purged = {
        "inbound_events": await services.inbox.purge(before=before, batch=batch),
        "outbox": await services.outbox.purge(before=before, batch=batch),
        "seen_requests": await purge_seen(services.sessions, now - SEEN_FOR, batch),
    }
    if services.slack is not None:
        purged["slack_oauth_states"] = await services.slack.purge_expired_states(now, batch=batch)
    return purged


async def tidy_forever(services: Services, *, every: float = 300.0) -> None:
    while True:
        try:
            purged = await tidy(services, now=services.clock.now())
            if any(purged.values()):
                log.info("purged %s", purged)
        except Exception:  # keep the loop alive; the next round retries
            log.exception("purge failed")
        await asyncio.sleep(every)


async def run_worker(services: Services, *, plan: bool = True) -> None:
    """`vizdots worker`: the inbox, the outbox, the purge and (with `plan`) planning,
    delivery and reminders, until cancelled."""
    loops = [drain_forever(services), send_forever(services), tidy_forever(services)]
    if plan:
        loops += [run_forever(services), remind_forever(services)]
    await asyncio.gather(*loops)
