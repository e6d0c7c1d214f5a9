"""One subscription per organisation, whatever the admin clicks: the real stripe SDK against
the local fake Stripe API, webhooks signed as Stripe signs them, on SQLite and PostgreSQL.

A new Checkout page expires the older ones still open before it is made; a second
subscription paid all the same (a page paid before the webhook arrived) is canceled at
once, its payment credited, the first one kept, and the admins are told once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from bot.app import create_app
from bot.bootstrap import Services, build_services
from bot.settings import load_settings
from core.domain import Provider
from core.inbound import CommandRequest, Sender
from core.store.models import BillingCall, Member, Organization, OutboxMessage
from tests.fakes.clock import FakeClock
from tests.fakes.http_server import serving
from tests.fakes.stripe_api import (
    BASE_PRICE,
    SEAT_PRICE,
    Call,
    FakeStripe,
    SessionNotOpen,
    body_of,
    event,
    signed,
)
from tests.fakes.world import add_member, add_org, outbox_settled
from tests.faults import inserts_refused

SECRET = "whsec_test_secret_for_vizdots"
MONDAY = datetime(2026, 3, 2, 9, tzinfo=UTC)
TUESDAY = MONDAY + timedelta(days=1)
#: Three active members: $29 + 3 × $3, in cents.
ONE_MONTH = 2900 + 3 * 300


@dataclass
class World:
    services: Services
    stripe: FakeStripe
    client: httpx.AsyncClient
    clock: FakeClock
    org_id: int

    async def link(self) -> str:
        """What the owner's `billing` command answers."""
        sender = Sender(Provider.DEV, "acme", "ann@acme.test")
        return await self.services.run_command(CommandRequest(sender=sender, text="billing"))

    def open_sessions(self) -> list[str]:
        return [s["id"] for s in self.stripe.sessions.values() if s["status"] == "open"]

    def creates(self) -> list[int]:
        """Positions in Stripe's call log of the Checkout Sessions made (replays excluded)."""
        return [
            n
            for n, call in enumerate(self.stripe.calls)
            if (call.method, call.path) == ("POST", "/v1/checkout/sessions") and not call.replayed
        ]

    def cancels(self, sub: dict[str, Any]) -> list[Call]:
        path = f"/v1/subscriptions/{sub['id']}"
        return [c for c in self.stripe.made(path) if c.method == "DELETE"]

    def position(self, method: str, path: str) -> int:
        (found,) = [
            n for n, c in enumerate(self.stripe.calls) if (c.method, c.path) == (method, path)
        ]
        return found

    async def deliver(self, evt: dict[str, Any]) -> httpx.Response:
        payload = body_of(evt)
        headers = signed(payload, SECRET)
        return await self.client.post("/api/billing/webhook", content=payload, headers=headers)

    async def send(self, evt: dict[str, Any]) -> str:
        """Deliver an event that must be processed; its result."""
        response = await self.deliver(evt)
        assert response.status_code == 200, response.text
        return str(response.json()["result"])

    def paid(self, session_id: str) -> dict[str, Any]:
        """The customer pays a Checkout page; Stripe's webhook is not delivered yet."""
        return self.stripe.complete_checkout(session_id)

    def completed(self, session_id: str, sub: dict[str, Any], *, at: int) -> dict[str, Any]:
        obj = {"id": session_id, "object": "checkout.session", "customer": sub["customer"],
               "subscription": sub["id"], "client_reference_id": str(self.org_id)}  # fmt: skip
        return event("checkout.session.completed", obj, created=at)

    async def org(self) -> Organization:
        async with self.services.sessions() as db:
            return await db.get_one(Organization, self.org_id)

    async def notices(self) -> list[tuple[str, str, str]]:
        """(member email, status, text) of each duplicate-subscription notice."""
        async with self.services.sessions() as db:
            rows = await db.execute(
                select(Member.email, OutboxMessage.status, OutboxMessage.payload)
                .join(Member, Member.id == OutboxMessage.member_id)
                .where(OutboxMessage.key.like("billing:duplicate:%"))
                .order_by(Member.email)
            )
            return [(str(email), status, payload["text"]) for email, status, payload in rows]


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[World]:
    """Acme's trial is over (Checkout bills at once): an owner, an admin and a member."""
    stripe = FakeStripe()
    clock = FakeClock(MONDAY)
    async with serving(stripe.app()) as base:
        settings = load_settings(
            database_url=db_url, stripe_api_key="sk_test_fake", stripe_api_base=base,
            stripe_base_price_id=BASE_PRICE, stripe_seat_price_id=SEAT_PRICE,
            stripe_webhook_secret=SECRET,
        )  # fmt: skip
        services = build_services(settings, clock=clock, loop_interval=None)
        async with services.sessions.begin() as db:
            org = await add_org(db, "acme", plan_status="trialing", trial_ends_at=MONDAY)
            await add_member(db, org, "ann@acme.test", role="owner", timezone="UTC")
            await add_member(db, org, "dee@acme.test", role="admin", timezone="UTC")
            await add_member(db, org, "bob@acme.test", timezone="UTC")
            org_id = org.id
        app = create_app(services)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield World(services, stripe, client, clock, org_id)


