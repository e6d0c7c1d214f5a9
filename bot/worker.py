"""Planning and delivery, once (cron, CLI) or every minute (the in-process loop); the
inbox's turns, taken as they arrive; the outbox's messages, sent and retried; and the
purge of what is finished."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from bot.billing import billing_rules
from core.backoff import Backoff
from core.billing import tell_paused
from core.log_context import log_context, request_id
from core.planning import plan_sessions
from core.seen import purge_seen
from core.store.health import unreachable

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


async def recorded(
    services: Services, job: str, *, trigger: str, work: Coroutine[Any, Any, dict[str, Any]]
) -> dict[str, Any]:
    """Run `work` recorded in job_runs (start, end, counts or error) and counted in the
    metrics (vizdots_job_runs_total)."""
    failed = True
    try:
        job_id = None if request_id.get() else f"{job}-{trigger}-{uuid4().hex[:12]}"
        with log_context(request=job_id):  # a cron call keeps its HTTP request's id
            async with services.runs.run(job, trigger=trigger) as run:
                run.values = await work
                failed = False
        return run.values
    finally:
        work.close()  # unstarted when the run could not even be recorded
        if services.metrics is not None:
            services.metrics.job_run(job=job, trigger=trigger, failed=failed)


async def run_forever(services: Services) -> None:
    """The embedded scheduler: plan and deliver every `loop_interval` seconds (and tell
    the admins of orgs a trial's or grace period's end paused, once)."""
    interval = services.loop_interval or 60.0

    async def cycle() -> float:
        now = services.clock.now()
        await tell_paused(services.sessions, rules=billing_rules(services.settings), now=now)
        counts = await recorded(
            services, "scheduler", trigger="loop", work=plan_and_deliver(services, now=now)
        )
        if counts["planned"] or counts["delivered"] or counts["failed"]:
            log.info("cycle: %s", {k: v for k, v in counts.items() if k != "errors"})
        return interval

    await keep_going(services, "planning/delivery cycle", cycle)


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
            now = services.clock.now()
            work = remind(services, now=now)
            counts = await recorded(services, "reminders", trigger="loop", work=work)
            if counts["nudged"] or counts["emailed"] or counts["failed"] or counts["in_doubt"]:
                log.info("reminders: %s", {k: v for k, v in counts.items() if k != "errors"})
        except Exception:  # keep the loop alive; the next round retries
            if await _reachable(services):  # an outage is logged once, by the outage log
                log.exception("reminder run failed")
        await asyncio.sleep(services.loop_interval or 60.0)


async def drain_forever(services: Services, *, idle: float = 0.1) -> None:
    """Take the inbox's turns as they arrive (claims are looked for every `idle` s)."""

    async def drain() -> float:
        await services.inbox.drain(limit=None, idle=idle)  # returns only by failing
        return idle

    await keep_going(services, "inbox drain", drain)


async def send_forever(services: Services, *, idle: float = 0.5) -> None:
    """Send the outbox's due messages: new ones nobody sent, retries, abandoned sends."""

    async def send() -> float:
        return 0.0 if await services.outbox.send_due() else idle

    await keep_going(services, "outbox round", send)


#: Seat quantities are compared with Stripe's once a day, whatever changed.
RECONCILE_EVERY = timedelta(days=1)


async def bill_forever(services: Services, *, idle: float = 1.0) -> None:
    """Sync the staged seat changes (coalesced, retried) and, once a day, stage every
    subscribed org so that Stripe's quantities are reconciled with the members."""
    seats = services.seat_sync
    if seats is None:
        return
    next_reconcile = services.clock.now()

    async def sync() -> float:
        nonlocal next_reconcile
        if services.clock.now() >= next_reconcile:
            staged = await seats.reconcile()
            log.info("seat reconcile: %d subscribed orgs staged", staged)
            next_reconcile = services.clock.now() + RECONCILE_EVERY
        counts = await seats.run_due()
        if counts.synced or counts.retrying:
            log.info("seat sync: %s", asdict(counts))
        return idle

    await keep_going(services, "seat sync", sync)


async def post_digests(services: Services) -> dict[str, Any]:
    """Stage the team digests whose window closed and post what is due (once each)."""
    if services.digests is None:
        return {"disabled": "no chat can post team digests"}
    return asdict(await services.digests.deliver())


async def digest_forever(services: Services) -> None:
    """Team digests every `loop_interval` seconds: each window's once, when it closes."""
    if services.digests is None:
        return

    async def post() -> float:
        counts = await post_digests(services)
        if counts["posted"] or counts["failed"] or counts["retrying"]:
            log.info("digests: %s", counts)
        return services.loop_interval or 60.0

    await keep_going(services, "digest round", post)


#: A background loop whose round failed tries again after 1 s, 2 s, 4 s … 30 s (jittered).
RETRY = Backoff(first=timedelta(seconds=1), cap=timedelta(seconds=30))


async def keep_going(
    services: Services,
    name: str,
    round_: Callable[[], Awaitable[float]],
    *,
    retry: Backoff = RETRY,
) -> None:
    """Run `round_` forever, resting as long as it says between rounds. A failed round is
    retried after a back-off (`retry`); while the database is unreachable only a probe runs
    at each retry, and the process says so once (`services.database`), not with a
    traceback a try. Any other failure is logged with its traceback."""
    failures = 0
    while True:
        rest = None
        if not failures or await _reachable(services):
            rest = await _round(services, name, round_)
        failures = 0 if rest is not None else failures + 1
        await asyncio.sleep(rest if rest is not None else retry.delay(failures).total_seconds())


async def _reachable(services: Services) -> bool:
    """Probe the database and tell the outage log what was found."""
    problem = await unreachable(services.engine)
    if problem is None:
        services.database.up()
    else:
        services.database.down(problem)
    return problem is None


async def _round(
    services: Services, name: str, round_: Callable[[], Awaitable[float]]
) -> float | None:
    """The round's rest, or None when it failed (a database outage is logged once, by
    `_reachable`; anything else with its traceback)."""
    try:
        return await round_()
    except Exception:  # keep the loop alive; the next round retries
        if await _reachable(services):
            log.exception("%s failed", name)
        return None


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
    async def purge() -> float:
        now = services.clock.now()
        purged = await tidy(services, now=now)
        before = now - timedelta(days=services.settings.retention_days)
        purged["job_runs"] = await services.runs.purge(before=before)
        if any(purged.values()):
            log.info("purged %s", purged)
        return every

    await keep_going(services, "purge", purge)


async def run_worker(services: Services, *, plan: bool = True) -> None:
    """`vizdots worker`: the inbox, the outbox, the purge and (with `plan`) planning,
    delivery, reminders and team digests, until cancelled."""
    loops = [drain_forever(services), send_forever(services), tidy_forever(services)]
    loops.append(bill_forever(services))
    if plan:
        loops += [run_forever(services), remind_forever(services), digest_forever(services)]
    await asyncio.gather(*loops)
