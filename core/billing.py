"""What the billing provider said, applied to an organisation — once per event, in order.

billing/ verifies and translates each Stripe event into a `StripeSaid`; `apply_billing`
records its id in `billing_events` and changes the organisation in the same transaction,
so an event counts once however often Stripe delivers it, and one whose handling fails
is not marked (Stripe retries it).

Events arrive in any order. A subscription is identified by its id: one older than the
organisation's current billing state (`billing_state_at`, the `created` time of the
event that last set it) is ignored, as is any event about another subscription that is
not newer, and a canceled subscription stays canceled (resubscribing makes a new one).

One subscription per organisation: an event naming a live subscription other than the
org's live one (a second Checkout paid) rolls back unrecorded, the newcomer is canceled
through the Billing port outside any transaction, and the event is then recorded with
that outcome; the first subscription is kept. The port does the cancel once however often
it is asked, so a replayed or later event about the newcomer cancels nothing twice, and
news about it once it has ended changes nothing.

Admins are told in chat, once per key (`billing_notices` keeps the keys past the outbox's
retention): a failed payment (check-ins go on through the grace period), a pause
(canceled, or a trial over without a subscription), a trial about to end and a second
subscription canceled.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.domain import PlanStatus, Role
from core.outbox import record_intent
from core.plan_policy import delivers
from core.ports import Billing, BillingUnavailable, OutgoingMessage
from core.records import address_of
from core.store.models import BillingEvent, BillingNotice, Member, Organization
from core.store.seed import dialect_insert

log = logging.getLogger("vizdots.billing")


class Said(StrEnum):
    """What an event is about, whatever its Stripe type."""

    SUBSCRIPTION = "subscription"  # customer.subscription.created / updated / deleted
    CHECKOUT = "checkout"  # checkout.session.completed
    PAID = "paid"  # invoice.paid
    PAYMENT_FAILED = "payment_failed"  # invoice.payment_failed
    TRIAL_ENDING = "trial_ending"  # customer.subscription.trial_will_end
    OTHER = "other"  # acknowledged, ignored


#: Stripe subscription statuses as plan statuses; those absent change nothing
#: (`incomplete`: the first payment is still being made).
STRIPE_STATUS = {
    "trialing": PlanStatus.TRIALING,
    "active": PlanStatus.ACTIVE,
    "past_due": PlanStatus.PAST_DUE,
    "unpaid": PlanStatus.CANCELED,
    "paused": PlanStatus.CANCELED,
    "canceled": PlanStatus.CANCELED,
    "incomplete_expired": PlanStatus.CANCELED,
}
#: Stripe statuses of a subscription with nothing left to cancel.
ENDED = {"canceled", "incomplete_expired"}


@dataclass(frozen=True, slots=True)
class StripeSaid:
    """One verified Stripe event, as core needs it."""

    event_id: str
    type: str
    said: Said
    created: datetime
    org_id: int | None = None  # client_reference_id / metadata, when the event has it
    customer_id: str | None = None
    subscription_id: str | None = None
    status: str | None = None  # the subscription's Stripe status, when the event has it
    trial_end: datetime | None = None
    period_end: datetime | None = None


@dataclass(frozen=True, slots=True)
class BillingRules:
    grace: timedelta
    #: Where notices tell admins to go (a command every chat understands).
    command: str = "/vizdots billing"


async def apply_billing(
    sessions: async_sessionmaker[AsyncSession],
    said: StripeSaid,
    *,
    rules: BillingRules,
    now: datetime,
    billing: Billing | None = None,
) -> str:
    """Record the event and apply it in one transaction; the result as stored. An event
    about a second live subscription is recorded only once `billing` has canceled it."""
    try:
        return await _record(sessions, said, rules=rules, now=now, settled=None)
    except _Newcomer as found:
        newcomer = found  # rolled back: the event stays unrecorded until it is canceled
    if billing is None:  # Stripe answers 500 (and retries) until billing is configured
        raise BillingUnavailable("a second subscription to cancel, but billing is off")
    settled = await billing.cancel_duplicate(
        org_id=newcomer.org_id, subscription_id=newcomer.subscription_id, now=now
    )
    return await _record(sessions, said, rules=rules, now=now, settled=settled)


class _Newcomer(Exception):
    """The event names a second live subscription: cancel it, then record the event."""

    def __init__(self, org_id: int, subscription_id: str) -> None:
        super().__init__(subscription_id)
        self.org_id, self.subscription_id = org_id, subscription_id


async def _record(
    sessions: async_sessionmaker[AsyncSession],
    said: StripeSaid,
    *,
    rules: BillingRules,
    now: datetime,
    settled: bool | None,
) -> str:
    async with sessions.begin() as db:
        org = await _org_of(db, said)
        if not await _first_time(db, said, org):
            return "duplicate"
        if said.said is Said.OTHER:
            result = "ignored"
        elif org is None:
            result = "unknown_org"
        elif _second(said, org):
            result = await _second_subscription(db, said, org, settled, rules=rules, now=now)
        else:
            result = await _apply(db, said, org, rules=rules, now=now)
        await db.execute(
            BillingEvent.__table__.update()  # type: ignore[attr-defined]
            .where(BillingEvent.stripe_event_id == said.event_id)
            .values(result=result)
        )
    log.info("stripe event %s (%s): %s", said.event_id, said.type, result)
    return result


async def _first_time(db: AsyncSession, said: StripeSaid, org: Organization | None) -> bool:
    table = BillingEvent.__table__
    assert isinstance(table, Table)
    values = {
        "stripe_event_id": said.event_id[:64],
        "type": said.type[:64],
        "org_id": org.id if org else None,
        "event_created_at": said.created,
        "result": "processing",
    }
    statement = dialect_insert(db.get_bind(), table).values(values)
    inserted = await db.scalar(
        statement.on_conflict_do_nothing(index_elements=["stripe_event_id"]).returning(table.c.id)
    )
    return inserted is not None


async def _org_of(db: AsyncSession, said: StripeSaid) -> Organization | None:
    org = None
    if said.customer_id is not None:
        org = await db.scalar(
            select(Organization)
            .where(Organization.stripe_customer_id == said.customer_id)
            .with_for_update()
        )
    if org is None and said.org_id is not None:
        org = await db.get(Organization, said.org_id, with_for_update=True)
    return org


def _other(said: StripeSaid, org: Organization) -> bool:
    """The event names a subscription other than the org's live one."""
    return (
        said.subscription_id is not None
        and org.stripe_subscription_id is not None
        and said.subscription_id != org.stripe_subscription_id
        and org.plan_status != PlanStatus.CANCELED.value
    )


