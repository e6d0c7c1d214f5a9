"""Team digests posted once per schedule and local date, whatever crashes.

A schedule with a report channel gets one digest a local date, once that date's window
has closed: every session of the schedule that date is finished (completed, skipped,
expired, failed) or past its expiry. The phases, each its own transaction:

1. stage: a `digests` row (UNIQUE schedule_id, local_date) is inserted, pending;
2. claim: 'pending' → 'posting' (SKIP LOCKED; a row a dead worker left 'posting' is
   taken again after the claim timeout, `in_doubt`);
3. compose: the text is written into the row once, so a re-post says the same;
4. post: in doubt (a dead worker's claim, or any retry: a timed-out post may have
   arrived), the chat is asked first (`find_posted`, by the row's key), and a digest that
   arrived is recorded, not posted again; then 'posted' with its message id.

A post the chat refuses for good (the bot is not in the channel) ends 'failed' with the
reason, and the org's admins are told in a notice through the outbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Table, and_, case, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.backoff import Backoff
from core.digest import compose_digest, digest_content, record_ai_calls, summarised
from core.domain import Provider, Role, SessionState
from core.i18n import speaking
from core.outbox import record_intent
from core.ports import (
    ChannelPoster,
    ChatPlace,
    Clock,
    DeliveryError,
    OutgoingMessage,
    SentMessage,
    Summariser,
)
from core.records import address_of
from core.store.claims import claim
from core.store.models import CheckinSession, Digest, Installation, Member, Organization, Schedule
from core.store.seed import dialect_insert

log = logging.getLogger("vizdots.digests")

PENDING, POSTING, POSTED, FAILED = "pending", "posting", "posted", "failed"
_FINISHED = tuple(
    s.value
    for s in (SessionState.COMPLETED, SessionState.SKIPPED, SessionState.EXPIRED,
              SessionState.FAILED)
)  # fmt: skip
_CLAIMED = (
    Digest.id, Digest.org_id, Digest.schedule_id, Digest.local_date, Digest.key, Digest.channel,
    Digest.text, Digest.attempts, Digest.in_doubt, Digest.claimed_at, Digest.created_at,
)  # fmt: skip
#: Windows older than this are never staged (a first deployment posts no backlog).
LOOK_BACK = timedelta(days=3)


@dataclass(frozen=True, slots=True)
class DigestCounts:
    staged: int = 0
    posted: int = 0
    retrying: int = 0
    failed: int = 0


def digest_key(schedule_id: int, local_date: Any) -> str:
    return f"digest:{schedule_id}:{local_date.isoformat()}"


class Digests:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        posters: Mapping[Provider, ChannelPoster],
        clock: Clock,
        summariser: Summariser | None = None,
        claim_timeout: timedelta = timedelta(minutes=2),
        backoff: Backoff | None = None,
    ) -> None:
        self.sessions = sessions
        self.posters = dict(posters)
        self.clock = clock
        self.summariser = summariser
        self.claim_timeout = claim_timeout
        self.backoff = backoff or Backoff(first=timedelta(minutes=1), max_attempts=6,
                                          give_up_after=timedelta(hours=6))  # fmt: skip

    async def deliver(self, *, limit: int = 50) -> DigestCounts:
        """Stage the windows that closed, then post what is due (at most `limit`)."""
        staged = await self.stage()
        rows = await self._claim(limit=limit)
        outcomes = await asyncio.gather(*(self._post(row) for row in rows))
        return DigestCounts(
            staged=staged,
            posted=outcomes.count(POSTED),
            retrying=outcomes.count(PENDING),
            failed=outcomes.count(FAILED),
        )

    # --- staging ---------------------------------------------------------------------------
    async def stage(self) -> int:
        """Record a pending digest for each closed window that has none; how many."""
        now = self.clock.now()
        async with self.sessions.begin() as db:
            windows = (await db.execute(_closed_windows(now))).all()
            if not windows:
                return 0
            table = Digest.__table__
            assert isinstance(table, Table)
            rows = [
                _staged(org, schedule, day, channel, now) for org, schedule, day, channel in windows
            ]
            statement = dialect_insert(db.get_bind(), table).values(rows)
            await db.execute(statement.on_conflict_do_nothing())
        return len(windows)

    # --- claiming --------------------------------------------------------------------------
    async def _claim(self, *, limit: int) -> Sequence[Row[Any]]:
        now = self.clock.now()
        free = or_(
            and_(Digest.state == PENDING, Digest.next_attempt_at <= now),
            and_(Digest.state == POSTING, Digest.claimed_at < now - self.claim_timeout),
        )
        candidates = select(Digest.id).where(free).order_by(Digest.next_attempt_at)
        async with self.sessions.begin() as db:
            result = await db.execute(
                claim(
                    Digest,
                    candidates=candidates,
                    still_free=free,
                    limit=limit,
                    values={
                        "state": POSTING,
                        "claimed_at": now,
                        "attempts": Digest.attempts + 1,
                        "in_doubt": Digest.state == POSTING,
                    },
                    returning=_CLAIMED,
                )
            )
            return list(result.all())

    # --- posting ---------------------------------------------------------------------------
    async def _post(self, row: Row[Any]) -> str:
        try:
            place, poster = await self._place(row)
            text = row.text or await self._compose(row)
            # a dead worker's claim, or a try that failed without knowing whether the chat
            # got the post (a timeout): the chat is asked before posting again
            doubt = row.in_doubt or row.attempts > 1
            sent = await self._look_up(poster, place, row) if doubt else None
            if sent is None:
                sent = await poster.post(place, OutgoingMessage(text, key=row.key))
        except DeliveryError as error:
            return await self._failed(row, error)
        except Exception as error:  # a bug or a database hiccup: this digest only, retried
            log.exception("digest %s: post crashed", row.id)
            return await self._failed(row, DeliveryError(type(error).__name__, retryable=True))
        await self._hold(row, state=POSTED, message_id=sent.message_id, error=None,
                         provider=place.provider.value, posted_at=self.clock.now())  # fmt: skip
        log.info("digest %s posted (schedule %s, %s)", row.id, row.schedule_id, row.local_date)
        return POSTED

    async def _place(self, row: Row[Any]) -> tuple[ChatPlace, ChannelPoster]:
        """Where the org's chat is: its active Slack or Teams install, else the dev chat."""
        async with self.sessions() as db:
            installs = (
                await db.execute(
                    select(Installation.provider, Installation.external_id).where(
                        Installation.org_id == row.org_id, Installation.active.is_(True)
                    )
                )
            ).all()
            slug = await db.scalar(select(Organization.slug).where(Organization.id == row.org_id))
        for provider, external_id in installs:
            poster = self.posters.get(Provider(provider))
            if poster is not None:
                return ChatPlace(row.org_id, poster.provider, external_id, row.channel), poster
        dev = self.posters.get(Provider.DEV)
        if dev is None or installs:
            raise DeliveryError("no chat of the organisation can post a digest", retryable=False)
        return ChatPlace(row.org_id, Provider.DEV, str(slug), row.channel), dev

    async def _compose(self, row: Row[Any]) -> str:
        """Write the digest's text into the row (once: a re-post says the same). The model
        is asked between two transactions, never while one is open."""
        async with self.sessions() as db:
            facts = await digest_content(
                db, org_id=row.org_id, schedule_id=row.schedule_id, since=row.local_date,
                until=row.local_date, now=self.clock.now(),
            )  # fmt: skip
            language = await db.scalar(
                select(Organization.language).where(Organization.id == row.org_id)
            )
        facts, calls = await summarised(facts, self.summariser)
        with speaking(language):  # the team's channel hears the org's language
            text = compose_digest(facts).text
        async with self.sessions.begin() as db:
            await record_ai_calls(db, org_id=row.org_id, calls=calls)
            held = await _still_held(db, row, {"text": text})
        if not held:
            raise DeliveryError("the claim was taken over", retryable=True)
        return text

    async def _look_up(
        self, poster: ChannelPoster, place: ChatPlace, row: Row[Any]
    ) -> SentMessage | None:
        found = await poster.find_posted(place, row.key)
        if found is not None:
            log.info("digest %s: found already posted after a crash; not posted again", row.id)
        return found

    async def _failed(self, row: Row[Any], error: DeliveryError) -> str:
        now = self.clock.now()
        spent = self.backoff.exhausted(attempts=row.attempts, age=now - row.created_at)
        if error.retryable and not spent:
            log.warning("digest %s: try %d failed (%s)", row.id, row.attempts, error)
            delay = self.backoff.delay(row.attempts)
            await self._hold(row, state=PENDING, error=str(error)[:200], claimed_at=None,
                             next_attempt_at=now + delay)  # fmt: skip
            return PENDING
        log.error("digest %s given up after %d tries: %s", row.id, row.attempts, error)
        async with self.sessions.begin() as db:
            values = {"state": FAILED, "error": str(error)[:200], "claimed_at": None}
            if await _still_held(db, row, values):
                await _tell_admins(db, row, str(error), now=now)
        return FAILED

    async def _hold(self, row: Row[Any], **values: Any) -> None:
        async with self.sessions.begin() as db:
            await _still_held(db, row, values)


