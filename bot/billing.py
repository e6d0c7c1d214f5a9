"""Wiring of billing: the Stripe adapter (core.ports.Billing), the seat syncer and the
webhook router. Billing is on when STRIPE_SECRET_KEY and both price ids are set; the
webhook answers 503 until STRIPE_WEBHOOK_SECRET is set."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings, secret_values
from core.billing import BillingRules, StripeSaid, apply_billing
from core.ports import Billing, Clock
from core.seats import SeatSyncer

if TYPE_CHECKING:
    from bot.bootstrap import Services

log = logging.getLogger("vizdots.billing")


def billing_rules(settings: Settings) -> BillingRules:
    return BillingRules(grace=timedelta(days=settings.billing_grace_days))


def build_billing(
    settings: Settings, *, sessions: async_sessionmaker[AsyncSession]
) -> Billing | None:
    """The Stripe adapter, or None when billing is not configured (or not installed)."""
    if not settings.integrations()["stripe"]:
        return None
    try:
        from billing.stripe_billing import StripeBilling, StripeConfig
    except ImportError:
        log.info("billing disabled: install the billing extra (vizdots[billing])")
        return None
    assert settings.stripe_secret_key and settings.stripe_base_price_id
    assert settings.stripe_seat_price_id
    config = StripeConfig(
        api_key=settings.stripe_secret_key.get_secret_value(),
        base_price_id=settings.stripe_base_price_id,
        seat_price_id=settings.stripe_seat_price_id,
        return_url=str(settings.billing_return_url or settings.app_base_url),
        api_base=str(settings.stripe_api_base) if settings.stripe_api_base else None,
    )
    return StripeBilling(config=config, sessions=sessions)


def build_seat_sync(
    settings: Settings,
    *,
    sessions: async_sessionmaker[AsyncSession],
    billing: Billing | None,
    clock: Clock,
) -> SeatSyncer | None:
    if billing is None:
        return None
    return SeatSyncer(
        sessions=sessions,
        billing=billing,
        clock=clock,
        window=timedelta(seconds=settings.seat_sync_delay_seconds),
        claim_timeout=timedelta(seconds=settings.claim_timeout_seconds),
    )


def billing_webhook_router(services: Services) -> APIRouter:
    """POST /api/billing/webhook (503 while STRIPE_WEBHOOK_SECRET is unset)."""
    try:
        from billing.webhook import billing_webhook_routes
    except ImportError:
        log.info("billing webhook not served: install the billing extra (vizdots[billing])")
        return APIRouter()
    settings = services.settings
    rules = billing_rules(settings)

    async def apply(said: StripeSaid) -> str:
        return await apply_billing(
            services.sessions, said, rules=rules, now=services.clock.now(), billing=services.billing
        )

    secrets = secret_values(settings.stripe_webhook_secret)
    return billing_webhook_routes(secrets=secrets, apply=apply)
