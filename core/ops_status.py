"""What an operator asks first (GET /api/internal/status, `vizdots status`, the scrape-time
gauges of /metrics): the last job runs, today's sessions by state, the inbox's depth."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.domain import SessionState
from core.job_runs import JOBS, JobRuns, RunRecord
from core.store.models import CheckinSession, InboundEvent


@dataclass(frozen=True, slots=True)
class InboxDepth:
    pending: int
    #: Seconds the oldest pending event has waited (0 when none waits).
    oldest_pending_seconds: float


@dataclass(frozen=True, slots=True)
class OpsStatus:
    now: datetime
    runs: dict[str, RunRecord | None]
    sessions_today: dict[str, int]
    inbox: InboxDepth

    def as_dict(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "runs": {job: run.as_dict() if run else None for job, run in self.runs.items()},
            "sessions_today": self.sessions_today,
            "inbox": {
                "pending": self.inbox.pending,
                "oldest_pending_seconds": round(self.inbox.oldest_pending_seconds, 3),
            },
        }


async def sessions_today(
    sessions: async_sessionmaker[AsyncSession], *, now: datetime
) -> dict[str, int]:
    """Sessions due on the UTC day of `now`, by state (every state, 0 when none)."""
    start = datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC)
    query = (
        select(CheckinSession.state, func.count())
        .where(CheckinSession.due_at >= start, CheckinSession.due_at < start + timedelta(days=1))
        .group_by(CheckinSession.state)
    )
    async with sessions() as db:
        found = {state: int(n) for state, n in (await db.execute(query)).all()}
    return {state.value: found.get(state.value, 0) for state in SessionState}


async def inbox_depth(sessions: async_sessionmaker[AsyncSession], *, now: datetime) -> InboxDepth:
    pending = InboundEvent.processed_at.is_(None)
    query = select(func.count(), func.min(InboundEvent.received_at)).where(pending)
    async with sessions() as db:
        count, oldest = (await db.execute(query)).one()
    if oldest is None:
        return InboxDepth(pending=int(count), oldest_pending_seconds=0.0)
    waited = (now - oldest).total_seconds() if oldest.tzinfo else 0.0
    return InboxDepth(pending=int(count), oldest_pending_seconds=max(waited, 0.0))


async def ops_status(
    sessions: async_sessionmaker[AsyncSession], *, runs: JobRuns, now: datetime
) -> OpsStatus:
    return OpsStatus(
        now=now,
        runs={job: await runs.last(job) for job in JOBS},
        sessions_today=await sessions_today(sessions, now=now),
        inbox=await inbox_depth(sessions, now=now),
    )