def _staged(org_id: int, schedule_id: int, day: Any, channel: str, now: datetime) -> dict[str, Any]:
    return {
        "org_id": org_id,
        "schedule_id": schedule_id,
        "local_date": day,
        "key": digest_key(schedule_id, day),
        "channel": channel,
        "state": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def _closed_windows(now: datetime) -> Any:
    """(org, schedule, local date, channel) of closed windows with a report channel and no
    digest yet: no session of that date is open and unexpired."""
    still_open = case(
        (and_(CheckinSession.state.not_in(_FINISHED), CheckinSession.expires_at > now), 1),
        else_=0,
    )
    recorded = exists().where(
        Digest.schedule_id == CheckinSession.schedule_id,
        Digest.local_date == CheckinSession.local_date,
    )
    columns = (CheckinSession.org_id, CheckinSession.schedule_id, CheckinSession.local_date)
    return (
        select(*columns, Schedule.report_channel)
        .join(Schedule, Schedule.id == CheckinSession.schedule_id)
        .where(Schedule.report_channel.is_not(None), Schedule.report_channel != "")
        .where(CheckinSession.local_date >= (now - LOOK_BACK).date(), ~recorded)
        .group_by(*columns, Schedule.report_channel)
        .having(func.sum(still_open) == 0)
    )


async def _still_held(db: AsyncSession, row: Row[Any], values: Mapping[str, Any]) -> bool:
    """Record an outcome unless another worker took the claim over meanwhile."""
    result = await db.execute(
        update(Digest)
        .where(Digest.id == row.id, Digest.state == POSTING, Digest.claimed_at == row.claimed_at)
        .values(**values)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return True
    log.warning("digest %s: outcome not recorded, the claim was taken over", row.id)
    return False


async def _tell_admins(db: AsyncSession, row: Row[Any], reason: str, *, now: datetime) -> None:
    """A notice to each active admin of the org (through the outbox, once per digest)."""
    admins = await db.scalars(
        select(Member).where(
            Member.org_id == row.org_id,
            Member.active.is_(True),
            Member.role.in_((Role.OWNER.value, Role.ADMIN.value)),
        )
    )
    text = (
        f"The team digest for {row.local_date.isoformat()} could not be posted to the report "
        f"channel {row.channel}: {reason}. Invite VizDots to that channel, or run "
        "`schedule set` in the channel the digest should go to."
    )
    for admin in admins:
        await record_intent(
            db, key=f"{row.key}:failed:{admin.id}", to=address_of(admin), kind="notice",
            message=OutgoingMessage(text), now=now,
        )  # fmt: skip
