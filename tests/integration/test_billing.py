"""Billing end to end: the real stripe SDK against a local fake Stripe API, webhooks signed
as Stripe signs them, on SQLite and PostgreSQL.

The product's decisions (trial end, grace) follow the FakeClock; webhook signatures carry
the real time (the SDK checks them against time.time()), which is the signature scheme's
business, not the product's.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.app import create_app
from bot.bootstrap import Services, build_services
from bot.settings import load_settings
from bot.worker import plan
from core.billing import BillingRules, tell_paused
from core.domain import Provider
from core.inbound import CommandRequest, Sender
from core.members import sync_members
from core.ports import MemberProfile
from core.store.models import BillingEvent, CheckinSession, Member, Organization, OutboxMessage
from tests.fakes.clock import FakeClock
from tests.fakes.http_server import serving
from tests.fakes.stripe_api import BASE_PRICE, SEAT_PRICE, FakeStripe, body_of, event, signed
from tests.fakes.world import add_member, add_org, add_schedule, outbox_settled
from tests.faults import inserts_refused

SECRET = "whsec_test_secret_for_vizdots"
START = datetime(2026, 3, 2, 7, tzinfo=UTC)
TRIAL_END = START + timedelta(days=14)


@dataclass
class World:
    services: Services
    stripe: FakeStripe
    client: httpx.AsyncClient
    clock: FakeClock
    org_id: int

    async def say(self, who: str, text: str = "billing") -> str:
        sender = Sender(Provider.DEV, "acme", who)
        return await self.services.run_command(CommandRequest(sender=sender, text=text))

    async def post(self, kind: str, obj: dict[str, Any], *, created: int) -> httpx.Response:
        return await self.send(event(kind, obj, created=created))

    async def send(self, evt: dict[str, Any], *, at: int | None = None) -> httpx.Response:
        payload = body_of(evt)
        headers = signed(payload, SECRET, at=at)
        return await self.client.post("/api/billing/webhook", content=payload, headers=headers)

    async def org(self) -> Organization:
        async with self.services.sessions() as db:
            return await db.get_one(Organization, self.org_id)

    async def notices(self, prefix: str) -> list[str]:
        async with self.services.sessions() as db:
            keys = await db.scalars(
                select(OutboxMessage.key).where(OutboxMessage.key.like(f"{prefix}%"))
            )
            return sorted(keys)

    async def planned(self) -> int:
        return await plan(self.services, now=self.clock.now())

    async def events(self) -> int:
        async with self.services.sessions() as db:
            return int(await db.scalar(select(func.count()).select_from(BillingEvent)) or 0)


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[World]:
    stripe = FakeStripe()
    clock = FakeClock(START)
    async with serving(stripe.app()) as base:
        settings = load_settings(
            database_url=db_url, stripe_api_key="sk_test_fake", stripe_api_base=base,
            stripe_base_price_id=BASE_PRICE, stripe_seat_price_id=SEAT_PRICE,
            stripe_webhook_secret=SECRET, seat_sync_delay_seconds=5,
        )  # fmt: skip
        services = build_services(settings, clock=clock, loop_interval=None)
        async with services.sessions.begin() as db:
            org = await add_org(db, "acme", plan_status="trialing", trial_ends_at=TRIAL_END)
            await add_member(db, org, "ann@acme.test", role="owner", timezone="UTC")
            await add_member(db, org, "bob@acme.test", timezone="UTC")
            await add_member(db, org, "cid@acme.test", timezone="UTC")
            await add_schedule(db, org, weekdays=0b1111111)
            org_id = org.id
        app = create_app(services)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield World(services, stripe, client, clock, org_id)


def ts(when: datetime) -> int:
    return int(when.timestamp())


async def test_the_whole_lifecycle(world: World) -> None:
    stripe = world.stripe
    # --- trial: an admin asks for the link; a double click makes nothing twice -----------
    reply = await world.say("ann@acme.test")
    assert "**Plan:** trial, ends 2026-03-16" in reply and "3 active members" in reply
    (session,) = stripe.sessions.values()
    assert f"[Subscribe]({session['url']})" in reply
    (customer,) = stripe.made("/v1/customers")
    assert customer.idempotency_key == f"vizdots-customer-org-{world.org_id}"
    (checkout,) = stripe.made("/v1/checkout/sessions")
    assert checkout.idempotency_key and checkout.idempotency_key.startswith("vizdots-checkout-")
    params = checkout.params
    assert params["mode"] == "subscription"
    assert params["line_items"] == {
        "0": {"price": BASE_PRICE, "quantity": "1"},
        "1": {"price": SEAT_PRICE, "quantity": "3"},
    }
    assert params["subscription_data"]["trial_end"] == str(ts(TRIAL_END))
    calls = len(stripe.calls)
    assert session["url"] in await world.say("ann@acme.test")
    assert len(stripe.calls) == calls  # the recorded result, no second call
    assert "only admins" in await world.say("bob@acme.test")
    assert len(stripe.calls) == calls

    # --- checkout completes: subscribed trial, then active --------------------------------
    sub = stripe.complete_checkout(session["id"])
    t0 = int(time.time())
    obj = {"id": session["id"], "object": "checkout.session", "customer": sub["customer"],
           "subscription": sub["id"], "client_reference_id": str(world.org_id)}  # fmt: skip
    assert (await world.post("checkout.session.completed", obj, created=t0)).status_code == 200
    response = await world.post("customer.subscription.created", sub, created=t0)
    assert response.json()["result"] == "trialing->trialing"
    org = await world.org()
    assert (org.plan_status, org.stripe_subscription_id) == ("trialing", sub["id"])
    assert org.stripe_customer_id == sub["customer"]

    world.clock.advance(timedelta(days=15))  # the trial is over, but a subscription is in place
    assert await world.planned() > 0
    sub["status"] = "active"
    response = await world.post("customer.subscription.updated", sub, created=t0 + 10)
    assert response.json()["result"] == "trialing->active"
    assert "[Manage billing](https://billing.stripe.test/" in await world.say("ann@acme.test")

    # --- seats follow members: 40 joiners in two syncs make one prorated update ----------
    await _join(world, [f"p{n}" for n in range(20)])
    await _join(world, [f"p{n}" for n in range(40)])
    assert (await world.services.seat_sync.run_due()).synced == 0  # dated, not due yet
    world.clock.advance(timedelta(seconds=6))
    assert (await world.services.seat_sync.run_due()).synced == 1
    (update,) = stripe.made("/v1/subscription_items/")
    assert update.params == {"quantity": "43", "proration_behavior": "create_prorations"}
    assert update.idempotency_key and update.idempotency_key.startswith("seats-")
    assert stripe.seat_quantity(sub["id"]) == 43 and (await world.org()).billed_seats == 43
    assert (await world.services.seat_sync.run_due()).synced == 0  # nothing staged any more

    # --- payment failed: grace, admins told once -----------------------------------------
    invoice = {"id": "in_1", "object": "invoice", "customer": sub["customer"],
               "subscription": sub["id"]}  # fmt: skip
    failed = event("invoice.payment_failed", invoice, created=t0 + 20)
    assert (await world.send(failed)).json()["result"] == "active->past_due"
    assert (await world.send(failed)).json()["result"] == "duplicate"
    again = await world.post("invoice.payment_failed", invoice, created=t0 + 30)
    assert again.json()["result"] == "past_due->past_due"
    told = await world.notices("billing:past_due:")
    assert len(told) == 1  # the owner only: members are not told
    org = await world.org()
    assert org.grace_ends_at == world.clock.now() + timedelta(days=7)
    world.clock.advance(timedelta(days=6))
    assert await world.planned() > 0  # still in grace
    world.clock.advance(timedelta(days=2))
    assert await world.planned() == 0  # grace over: paused
    assert await tell_paused(world.services.sessions, rules=_rules(), now=world.clock.now()) == 1
    assert await tell_paused(world.services.sessions, rules=_rules(), now=world.clock.now()) == 0

    # --- canceled; a late, older event cannot bring it back ------------------------------
    sub["status"] = "canceled"
    assert (await world.post("customer.subscription.deleted", sub, created=t0 + 40)).status_code
    stale = dict(sub, status="active")
    late = await world.post("customer.subscription.updated", stale, created=t0 + 35)
    assert late.json()["result"] == "stale"
    assert (await world.org()).plan_status == "canceled"
    assert await world.planned() == 0

    # --- resubscribed: a new Checkout, delivery resumes ----------------------------------
    reply = await world.say("ann@acme.test")
    assert "paused" in reply and "[Subscribe](" in reply
    assert len(stripe.made("/v1/customers")) == 1  # the same customer
    new_session = stripe.made("/v1/checkout/sessions")[-1]
    assert new_session.params["line_items"]["1"]["quantity"] == "43"
    assert "trial_end" not in new_session.params.get("subscription_data", {})
    new_id = next(s for s in stripe.sessions.values() if s["status"] == "open")["id"]
    sub2 = stripe.complete_checkout(new_id)
    done = {"id": new_id, "object": "checkout.session", "customer": sub2["customer"],
            "subscription": sub2["id"], "client_reference_id": str(world.org_id)}  # fmt: skip
    assert (await world.post("checkout.session.completed", done, created=t0 + 50)).json()[
        "result"
    ] == "canceled->active"
    old_news = await world.post("customer.subscription.deleted", sub, created=t0 + 40)
    assert old_news.json()["result"] == "stale"
    assert (await world.org()).stripe_subscription_id == sub2["id"]
    assert await world.planned() > 0

    # --- the notices reach the owner's chat ------------------------------------------------
    await world.services.outbox.send_due()
    await outbox_settled(world.services.sessions)  # the app's own sender loop may have one
    async with world.services.sessions() as db:
        statuses = set(
            await db.scalars(
                select(OutboxMessage.status).where(OutboxMessage.key.like("billing:%"))
            )
        )
    assert statuses == {"sent"}


async def _join(world: World, names: list[str]) -> None:
    profiles = [MemberProfile(f"{n}@acme.test", n, f"{n}@acme.test", "UTC") for n in names]
    async with world.services.sessions.begin() as db:
        await sync_members(
            db, org_id=world.org_id, provider=Provider.DEV, profiles=profiles,
            default_timezone="UTC", complete=False,
        )  # fmt: skip


def _rules() -> BillingRules:
    return BillingRules(grace=timedelta(days=7))


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Stripe-Signature": "t=1,v1=deadbeef"},
        "wrong-secret",
        "too-old",
    ],
)
async def test_bad_missing_or_old_signatures_are_refused_and_change_nothing(
    world: World, headers: Any
) -> None:
    evt = event("customer.subscription.updated", _subscription("canceled"), created=ts(START))
    payload = body_of(evt)
    if headers == "wrong-secret":
        headers = signed(payload, "whsec_not_ours")
    elif headers == "too-old":
        headers = signed(payload, SECRET, at=int(time.time()) - 301)
    response = await world.client.post("/api/billing/webhook", content=payload, headers=headers)
    assert response.status_code == 401
    assert await world.events() == 0
    assert (await world.org()).plan_status == "trialing"


async def test_a_signed_body_that_is_no_event_is_a_400(world: World) -> None:
    payload = b'{"hello": "world"}'
    headers = signed(payload, SECRET)
    response = await world.client.post("/api/billing/webhook", content=payload, headers=headers)
    assert response.status_code == 400 and await world.events() == 0


async def test_a_failing_handler_answers_500_and_stripes_retry_is_processed_once(
    world: World,
) -> None:
    await _subscribed(world)
    evt = event("invoice.payment_failed", _invoice(), created=ts(START) + 100)
    async with inserts_refused(world.services.engine, "billing_events"):  # a database hiccup
        assert (await world.send(evt)).status_code == 500
    assert await world.events() == 1  # only _subscribed's
    assert (await world.org()).plan_status == "active"
    assert (await world.send(evt)).json()["result"] == "active->past_due"  # Stripe's retry
    assert (await world.send(evt)).json()["result"] == "duplicate"
    assert len(await world.notices("billing:past_due:")) == 1


async def test_unknown_types_are_acknowledged_and_ignored(world: World) -> None:
    evt = event("charge.refunded", {"id": "ch_1", "object": "charge"}, created=ts(START))
    response = await world.send(evt)
    assert response.status_code == 200 and response.json()["result"] == "ignored"
    assert (await world.org()).plan_status == "trialing"


async def test_a_trial_ending_without_subscription_warns_then_pauses_once(world: World) -> None:
    org = {"vizdots_org_id": str(world.org_id)}
    warn = {"id": "sub_none", "object": "subscription", "customer": None,
            "trial_end": ts(TRIAL_END), "metadata": org}  # fmt: skip
    result = await world.post("customer.subscription.trial_will_end", warn, created=ts(START))
    assert result.json()["result"] == "told"
    assert len(await world.notices("billing:trial_ending:")) == 1
    world.clock.advance(timedelta(days=14, seconds=1))
    assert await world.planned() == 0
    assert await tell_paused(world.services.sessions, rules=_rules(), now=world.clock.now()) == 1
    assert await tell_paused(world.services.sessions, rules=_rules(), now=world.clock.now()) == 0
    assert len(await world.notices("billing:paused:")) == 1


async def test_delivery_skips_a_paused_org_and_resumes_after_subscribing(world: World) -> None:
    world.clock.advance(timedelta(days=15))  # trial over, no subscription
    async with world.services.sessions.begin() as db:
        ann = await db.scalar(select(Member).where(Member.email == "ann@acme.test"))
        assert ann is not None
    from tests.fakes.world import add_due_session

    due = world.clock.now() - timedelta(minutes=1)
    paused_id = await add_due_session(world.services.sessions, "ann@acme.test", due=due)
    await world.services.delivery.deliver_due(now=world.clock.now())
    async with world.services.sessions() as db:
        paused = await db.get_one(CheckinSession, paused_id)
        assert paused.state == "skipped" and paused.delivered_at is None
    await _subscribed(world)
    world.clock.advance(timedelta(days=1))
    assert await world.planned() > 0
    counts = await world.services.delivery.deliver_due(now=world.clock.now() + timedelta(hours=3))
    assert counts.delivered > 0


async def test_seat_sync_is_retried_after_stripe_fails(world: World) -> None:
    sub = await _subscribed(world)
    world.stripe.fail_next("/v1/subscription_items/", times=3)  # the SDK retries twice itself
    await _join(world, ["dan"])
    world.clock.advance(timedelta(seconds=1))
    await world.services.seat_sync.run_due()
    world.clock.advance(timedelta(seconds=6))
    assert (await world.services.seat_sync.run_due()).retrying == 1
    assert world.stripe.seat_quantity(sub["id"]) == 3
    world.clock.advance(timedelta(minutes=1))
    assert (await world.services.seat_sync.run_due()).synced == 1
    assert world.stripe.seat_quantity(sub["id"]) == 4
    # the daily reconcile finds Stripe right and updates nothing
    updates = len(world.stripe.made("/v1/subscription_items/"))
    assert await world.services.seat_sync.reconcile() == 1
    world.clock.advance(timedelta(seconds=6))
    await world.services.seat_sync.run_due()
    world.clock.advance(timedelta(seconds=6))
    assert (await world.services.seat_sync.run_due()).synced == 1
    assert len(world.stripe.made("/v1/subscription_items/")) == updates


async def _subscribed(world: World) -> dict[str, Any]:
    await world.say("ann@acme.test")
    session = next(s for s in world.stripe.sessions.values() if s["status"] == "open")
    sub = world.stripe.complete_checkout(session["id"], status="active")
    response = await world.post("customer.subscription.created", sub, created=ts(START))
    assert response.status_code == 200
    return sub


def _subscription(status: str) -> dict[str, Any]:
    return {"id": "sub_x", "object": "subscription", "customer": "cus_x", "status": status}


def _invoice() -> dict[str, Any]:
    return {"id": "in_x", "object": "invoice", "customer": "cus_test1", "subscription": None}


async def test_without_stripe_settings_billing_says_so_and_the_webhook_is_off(
    db_url: str,
) -> None:
    services = build_services(
        load_settings(database_url=db_url), clock=FakeClock(START), loop_interval=None
    )
    async with services.sessions.begin() as db:
        org = await add_org(db, "acme", plan_status="trialing", trial_ends_at=TRIAL_END)
        await add_member(db, org, "ann@acme.test", role="owner")
    sender = Sender(Provider.DEV, "acme", "ann@acme.test")
    reply = await services.run_command(CommandRequest(sender=sender, text="/vizdots billing"))
    assert "**Plan:** trial, ends 2026-03-16" in reply and "STRIPE_SECRET_KEY" in reply
    app = create_app(services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.post("/api/billing/webhook", content=b"{}")
    assert response.status_code == 503
