"""Which organisations get check-ins: one rule set, read two ways.

`RULES` says, for each plan status that delivers, which column (if any) ends delivery:

- active delivers;
- trialing delivers until `trial_ends_at`, or for good once a subscription is in place
  (Stripe converts a subscribed trial at its end and tells us if payment fails);
- past_due delivers through its grace period, until `grace_ends_at`;
- canceled (absent from the rules) delivers nothing.

A NULL trial end means no end (an org made before trials were dated); a past_due org
without a grace end has none left.

`delivers(org, now)` reads the rules for one organisation in Python (delivery, reminders,
App Home, `/vizdots billing`); `delivering(now)` turns the same rules into a SQL predicate
over `organizations` (planning's set-based INSERT … SELECT). tests/integration/
test_plan_policy.py checks that both readings agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, false, or_

from core.domain import PlanStatus
from core.i18n import _
from core.store.models import Organization


@dataclass(frozen=True, slots=True)
class Rule:
    status: PlanStatus
    #: The Organization column whose instant ends delivery; None: it does not end.
    until: str | None = None
    #: A Stripe subscription in place lifts `until`.
    subscription_lifts: bool = False
    #: Whether a NULL in `until` means "no end" (else: already over).
    null_is_open: bool = True


RULES: tuple[Rule, ...] = (
    Rule(PlanStatus.ACTIVE),
    Rule(PlanStatus.TRIALING, until="trial_ends_at", subscription_lifts=True),
    Rule(PlanStatus.PAST_DUE, until="grace_ends_at", null_is_open=False),
)
_BY_STATUS = {rule.status.value: rule for rule in RULES}


def delivers(org: Organization, now: datetime) -> bool:
    """Whether `org`'s plan lets check-ins be planned and sent at `now`."""
    rule = _BY_STATUS.get(org.plan_status)
    if rule is None:
        return False
    if rule.until is None or (rule.subscription_lifts and org.stripe_subscription_id):
        return True
    end: datetime | None = getattr(org, rule.until)
    return rule.null_is_open if end is None else end > now


def delivering(now: datetime) -> ColumnElement[bool]:
    """The same rules as a WHERE clause over Organization's columns."""
    return or_(false(), *(_clause(rule, now) for rule in RULES))


def _clause(rule: Rule, now: datetime) -> ColumnElement[bool]:
    status = Organization.plan_status == rule.status.value
    if rule.until is None:
        return status
    end = getattr(Organization, rule.until)
    still_open = [end > now]
    if rule.null_is_open:
        still_open.append(end.is_(None))
    if rule.subscription_lifts:
        still_open.append(Organization.stripe_subscription_id.is_not(None))
    return and_(status, or_(*still_open))


def pause_reason(org: Organization, now: datetime) -> str | None:
    """Why check-ins are paused, in words for admins; None while they are delivered."""
    if delivers(org, now):
        return None
    if org.plan_status == PlanStatus.TRIALING.value:
        return _("the trial has ended")
    if org.plan_status == PlanStatus.PAST_DUE.value:
        return _("a payment is overdue and its grace period is over")
    return _("the subscription is canceled")
