"""`billing` (admins): the plan, its trial end or next invoice, the seats, and one link —
Checkout to subscribe when there is no subscription, else the customer portal.

The link comes from the billing port (Stripe) before the command's transaction opens: no
database transaction waits on the provider."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.commands import types as c
from core.commands.context import CommandContext
from core.domain import PlanStatus, Role
from core.i18n import N_, _
from core.plan_policy import pause_reason
from core.ports import Billing, BillingUnavailable
from core.seats import active_seats
from core.store.models import Member

NOT_CONFIGURED = N_(
    "Billing is not set up on this VizDots server (an operator sets STRIPE_SECRET_KEY)."
)
PRICE = N_("$29 a month plus $3 per active member")


@dataclass(frozen=True, slots=True)
class Link:
    url: str | None = None
    problem: str | None = None


async def link_for(
    *,
    sessions: async_sessionmaker[AsyncSession],
    command: c.Command | None,
    member: Member,
    port: Billing | None,
    now: datetime,
) -> Link:
    """The billing link an admin's `billing` command shows (nothing for anything else)."""
    if not isinstance(command, c.Billing) or not Role(member.role).is_admin:
        return Link()
    if port is None:
        return Link(problem=_(NOT_CONFIGURED))
    async with sessions() as db:
        seats = await active_seats(db, member.org_id)
    try:
        return Link(url=await port.billing_link(org_id=member.org_id, seats=seats, now=now))
    except BillingUnavailable as error:
        problem = _("I couldn't reach the billing provider ({error}). Try again soon.", error=error)
        return Link(problem=problem)


async def show_billing(ctx: CommandContext, command: c.Billing) -> str:
    org, now = ctx.org, ctx.clock.now()
    seats = await active_seats(ctx.db, org.id)
    lines = [_("**Plan:** {plan}", plan=_plan_line(ctx))]
    if (paused := pause_reason(org, now)) is not None:
        lines.append(_("**Check-ins are paused:** {reason}. Nothing is deleted.", reason=paused))
    lines.append(
        _("**Seats:** {seats} active members (billed: {billed}) — {price}.", seats=seats,
          billed=org.billed_seats, price=_(PRICE))
    )  # fmt: skip
    if ctx.billing_url:
        live = org.stripe_subscription_id and org.plan_status != PlanStatus.CANCELED.value
        label = _("Manage billing") if live else _("Subscribe")
        lines.append(f"[{label}]({ctx.billing_url})")
    elif ctx.billing_problem:
        lines.append(ctx.billing_problem)
    return "\n".join(lines)


def _plan_line(ctx: CommandContext) -> str:
    org = ctx.org
    status = PlanStatus(org.plan_status)
    if status is PlanStatus.TRIALING and org.trial_ends_at is not None:
        return _("trial, ends {day}", day=org.trial_ends_at.strftime("%Y-%m-%d"))
    if status is PlanStatus.PAST_DUE and org.grace_ends_at is not None:
        return _(
            "payment overdue — check-ins go on until {day}",
            day=org.grace_ends_at.strftime("%Y-%m-%d"),
        )
    if status is PlanStatus.ACTIVE and org.current_period_end is not None:
        return _("active, next invoice {day}", day=org.current_period_end.strftime("%Y-%m-%d"))
    return _(_PLAN_WORDS[status])


#: Each plan status in words.
_PLAN_WORDS = {
    PlanStatus.TRIALING: N_("trialing"),
    PlanStatus.ACTIVE: N_("active"),
    PlanStatus.PAST_DUE: N_("past due"),
    PlanStatus.CANCELED: N_("canceled"),
}