def ts(when: datetime) -> int:
    return int(when.timestamp())


async def test_a_link_asked_again_the_next_day_expires_the_earlier_page_first(
    world: World,
) -> None:
    await world.link()
    (monday,) = world.open_sessions()
    world.clock.advance(timedelta(days=1))
    reply = await world.link()
    (tuesday,) = world.open_sessions()
    assert (
        tuesday != monday and f"[Subscribe](https://checkout.stripe.test/c/pay/{tuesday})" in reply
    )
    assert world.stripe.sessions[monday]["status"] == "expired"
    first, second = world.creates()
    assert first < world.position("POST", f"/v1/checkout/sessions/{monday}/expire") < second
    with pytest.raises(SessionNotOpen):
        world.paid(monday)  # Monday's page can no longer be paid
    sub = world.paid(tuesday)
    assert world.stripe.live(sub["customer"]) == [sub["id"]]


async def test_a_changed_seat_count_expires_the_earlier_page_on_the_same_day(
    world: World,
) -> None:
    await world.link()
    (three_seats,) = world.open_sessions()
    async with world.services.sessions.begin() as db:
        await add_member(db, await db.get_one(Organization, world.org_id), "cy@acme.test")
    await world.link()
    (four_seats,) = world.open_sessions()
    assert world.stripe.sessions[three_seats]["status"] == "expired"
    assert world.stripe.sessions[four_seats]["params"]["line_items"]["1"]["quantity"] == "4"


async def test_a_double_click_gets_the_same_page_and_expires_nothing(world: World) -> None:
    first = await world.link()
    calls = len(world.stripe.calls)
    assert await world.link() == first
    assert len(world.stripe.calls) == calls and len(world.open_sessions()) == 1


async def test_two_paid_checkouts_leave_one_subscription_and_bill_the_org_once(
    world: World,
) -> None:
    twice = await _duplicate_canceled(world)
    kept, newcomer, customer = twice.kept, twice.newcomer, twice.kept["customer"]
    (cancel,) = world.cancels(newcomer)
    assert (cancel.params["prorate"], cancel.params["invoice_now"]) == ("true", "true")
    assert world.stripe.live(customer) == [kept["id"]]
    assert world.stripe.net_paid(customer) == ONE_MONTH  # the second payment is credited
    org = await world.org()
    assert (org.plan_status, org.stripe_subscription_id) == ("active", kept["id"])
    await world.services.outbox.send_due()
    await outbox_settled(world.services.sessions)
    told = await world.notices()
    assert [(email, status) for email, status, _ in told] == [
        ("ann@acme.test", "sent"),
        ("dee@acme.test", "sent"),
    ]  # the owner and the admin, not the member
    assert "second VizDots subscription was canceled" in told[0][2]


async def test_a_replayed_webhook_of_the_duplicate_cancels_once(world: World) -> None:
    twice = await _duplicate_canceled(world)
    kept, newcomer, at = twice.kept, twice.newcomer, ts(TUESDAY) + 100
    assert await world.send(twice.second) == "duplicate"
    created = event("customer.subscription.created", dict(newcomer, status="active"), created=at)
    assert await world.send(created) == "duplicate_canceled"
    deleted = event("customer.subscription.deleted", newcomer, created=at + 1)
    assert await world.send(deleted) == "other_subscription"
    assert len(world.cancels(newcomer)) == 1
    assert len(await world.notices()) == 2  # one per admin, once
    org = await world.org()
    assert (org.plan_status, org.stripe_subscription_id) == ("active", kept["id"])


async def test_a_cancel_stripe_fails_is_retried_by_stripe_and_done_once(world: World) -> None:
    twice = await _paid_twice(world)
    newcomer = twice.newcomer["id"]
    world.stripe.fail_next(f"/v1/subscriptions/{newcomer}", times=3)  # the SDK retries twice
    assert (await world.deliver(twice.second)).status_code == 500  # so Stripe retries it
    assert world.stripe.subscriptions[newcomer]["status"] == "active"
    assert await world.notices() == []
    assert await world.send(twice.second) == "duplicate_canceled"  # Stripe's retry
    assert world.stripe.subscriptions[newcomer]["status"] == "canceled"
    assert len(world.cancels(twice.newcomer)) == 1 and len(await world.notices()) == 2


