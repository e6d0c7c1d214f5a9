"""Runs of the periodic jobs — planning/delivery ("scheduler") and reminders — recorded
in job_runs: inserted (committed) when a run starts, finished with its counts or the
class of the exception that ended it. A run never finished is one whose process died.
This is the runbook's "did the scheduler run today" check, for every process at once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.ports import Clock
from core.store.models import JobRun

#: The jobs whose runs are recorded.
JOBS = ("scheduler", "reminders")


@dataclass
class RunCounts:
    """What a run did, filled in by the job (numbers and flags; never message text)."""

    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RunRecord:
    job: str
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    counts: Mapping[str, Any] | None
    error: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "trigger": self.trigger,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "counts": dict(self.counts) if self.counts is not None else None,
            "error": self.error,
        }


def countable(counts: Mapping[str, Any]) -> dict[str, Any]:
    """The numbers and flags of a job's answer: lists (error texts) become their length."""
    return {k: len(v) if isinstance(v, list) else v for k, v in counts.items()}


class JobRuns:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self.sessions = sessions
        self.clock = clock

    @asynccontextmanager
    async def run(self, job: str, *, trigger: str) -> AsyncIterator[RunCounts]:
        """Record the run around the block; the block fills in the counts. An exception
        is recorded (its class only: its text may name a member) and raised again."""
        async with self.sessions.begin() as db:
            run_id = await db.scalar(
                insert(JobRun)
                .values(job=job, trigger=trigger, started_at=self.clock.now())
                .returning(JobRun.id)
            )
        counts = RunCounts()
        try:
            yield counts
        except Exception as error:
            await self._finish(run_id, counts, error=type(error).__name__)
            raise
        await self._finish(run_id, counts, error=None)

    async def _finish(self, run_id: int | None, counts: RunCounts, *, error: str | None) -> None:
        async with self.sessions.begin() as db:
            await db.execute(
                update(JobRun)
                .where(JobRun.id == run_id)
                .values(finished_at=self.clock.now(), counts=countable(counts.values), error=error)
            )

    async def last(self, job: str) -> RunRecord | None:
        async with self.sessions() as db:
            row = await db.scalar(
                select(JobRun)
                .where(JobRun.job == job)
                .order_by(JobRun.started_at.desc(), JobRun.id.desc())
                .limit(1)
            )
        if row is None:
            return None
        return RunRecord(
            job=row.job,
            trigger=row.trigger,
            started_at=row.started_at,
            finished_at=row.finished_at,
            counts=row.counts,
            error=row.error,
        )

    async def last_success(self, job: str) -> datetime | None:
        """When the latest run of `job` that ended without an error ended."""
        async with self.sessions() as db:
            return await db.scalar(
                select(JobRun.finished_at)
                .where(JobRun.job == job, JobRun.error.is_(None), JobRun.finished_at.is_not(None))
                .order_by(JobRun.started_at.desc())  # the (job, started_at) index
                .limit(1)
            )

    async def purge(self, *, before: datetime, batch: int = 500) -> int:
        """Delete at most `batch` runs that started before `before`."""
        async with self.sessions.begin() as db:
            old = select(JobRun.id).where(JobRun.started_at < before).limit(batch)
            result = await db.execute(delete(JobRun).where(JobRun.id.in_(old.scalar_subquery())))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
