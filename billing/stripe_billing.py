"""core.ports.Billing on Stripe (StripeClient, v1 namespace, async calls over httpx).

Every create call is split into phases (STYLE practice 11): its intent is recorded in
`billing_calls` under the idempotency key it will carry (derived from what it creates),
the call is made with that key, and its result is recorded. A retry, a double click or a
second worker reads the recorded result, or repeats the call with the same key (Stripe
answers it with the first object, for 24 hours); a customer intent left unfinished for
longer is looked up by its metadata before it is created again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import stripe
from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.domain import PlanStatus
from core.ports import BillingUnavailable
from core.store.models import BillingCall, Organization
from core.store.seed import dialect_insert

log = logging.getLogger("vizdots.billing.stripe")

#: Stripe keeps idempotency keys at least this long.
KEYS_KEPT = timedelta(hours=23)
#: Checkout refuses a trial end closer than 48 hours; a shorter rest is billed at once.
MIN_TRIAL_LEFT = timedelta(hours=48, minutes=5)
ORG_METADATA = "vizdots_org_id"


@dataclass(frozen=True)
class StripeConfig:
    api_key: str
    base_price_id: str
    seat_price_id: str
    return_url: str
    api_base: str | None = None


def make_client(config: StripeConfig) -> stripe.StripeClient:
    base = {"api": config.api_base.rstrip("/")} if config.api_base else None
    return stripe.StripeClient(
        config.api_key,
        base_addresses=base,  # type: ignore[arg-type]
        http_client=stripe.HTTPXClient(),
        max_network_retries=2,
    )


class StripeBilling:
    def __init__(
        self,
        *,
        config: StripeConfig,
        sessions: async_sessionmaker[AsyncSession],
        client: stripe.StripeClient | None = None,
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.client = client or make_client(config)

    # --- core.ports.Billing ------------------------------------------------------------------
    async def billing_link(self, *, org_id: int, seats: int, now: datetime) -> str:
        async with self.sessions() as db:
            org = await db.get_one(Organization, org_id)
            name, customer, trial_end = org.name, org.stripe_customer_id, org.trial_ends_at
            # a canceled subscription is over: subscribing again is a new Checkout
            live = org.plan_status != PlanStatus.CANCELED.value
            subscription = org.stripe_subscription_id if live else None
        try:
            if customer is None:
                customer = await self._customer(org_id, name, now)
            if subscription is not None:
                return await self._portal(org_id, customer, now)
            return await self._checkout(org_id, customer, seats, trial_end, now)
        except stripe.StripeError as error:
            raise BillingUnavailable(_why(error)) from None

    async def sync_seats(self, *, subscription_id: str, seats: int, key: str) -> int:
        try:
            found = await self.client.v1.subscriptions.retrieve_async(subscription_id)
            item = next(
                (
                    i
                    for i in found["items"]["data"]
                    if i["price"]["id"] == self.config.seat_price_id
                ),
                None,
            )
            if item is None:
                raise BillingUnavailable(f"subscription {subscription_id} has no seat item")
            if int(item["quantity"] or 0) == seats:
                return seats  # already right: nothing to update (the daily reconcile)
            updated = await self.client.v1.subscription_items.update_async(
                item["id"],
                {"quantity": seats, "proration_behavior": "create_prorations"},
                {"idempotency_key": key},
            )
            return int(updated["quantity"] or 0)
        except stripe.StripeError as error:
            raise BillingUnavailable(_why(error)) from None

    # --- the create calls --------------------------------------------------------------------
    async def _customer(self, org_id: int, name: str, now: datetime) -> str:
        key = f"vizdots-customer-org-{org_id}"

        async def create() -> str:
            customer = await self.client.v1.customers.create_async(
                {"name": name, "metadata": {ORG_METADATA: str(org_id)}},
                {"idempotency_key": key},
            )
            return str(customer["id"])

        async def look_up() -> str | None:
            found = await self.client.v1.customers.search_async(
                {"query": f"metadata['{ORG_METADATA}']:'{org_id}'"}
            )
            return str(found["data"][0]["id"]) if found["data"] else None

        customer_id = await self._once(
            org_id=org_id, kind="customer", key=key, now=now, create=create, look_up=look_up
        )
        async with self.sessions.begin() as db:
            await db.execute(
                update(Organization)
                .where(Organization.id == org_id, Organization.stripe_customer_id.is_(None))
                .values(stripe_customer_id=customer_id)
            )
        return customer_id

    async def _checkout(
        self, org_id: int, customer: str, seats: int, trial_end: datetime | None, now: datetime
    ) -> str:
        carried = trial_end if trial_end is not None and trial_end - now >= MIN_TRIAL_LEFT else None
        trial = int(carried.timestamp()) if carried else 0
        # one session per org, customer, seats, trial end and day: a double click or a
        # retry gets the same page; tomorrow's link is a fresh one (sessions expire in 24 h)
        key = f"vizdots-checkout-{org_id}-{customer}-{seats}-{trial}-{now:%Y%m%d}"
        params: dict[str, Any] = {
            "mode": "subscription",
            "customer": customer,
            "client_reference_id": str(org_id),
            "line_items": [
                {"price": self.config.base_price_id, "quantity": 1},
                {"price": self.config.seat_price_id, "quantity": max(seats, 1)},
            ],
            "subscription_data": {"metadata": {ORG_METADATA: str(org_id)}},
            "metadata": {ORG_METADATA: str(org_id)},
            "success_url": self.config.return_url,
            "cancel_url": self.config.return_url,
        }
        if carried:
            params["subscription_data"]["trial_end"] = trial

        async def create() -> str:
            made = await self.client.v1.checkout.sessions.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": key},
            )
            return str(made["url"])

        return await self._once(org_id=org_id, kind="checkout", key=key, now=now, create=create)

    async def _portal(self, org_id: int, customer: str, now: datetime) -> str:
        key = f"vizdots-portal-{customer}-{now:%Y%m%dT%H%M}"  # portal sessions live minutes

        async def create() -> str:
            made = await self.client.v1.billing_portal.sessions.create_async(
                {"customer": customer, "return_url": self.config.return_url},
                {"idempotency_key": key},
            )
            return str(made["url"])

        return await self._once(org_id=org_id, kind="portal", key=key, now=now, create=create)

    async def _once(
        self,
        *,
        org_id: int,
        kind: str,
        key: str,
        now: datetime,
        create: Callable[[], Awaitable[str]],
        look_up: Callable[[], Awaitable[str | None]] | None = None,
    ) -> str:
        """Phase 1: the intent (or the result already recorded); the call; phase 2: the
        result. An intent older than Stripe's key retention is looked up first."""
        table = BillingCall.__table__
        assert isinstance(table, Table)
        async with self.sessions.begin() as db:
            insert = dialect_insert(db.get_bind(), table).values(
                key=key, org_id=org_id, kind=kind, created_at=now
            )
            await db.execute(insert.on_conflict_do_nothing(index_elements=["key"]))
            call = (
                await db.execute(select(BillingCall).where(BillingCall.key == key))
            ).scalar_one()
            result, since = call.result, call.created_at
        if result is not None:
            return result
        if look_up is not None and now - since > KEYS_KEPT:
            result = await look_up()
        if result is None:
            result = await create()
        async with self.sessions.begin() as db:
            await db.execute(
                update(BillingCall)
                .where(BillingCall.key == key)
                .values(result=result, finished_at=now)
            )
        log.info("stripe %s for org %s recorded", kind, org_id)
        return result


def _why(error: stripe.StripeError) -> str:
    """What went wrong, for an admin or operator: Stripe's message, never the key."""
    status = f"HTTP {error.http_status}: " if error.http_status else ""
    message = error.user_message or type(error).__name__
    return f"{status}{message}"[:200]
