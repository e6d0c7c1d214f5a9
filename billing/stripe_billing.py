"""core.ports.Billing on Stripe (StripeClient, v1 namespace, async calls over httpx).

Every create call is split into phases (STYLE practice 11): its intent is recorded in
`billing_calls` under the idempotency key it will carry (derived from what it creates),
the call is made with that key, and its result is recorded. A retry, a double click or a
second worker reads the recorded result, or repeats the call with the same key (Stripe
answers it with the first object, for 24 hours); a customer intent left unfinished for
longer is looked up by its metadata before it is created again.

One subscription per organisation: before a new Checkout Session is made, the customer's
sessions still open (but the one being made) are expired, each expiry recorded the same
way, so an older page can no longer be paid. A second subscription that gets paid all the
same (a page paid before the webhook told us, two tabs at once) is canceled by
`cancel_duplicate`, which core calls when a webhook names it.
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

from core.billing import ENDED
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
#: The idempotency key a Checkout Session was made under (in its metadata): the page a
#: take-over is about to return is never one it expires.
KEY_METADATA = "vizdots_checkout_key"
#: Why VizDots canceled a subscription (its cancellation_details.comment): a look-up after
#: a crash tells our cancellation from one made elsewhere.
DUPLICATE_COMMENT = "VizDots: a second subscription of an organisation that already has one"


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

    async def cancel_duplicate(self, *, org_id: int, subscription_id: str, now: datetime) -> bool:
        """Cancel at once, with `prorate` and `invoice_now` (Stripe's documented way to
        settle a period paid in advance): Stripe issues a final invoice crediting the unused
        time of the period just paid — all of it, minutes after paying — to the customer's
        credit balance, which pays the kept subscription's next invoices. Nothing goes back
        to the card (that would be a Refund, which VizDots does not make); a trialing
        duplicate was charged nothing. A crashed attempt is looked up before it is repeated:
        canceled with our comment is ours."""
        key = f"vizdots-cancel-{subscription_id}"

        async def cancel() -> str:
            found = await self.client.v1.subscriptions.retrieve_async(subscription_id)
            if found["status"] in ENDED:
                details = found.to_dict().get("cancellation_details") or {}
                return "canceled" if details.get("comment") == DUPLICATE_COMMENT else "ended"
            await self.client.v1.subscriptions.cancel_async(
                subscription_id,
                {"prorate": True, "invoice_now": True,
                 "cancellation_details": {"comment": DUPLICATE_COMMENT}},
                {"idempotency_key": key},
            )  # fmt: skip
            return "canceled"

        try:
            result = await self._once(org_id=org_id, kind="cancel", key=key, now=now, create=cancel)
        except stripe.StripeError as error:
            raise BillingUnavailable(_why(error)) from None
        return result == "canceled"

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
        key, earlier = await self._checkout_key(org_id, f"{customer}-{seats}-{trial}", now)
        params: dict[str, Any] = {
            "mode": "subscription",
            "customer": customer,
            "client_reference_id": str(org_id),
            "line_items": [
                {"price": self.config.base_price_id, "quantity": 1},
                {"price": self.config.seat_price_id, "quantity": max(seats, 1)},
            ],
            "subscription_data": {"metadata": {ORG_METADATA: str(org_id)}},
            "metadata": {ORG_METADATA: str(org_id), KEY_METADATA: key},
            "success_url": self.config.return_url,
            "cancel_url": self.config.return_url,
        }
        if carried:
            params["subscription_data"]["trial_end"] = trial

        async def create() -> str:
            if earlier:  # an older page must not be payable once this one exists
                await self._expire_open(org_id, customer, keep=key, now=now)
            made = await self.client.v1.checkout.sessions.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": key},
            )
            return str(made["url"])

        return await self._once(org_id=org_id, kind="checkout", key=key, now=now, create=create)

    async def _checkout_key(self, org_id: int, terms: str, now: datetime) -> tuple[str, bool]:
        """The key of the org's latest Checkout when it was made on the same terms
        (customer, seats, trial end) less than KEYS_KEPT ago — a double click, a retry or a
        take-over gets that page — else a new one, numbered after all the org's earlier
        ones (so no expired page's key comes back). And whether there are earlier ones."""
        async with self.sessions() as db:
            rows = (
                await db.execute(
                    select(BillingCall.key, BillingCall.created_at)
                    .where(BillingCall.org_id == org_id, BillingCall.kind == "checkout")
                    .order_by(BillingCall.created_at.desc(), BillingCall.key.desc())
                )
            ).all()
        key = f"vizdots-checkout-{org_id}-{len(rows) + 1}-{terms}"
        if rows and rows[0].key.endswith(f"-{terms}") and now - rows[0].created_at < KEYS_KEPT:
            key = rows[0].key
        return key, any(row.key != key for row in rows)

    async def _expire_open(self, org_id: int, customer: str, *, keep: str, now: datetime) -> None:
        """Expire the customer's Checkout Sessions still open, but the one made under
        `keep`: Stripe lets nobody pay an expired one."""
        found = await self.client.v1.checkout.sessions.list_async(
            {"customer": customer, "status": "open", "limit": 100}
        )
        async for session in found.auto_paging_iter():
            if (session.to_dict().get("metadata") or {}).get(KEY_METADATA) != keep:
                await self._expire(org_id, str(session["id"]), now)

    async def _expire(self, org_id: int, session_id: str, now: datetime) -> None:
        key = f"vizdots-expire-{session_id}"

        async def expire() -> str:
            try:
                done = await self.client.v1.checkout.sessions.expire_async(
                    session_id, options={"idempotency_key": key}
                )
            except stripe.InvalidRequestError:  # paid or expired meanwhile: not open any more
                return "not_open"
            return str(done["status"])

        await self._once(org_id=org_id, kind="expire", key=key, now=now, create=expire)

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