def _second(said: StripeSaid, org: Organization) -> bool:
    """A second subscription that may still be live (a checkout names no status)."""
    subscribing = said.said in {Said.CHECKOUT, Said.SUBSCRIPTION, Said.TRIAL_ENDING}
    return subscribing and said.status not in ENDED and _other(said, org)


async def _second_subscription(
    db: AsyncSession,
    said: StripeSaid,
    org: Organization,
    settled: bool | None,
    *,
    rules: BillingRules,
    now: datetime,
) -> str:
    """The first subscription is kept; the newcomer is canceled (the port credits what was
    paid for it) and the admins are told once."""
    assert said.subscription_id is not None
    if settled is None:
        raise _Newcomer(org.id, said.subscription_id)
    if not settled:
        return "other_subscription"  # it had ended by itself
    text = (
        "**A second VizDots subscription was canceled.** Your organisation already had "
        "one, so the one paid for just now was canceled at once; what was paid for it is "
        "credited to your Stripe balance and pays your next invoices. Type "
        f"`{rules.command}` to see your plan."
    )
    key = f"billing:duplicate:{org.id}:{said.subscription_id}"
    await tell_admins(db, org, key=key, text=text, now=now)
    return "duplicate_canceled"


async def _apply(
    db: AsyncSession, said: StripeSaid, org: Organization, *, rules: BillingRules, now: datetime
) -> str:
    if said.said is Said.TRIAL_ENDING:
        return await _trial_ending(db, said, org, rules=rules, now=now)
    if (stale := _stale(said, org)) is not None:
        return stale
    if _other(said, org):
        return "other_subscription"  # news of an ended newcomer never moves the org
    status = _new_status(said, org, now)
    if status is None:
        return "no_change"
    return await _move(db, said, org, status, rules=rules, now=now)


def _stale(said: StripeSaid, org: Organization) -> str | None:
    """Why an event must not change the org (older than its state, about an older
    subscription, or reviving a canceled one), or None."""
    known = org.billing_state_at
    same = said.subscription_id is None or said.subscription_id == org.stripe_subscription_id
    if known is not None and said.created < known:
        return "stale"
    if org.stripe_subscription_id and not same and known is not None and said.created <= known:
        return "stale"
    if same and org.stripe_subscription_id and org.plan_status == PlanStatus.CANCELED.value:
        return "stale"  # a canceled subscription never comes back
    if said.said in {Said.PAID, Said.PAYMENT_FAILED} and not same:
        return "other_subscription"
    return None


def _new_status(said: StripeSaid, org: Organization, now: datetime) -> PlanStatus | None:
    if said.said is Said.PAYMENT_FAILED:
        return PlanStatus.PAST_DUE
    if said.said is Said.PAID:
        # the $0 invoice that opens a trial changes nothing; a paid invoice ends past_due
        return PlanStatus.ACTIVE if org.plan_status != PlanStatus.TRIALING.value else None
    if said.said is Said.CHECKOUT:
        trial = org.trial_ends_at is not None and org.trial_ends_at > now
        return PlanStatus.TRIALING if trial else PlanStatus.ACTIVE
    return STRIPE_STATUS.get(said.status or "")