async def test_a_take_over_after_a_crash_after_the_cancel_looks_it_up_and_tells_once(
    world: World,
) -> None:
    twice = await _paid_twice(world)
    async with inserts_refused(world.services.engine, "billing_notices"):
        assert (await world.deliver(twice.second)).status_code == 500  # after the cancel
    async with world.services.sessions.begin() as db:  # and killed before recording it
        await db.execute(
            update(BillingCall)
            .where(BillingCall.org_id == world.org_id, BillingCall.kind == "cancel")
            .values(result=None)
        )
    assert await world.send(twice.second) == "duplicate_canceled"  # Stripe's retry
    assert len(world.cancels(twice.newcomer)) == 1  # looked up, found canceled by us
    assert len(await world.notices()) == 2


async def test_a_second_subscription_already_ended_elsewhere_is_left_alone(
    world: World,
) -> None:
    twice = await _paid_twice(world)
    world.stripe.subscriptions[twice.newcomer["id"]]["status"] = "canceled"  # in the Dashboard
    assert await world.send(twice.second) == "other_subscription"
    assert world.cancels(twice.newcomer) == [] and await world.notices() == []
    assert (await world.org()).stripe_subscription_id == twice.kept["id"]


async def test_a_take_over_after_a_crash_between_intent_and_call_makes_one_session(
    world: World,
) -> None:
    await world.link()
    (monday,) = world.open_sessions()
    world.clock.advance(timedelta(days=1))
    world.stripe.fail_next("/v1/checkout/sessions", times=3)  # dies before Stripe acts
    assert "[Subscribe]" not in await world.link()
    assert world.open_sessions() == [monday] and len(world.creates()) == 1
    intent = await _checkout_intent(world)
    assert intent.result is None  # recorded before the call, nothing after
    reply = await world.link()  # the take-over resumes that intent
    (tuesday,) = world.open_sessions()
    assert f"/c/pay/{tuesday})" in reply and len(world.creates()) == 2
    assert world.stripe.sessions[monday]["status"] == "expired"
    assert (await _checkout_intent(world)).key == intent.key


async def test_a_take_over_after_a_crash_after_the_call_returns_the_same_page(
    world: World,
) -> None:
    await world.link()
    world.clock.advance(timedelta(days=1))
    first = await world.link()
    intent = await _checkout_intent(world)
    async with world.services.sessions.begin() as db:  # killed before recording the answer
        await db.execute(
            update(BillingCall).where(BillingCall.key == intent.key).values(result=None)
        )
    assert await world.link() == first
    (tuesday,) = world.open_sessions()  # Stripe replayed it; the take-over did not expire it
    assert len(world.creates()) == 2 and f"/c/pay/{tuesday})" in first


async def _checkout_intent(world: World) -> BillingCall:
    async with world.services.sessions() as db:
        latest = await db.scalar(
            select(BillingCall)
            .where(BillingCall.org_id == world.org_id, BillingCall.kind == "checkout")
            .order_by(BillingCall.created_at.desc())
            .limit(1)
        )
        assert latest is not None
        return latest


@dataclass
class PaidTwice:
    kept: dict[str, Any]
    newcomer: dict[str, Any]
    #: checkout.session.completed of the newcomer, not delivered yet
    second: dict[str, Any]


async def _paid_twice(world: World) -> PaidTwice:
    """Monday's page is paid before its webhook arrives, so Tuesday's link is a new page
    (Monday's is complete, not open), and it is paid too; then Monday's webhooks come."""
    await world.link()
    (monday,) = world.open_sessions()
    kept = world.paid(monday)
    world.clock.advance(timedelta(days=1))
    await world.link()
    (tuesday,) = world.open_sessions()
    newcomer = world.paid(tuesday)
    at = ts(TUESDAY)
    assert await world.send(world.completed(monday, kept, at=at)) == "trialing->active"
    created = event("customer.subscription.created", kept, created=at)
    assert await world.send(created) == "active->active"
    return PaidTwice(kept, newcomer, world.completed(tuesday, newcomer, at=at + 10))


async def _duplicate_canceled(world: World) -> PaidTwice:
    twice = await _paid_twice(world)
    assert await world.send(twice.second) == "duplicate_canceled"
    return twice
