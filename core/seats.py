"""Seats follow membership: the subscription's seat quantity is the org's active members.

A change of members (sync, install, enrolment, deactivation) stages one `seat_syncs` row
per org in its own transaction (`seats_changed`); more changes only bump its version.
The worker (`SeatSyncer.run_due`) gives a new row a due time `window` ahead — so syncing
500 members makes one update a few seconds later, not 500 — then claims due rows, asks
the billing port to set the quantity, and records the outcome: the row is deleted unless
the version moved meanwhile (then it is due again), or retried with back-off on failure.
`reconcile` stages every subscribed org once a day: the port compares with Stripe.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.backoff import Backoff
from core.domain import PlanStatus
from core.ports import Billing, BillingUnavailable, Clock
from core.store.models import Member, Organization, SeatSync
from core.store.seed import dialect_insert

log = logging.getLogger("vizdots.seats")


async def seats_changed(db: AsyncSession, *, org_id: int) -> None:
    """Stage a seat sync for the org in the caller's transaction (coalesced per org)."""
    table = SeatSync.__table__
    assert isinstance(table, Table)
    statement = dialect_insert(db.get_bind(), table).values(org_id=org_id, version=1)
    await db.execute(
        statement.on_conflict_do_update(
            index_elements=["org_id"], set_={"version": table.c.version + 1}
        )
    )


async def active_seats(db: AsyncSession, org_id: int) -> int:
    count = await db.scalar(
        select(func.count()).where(Member.org_id == org_id, Member.active.is_(True))
    )
    return int(count or 0)


@dataclass(frozen=True, slots=True)
class _Due:
    org_id: int
    version: int
    due_at: datetime | None  # set by run_due before any claim
    attempts: int


@dataclass(frozen=True, slots=True)
class SeatCounts:
    synced: int = 0
    retrying: int = 0
    skipped: int = 0


class SeatSyncer:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        billing: Billing,
        clock: Clock,
        window: timedelta = timedelta(seconds=5),
        claim_timeout: timedelta = timedelta(minutes=2),
        backoff: Backoff | None = None,
    ) -> None:
        self.sessions, self.billing, self.clock = sessions, billing, clock
        self.window, self.claim_timeout = window, claim_timeout
        self.backoff = backoff or Backoff(
            first=timedelta(seconds=10), cap=timedelta(minutes=30), max_attempts=10**6
        )

    async def run_due(self) -> SeatCounts:
        """Date the new rows, then sync those that are due; what happened."""
        now = self.clock.now()
        async with self.sessions.begin() as db:
            await db.execute(
                update(SeatSync).where(SeatSync.due_at.is_(None)).values(due_at=now + self.window)
            )
        synced = retrying = skipped = 0
        for row in await self._claim(now):
            outcome = await self._sync(row)
            synced += outcome == "synced"
            retrying += outcome == "retrying"
            skipped += outcome == "skipped"
        return SeatCounts(synced, retrying, skipped)

    async def reconcile(self) -> int:
        """Stage a sync for every subscribed org (daily): Stripe is compared and corrected."""
        async with self.sessions.begin() as db:
            orgs = list(
                await db.scalars(
                    select(Organization.id).where(
                        Organization.stripe_subscription_id.is_not(None),
                        Organization.plan_status != PlanStatus.CANCELED.value,
                    )
                )
            )
            for org_id in orgs:
                await seats_changed(db, org_id=org_id)
        return len(orgs)

    async def _claim(self, now: datetime) -> list[_Due]:
        free = (SeatSync.due_at <= now) & or_(
            SeatSync.claimed_at.is_(None), SeatSync.claimed_at < now - self.claim_timeout
        )
        query = (
            select(SeatSync.org_id, SeatSync.version, SeatSync.due_at, SeatSync.attempts)
            .where(free)
            .order_by(SeatSync.due_at)
            .limit(50)
            .with_for_update(skip_locked=True)
        )
        async with self.sessions.begin() as db:
            rows = [_Due(*row) for row in (await db.execute(query)).all()]
            if rows:
                await db.execute(
                    update(SeatSync)
                    .where(SeatSync.org_id.in_([r.org_id for r in rows]))
                    .values(claimed_at=now, attempts=SeatSync.attempts + 1)
                )
        return rows

    async def _sync(self, row: _Due) -> str:
        async with self.sessions() as db:
            org = await db.get_one(Organization, row.org_id)
            subscription, seats = org.stripe_subscription_id, await active_seats(db, org.id)
        if subscription is None or org.plan_status == PlanStatus.CANCELED.value:
            await self._done(row, billed=None)  # Checkout counts the seats when it starts
            return "skipped"
        due = int(row.due_at.timestamp()) if row.due_at else 0
        key = f"seats-{row.org_id}-{due}-v{row.version}-{seats}"
        try:
            billed = await self.billing.sync_seats(
                subscription_id=subscription, seats=seats, key=key
            )
        except BillingUnavailable as error:
            await self._failed(row, error)
            return "retrying"
        await self._done(row, billed=billed)
        return "synced"

    async def _done(self, row: _Due, *, billed: int | None) -> None:
        now = self.clock.now()
        async with self.sessions.begin() as db:
            if billed is not None:
                await db.execute(
                    update(Organization)
                    .where(Organization.id == row.org_id)
                    .values(billed_seats=billed)
                )
            gone = await db.execute(
                delete(SeatSync).where(
                    SeatSync.org_id == row.org_id, SeatSync.version == row.version
                )
            )
            if not gone.rowcount:  # type: ignore[attr-defined]  # members changed meanwhile
                await db.execute(
                    update(SeatSync)
                    .where(SeatSync.org_id == row.org_id)
                    .values(due_at=now + self.window, claimed_at=None, attempts=0)
                )

    async def _failed(self, row: _Due, error: Exception) -> None:
        delay = self.backoff.delay(row.attempts + 1)
        log.warning("seat sync of org %s failed (%s); again in %s", row.org_id, error, delay)
        async with self.sessions.begin() as db:
            await db.execute(
                update(SeatSync)
                .where(SeatSync.org_id == row.org_id)
                .values(
                    due_at=self.clock.now() + delay, claimed_at=None, last_error=str(error)[:200]
                )
            )
