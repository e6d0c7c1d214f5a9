"""The plan policy's two readings agree: the Python check (delivery, reminders, App Home)
and the SQL predicate (planning) say the same of every kind of organisation."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.domain import PlanStatus
from core.plan_policy import delivering, delivers, pause_reason
from core.store.engine import make_sessionmaker
from core.store.models import Organization

NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)
ENDS = (None, NOW - timedelta(seconds=1), NOW, NOW + timedelta(seconds=1))


async def test_python_and_sql_readings_agree_on_every_combination(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    combos = list(itertools.product(PlanStatus, ENDS, ENDS, (None, "sub_1")))
    async with sessions.begin() as db:
        for n, (status, trial_end, grace_end, subscription) in enumerate(combos):
            db.add(Organization(
                slug=f"o{n}", name=f"o{n}", plan_status=status.value, trial_ends_at=trial_end,
                grace_ends_at=grace_end, stripe_subscription_id=subscription,
            ))  # fmt: skip
    async with sessions() as db:
        orgs = list(await db.scalars(select(Organization)))
        by_sql = set(await db.scalars(select(Organization.id).where(delivering(NOW))))
    by_python = {org.id for org in orgs if delivers(org, NOW)}
    assert by_python == by_sql
    assert 0 < len(by_sql) < len(combos)
    assert all((pause_reason(org, NOW) is None) == (org.id in by_sql) for org in orgs)


def test_the_rules_in_words() -> None:
    def org(status: str, **values: object) -> Organization:
        return Organization(plan_status=status, **values)

    assert delivers(org("active"), NOW)
    assert delivers(org("trialing", trial_ends_at=NOW + timedelta(days=1)), NOW)
    assert not delivers(org("trialing", trial_ends_at=NOW), NOW)
    # a subscribed trial converts at its end: Stripe says so if the payment fails
    assert delivers(org("trialing", trial_ends_at=NOW, stripe_subscription_id="sub"), NOW)
    assert delivers(org("past_due", grace_ends_at=NOW + timedelta(hours=1)), NOW)
    assert not delivers(org("past_due", grace_ends_at=NOW), NOW)
    assert not delivers(org("past_due"), NOW)
    assert not delivers(org("canceled", stripe_subscription_id="sub"), NOW)
    assert pause_reason(org("trialing", trial_ends_at=NOW), NOW) == "the trial has ended"
