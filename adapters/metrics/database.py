"""Gauges read from the database when /metrics is scraped: the inbox's depth and its
oldest pending event's age, today's sessions by state, and the last successful run of
each job. The same numbers whichever process answers the scrape."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.job_runs import JOBS, JobRuns
from core.ops_status import OpsStatus, ops_status

log = logging.getLogger("vizdots.metrics")


class DatabaseGauges(Collector):
    """`refresh` (async, before each scrape) reads; `collect` (prometheus-client's
    synchronous call) reports what was read."""

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], runs: JobRuns) -> None:
        self.sessions = sessions
        self.runs = runs
        self._status: OpsStatus | None = None
        self._last_success: dict[str, datetime | None] = {}

    async def refresh(self, *, now: datetime) -> None:
        """Read the gauges; an unreachable database leaves only vizdots_database_up 0 (the
        process's own counters are still served)."""
        try:
            self._status = await ops_status(self.sessions, runs=self.runs, now=now)
            self._last_success = {job: await self.runs.last_success(job) for job in JOBS}
        except Exception as error:
            log.warning("metrics: the database gauges could not be read (%s)", type(error).__name__)
            self._status = None

    def collect(self) -> Iterator[Metric]:
        status = self._status
        up = 0.0 if status is None else 1.0
        yield _gauge("vizdots_database_up", "1 when this scrape could read the database", up)
        if status is None:
            return
        inbox = status.inbox
        yield _gauge("vizdots_inbox_pending", "Inbound events waiting for a worker", inbox.pending)
        yield _gauge(
            "vizdots_inbox_oldest_pending_seconds",
            "Age of the oldest inbound event waiting",
            inbox.oldest_pending_seconds,
        )
        by_state = GaugeMetricFamily(
            "vizdots_sessions_today", "Check-ins due today (UTC) by state", labels=["state"]
        )
        for state, count in status.sessions_today.items():
            by_state.add_metric([state], count)
        yield by_state
        yield from self._runs(status)

    def _runs(self, status: OpsStatus) -> Iterator[Metric]:
        success = GaugeMetricFamily(
            "vizdots_job_last_success_timestamp_seconds",
            "When the job's last run without an error ended (0: never)", labels=["job"],
        )  # fmt: skip
        failed = GaugeMetricFamily(
            "vizdots_job_last_run_failed", "1 when the job's last finished run failed",
            labels=["job"],
        )  # fmt: skip
        for job in JOBS:
            ended = self._last_success.get(job)
            success.add_metric([job], ended.timestamp() if ended else 0.0)
            run = status.runs.get(job)
            failed.add_metric([job], 1.0 if run is not None and run.error else 0.0)
        yield success
        yield failed


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)