async def _move(
    db: AsyncSession,
    said: StripeSaid,
    org: Organization,
    status: PlanStatus,
    *,
    rules: BillingRules,
    now: datetime,
) -> str:
    was, delivered = org.plan_status, delivers(org, now)
    org.plan_status = status.value
    org.billing_state_at = max(said.created, org.billing_state_at or said.created)
    org.stripe_subscription_id = said.subscription_id or org.stripe_subscription_id
    org.stripe_customer_id = org.stripe_customer_id or said.customer_id
    if said.trial_end is not None and status is PlanStatus.TRIALING:
        org.trial_ends_at = said.trial_end
    org.current_period_end = said.period_end or org.current_period_end
    if status is PlanStatus.PAST_DUE and was != PlanStatus.PAST_DUE.value:
        org.grace_ends_at = now + rules.grace
        await _payment_failed(db, org, rules=rules, now=now)
    elif status is not PlanStatus.PAST_DUE:
        org.grace_ends_at = None
    if status is PlanStatus.CANCELED and delivered:
        await tell_admins(
            db, org, key=f"billing:paused:{org.id}:{org.stripe_subscription_id}",
            text=paused_text(PAUSED_CANCELED, rules), now=now,
        )  # fmt: skip
    return f"{was}->{status.value}"


async def _payment_failed(
    db: AsyncSession, org: Organization, *, rules: BillingRules, now: datetime
) -> None:
    assert org.grace_ends_at is not None and org.billing_state_at is not None
    episode = int(org.billing_state_at.timestamp())
    text = (
        "**Your VizDots payment failed.** Check-ins go on until "
        f"{org.grace_ends_at:%Y-%m-%d}; to keep them going, update the payment method: "
        f"type `{rules.command}` for the link."
    )
    key = f"billing:past_due:{org.id}:{org.stripe_subscription_id}:{episode}"
    await tell_admins(db, org, key=key, text=text, now=now)


async def _trial_ending(
    db: AsyncSession, said: StripeSaid, org: Organization, *, rules: BillingRules, now: datetime
) -> str:
    if org.stripe_subscription_id and said.subscription_id == org.stripe_subscription_id:
        return "subscribed"  # it converts by itself; a failed payment is told then
    end = said.trial_end or org.trial_ends_at
    if end is None:
        return "no_trial"
    text = (
        f"Your VizDots trial ends on {end:%Y-%m-%d}. To keep the check-ins going, "
        f"type `{rules.command}` to subscribe ($29 a month plus $3 per active member)."
    )
    told = await tell_admins(
        db, org, key=f"billing:trial_ending:{org.id}:{end:%Y%m%d}", text=text, now=now
    )
    return "told" if told else "already_told"


PAUSED_CANCELED = "the subscription was canceled"
PAUSED_TRIAL = "the trial has ended"
PAUSED_GRACE = "the payment is still overdue"


def paused_text(reason: str, rules: BillingRules) -> str:
    return (
        f"**VizDots check-ins are paused**: {reason}. Nothing is deleted: schedules, "
        f"members and past check-ins stay. Type `{rules.command}` to subscribe, and the "
        "check-ins resume."
    )


async def tell_admins(
    db: AsyncSession, org: Organization, *, key: str, text: str, now: datetime
) -> bool:
    """Record, once per `key`, a notice to each active owner and admin (outbox intents in
    the caller's transaction; the outbox sends them). Whether it was new."""
    table = BillingNotice.__table__
    assert isinstance(table, Table)
    statement = dialect_insert(db.get_bind(), table).values(
        key=key[:200], org_id=org.id, created_at=now
    )
    inserted = await db.scalar(
        statement.on_conflict_do_nothing(index_elements=["key"]).returning(table.c.key)
    )
    if inserted is None:
        return False
    admins = await db.scalars(
        select(Member).where(
            Member.org_id == org.id,
            Member.active.is_(True),
            Member.role.in_([Role.OWNER.value, Role.ADMIN.value]),
        )
    )
    for admin in admins:
        await record_intent(
            db, key=f"{key}:{admin.id}"[:200], to=address_of(admin), kind="notice",
            message=OutgoingMessage(text), now=now,
        )  # fmt: skip
    return True


async def tell_paused(
    sessions: async_sessionmaker[AsyncSession], *, rules: BillingRules, now: datetime
) -> int:
    """Tell the admins of orgs paused by time — a trial over without a subscription, a
    grace period over — once each (no Stripe event says so). How many orgs were told."""
    trial_over = (
        (Organization.plan_status == PlanStatus.TRIALING.value)
        & Organization.stripe_subscription_id.is_(None)
        & (Organization.trial_ends_at <= now)
    )
    grace_over = (Organization.plan_status == PlanStatus.PAST_DUE.value) & (
        Organization.grace_ends_at <= now
    )
    told = 0
    async with sessions.begin() as db:
        for org in await db.scalars(select(Organization).where(trial_over | grace_over)):
            if org.plan_status == PlanStatus.TRIALING.value:
                assert org.trial_ends_at is not None
                key, reason = (
                    f"billing:paused:{org.id}:trial:{org.trial_ends_at:%Y%m%d}",
                    PAUSED_TRIAL,
                )
            else:
                assert org.grace_ends_at is not None
                key, reason = (
                    f"billing:paused:{org.id}:grace:{org.grace_ends_at:%Y%m%d}",
                    PAUSED_GRACE,
                )
            told += await tell_admins(db, org, key=key, text=paused_text(reason, rules), now=now)
    return told
