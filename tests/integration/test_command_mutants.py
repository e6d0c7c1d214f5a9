"""What the admin and member commands say and record at the edges the surviving mutants
showed untested (see docs/mutation.md): admin API tokens, languages, mentions that name
nobody the bot can see, and the exact replies where the text is what the member gets.

Acme has Ana (owner), Bo and Cy (members); the clock says Wednesday 2026-11-25, noon UTC.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.bootstrap import Services, build_services
from bot.settings import load_settings
from core.commands.service import run_command
from core.domain import Provider
from core.inbound import CommandRequest, Sender
from core.store.models import (
    AdminToken,
    AuditEntry,
    CheckinSession,
    Installation,
    Member,
    Organization,
    Schedule,
    ScheduleParticipant,
)
from tests.fakes.clock import FakeClock
from tests.fakes.http_server import serving
from tests.fakes.stripe_api import BASE_PRICE, SEAT_PRICE, FakeStripe
from tests.fakes.world import add_member, add_org
from tests.integration.test_commands import ANA, BO, CY, NOW, World, add_session, world

__all__ = ["world"]
_TOKEN = re.compile(r"`(vzd_[^`]+)`")


async def make_admin(world: World, email: str) -> None:
    async with world.sessions.begin() as db:
        await db.execute(update(Member).where(Member.id == world.ids[email]).values(role="admin"))


async def set_languages(world: World, *, org: str, **own: str) -> None:
    """The org's language, and members' own (by first name in lower case: ana, bo, cy)."""
    emails = {"ana": ANA, "bo": BO, "cy": CY}
    async with world.sessions.begin() as db:
        await db.execute(update(Organization).values(language=org))
        for name, language in own.items():
            member = Member.id == world.ids[emails[name]]
            await db.execute(update(Member).where(member).values(language=language))


async def say_from_slack(world: World, slack_user: str, text: str) -> str:
    request = CommandRequest(sender=Sender(Provider.SLACK, "T1", slack_user), text=text)
    reply = await run_command(
        sessions=world.sessions, request=request, directory=None, clock=world.clock
    )
    return reply.text


async def say_without_directory(world: World, who: str, text: str) -> str:
    request = CommandRequest(sender=Sender(Provider.DEV, "acme", who), text=text)
    reply = await run_command(
        sessions=world.sessions, request=request, directory=None, clock=world.clock
    )
    return reply.text


async def only_token(world: World) -> AdminToken:
    (token,) = await world.rows(AdminToken)
    return token


# --- admin API tokens ------------------------------------------------------------------------
async def test_the_new_token_is_shown_once_with_how_to_use_and_revoke_it(world: World) -> None:
    reply = await world.say(ANA, "token reporting")
    match = _TOKEN.search(reply)
    assert match is not None
    prefix = "vzd_" + (await only_token(world)).public_id
    assert reply == (
        "Your admin API token **reporting** (owner), shown only this once:\n"
        f"`{match[1]}`\n"
        "Send it as `Authorization: Bearer <token>` to /api/admin/v1. "
        f"`token revoke {prefix}` revokes it."
    )


async def test_an_admin_who_is_not_the_owner_gets_an_admin_token(world: World) -> None:
    await make_admin(world, CY)
    reply = await world.say(CY, "token reporting")
    assert (await only_token(world)).role == "admin"
    assert reply.startswith("Your admin API token **reporting** (admin)")


async def test_a_token_without_a_name_is_named_after_the_admin_who_made_it(world: World) -> None:
    await world.say(ANA, "token")
    assert (await only_token(world)).name == "made in chat by Ana"


async def test_making_and_revoking_a_token_is_audited_as_the_members_doing(world: World) -> None:
    await world.say(ANA, "token reporting")
    prefix = "vzd_" + (await only_token(world)).public_id
    await world.say(ANA, f"token revoke {prefix}")
    audit = await world.rows(AuditEntry)
    assert [(a.action, a.actor_member_id) for a in audit] == [
        ("admin_token.create", world.ids[ANA]),
        ("admin_token.revoke", world.ids[ANA]),
    ]


async def test_a_revoked_token_is_named_with_its_prefix_and_name(world: World) -> None:
    await world.say(ANA, "token reporting")
    prefix = "vzd_" + (await only_token(world)).public_id
    reply = await world.say(ANA, f"token revoke {prefix}")
    assert reply == f"Token {prefix} (reporting) is revoked: it no longer works."
    assert (await only_token(world)).revoked_at == world.clock.now()


async def test_revoking_a_token_the_org_does_not_have_names_it_and_changes_nothing(
    world: World,
) -> None:
    reply = await world.say(ANA, "token revoke vzd_0badf00d")
    assert reply == "There is no token vzd_0badf00d in this organisation."
    assert await world.rows(AuditEntry) == []


# --- languages -------------------------------------------------------------------------------
async def test_a_member_with_their_own_language_is_told_it_is_their_choice(world: World) -> None:
    await set_languages(world, org="fr", bo="en")
    reply = await world.say(BO, "language")
    assert reply.splitlines()[0] == "I speak English (en) with you (your own choice)."


async def test_a_member_without_their_own_language_is_told_the_orgs(world: World) -> None:
    await set_languages(world, org="fr")
    reply = await world.say(BO, "language")
    assert reply.splitlines()[0] == "Je te parle en Français (fr) (la langue de ton organisation)."


async def test_an_admin_is_also_told_the_orgs_language_and_how_to_change_it(
    world: World,
) -> None:
    await set_languages(world, org="fr", ana="en")
    reply = await world.say(ANA, "language")
    assert reply.splitlines()[-1] == (
        "The organisation's language is Français (fr); `language org fr` changes it."
    )


async def test_changing_ones_own_language_audits_the_new_and_the_old_one(world: World) -> None:
    await set_languages(world, org="en", bo="es")
    await world.say(BO, "language de")
    (entry,) = await world.rows(AuditEntry)
    assert (entry.action, entry.actor_member_id, entry.detail) == (
        "member.language",
        world.ids[BO],
        {"language": "de", "before": "es"},
    )


async def test_changing_the_orgs_language_audits_the_one_it_replaced(world: World) -> None:
    await set_languages(world, org="de")
    await world.say(ANA, "language org fr")
    (entry,) = await world.rows(AuditEntry)
    assert (entry.action, entry.detail["language"], entry.detail["before"]) == (
        "org.language",
        "fr",
        "de",
    )


async def test_an_admin_with_their_own_language_is_answered_in_it(world: World) -> None:
    await set_languages(world, org="en", ana="en")
    reply = await world.say(ANA, "language org fr")
    assert reply == (
        "Done: the organisation's language is Français (fr) now, for everyone who hasn't "
        "chosen their own."
    )


# --- mentions --------------------------------------------------------------------------------
async def test_a_channel_mention_without_a_directory_asks_for_people_instead(
    world: World,
) -> None:
    reply = await say_without_directory(world, ANA, "schedule set daily mon-fri 09:30 #team")
    assert reply == (
        "Nothing changed: I can't see who is in #team from here; mention people instead."
    )
    assert await world.rows(Schedule) == []


async def test_slack_user_ids_in_mentions_are_matched_exactly_as_written(world: World) -> None:
    async with world.sessions.begin() as db:
        db.add(Installation(org_id=world.org_id, provider="slack", external_id="T1"))
        for email, slack_id in [(ANA, "UANA"), (BO, "UBO")]:
            member = Member.id == world.ids[email]
            await db.execute(update(Member).where(member).values(slack_user_id=slack_id))
    await say_from_slack(world, "UANA", "schedule set daily mon-fri 09:30 <@UBO>")
    participants = await world.rows(ScheduleParticipant)
    assert [p.member_id for p in participants] == [world.ids[BO]]


# --- billing --------------------------------------------------------------------------------
SEATS_AND_NO_STRIPE = (
    "**Seats:** 3 active members (billed: 2) — $29 a month plus $3 per active member.\n"
    "Billing is not set up on this VizDots server (an operator sets STRIPE_SECRET_KEY)."
)


async def set_plan(world: World, **values: Any) -> None:
    async with world.sessions.begin() as db:
        await db.execute(update(Organization).values(billed_seats=2, **values))


async def test_billing_on_an_active_plan_names_the_next_invoice_and_the_seats(
    world: World,
) -> None:
    await set_plan(
        world, plan_status="active", current_period_end=datetime(2026, 12, 20, tzinfo=UTC)
    )
    reply = await world.say(ANA, "billing")
    assert reply == "**Plan:** active, next invoice 2026-12-20\n" + SEATS_AND_NO_STRIPE


async def test_billing_with_a_payment_overdue_says_until_when_check_ins_go_on(
    world: World,
) -> None:
    grace_end = datetime(2026, 11, 30, tzinfo=UTC)
    await set_plan(world, plan_status="past_due", grace_ends_at=grace_end)
    reply = await world.say(ANA, "billing")
    assert reply == (
        "**Plan:** payment overdue — check-ins go on until 2026-11-30\n" + SEATS_AND_NO_STRIPE
    )


async def test_billing_on_a_canceled_plan_says_check_ins_are_paused_and_nothing_is_deleted(
    world: World,
) -> None:
    await set_plan(world, plan_status="canceled")
    reply = await world.say(ANA, "billing")
    assert reply == (
        "**Plan:** canceled\n"
        "**Check-ins are paused:** the subscription is canceled. Nothing is deleted.\n"
        + SEATS_AND_NO_STRIPE
    )


@pytest.fixture
async def app_services(db_url: str) -> AsyncIterator[tuple[Services, FakeStripe]]:
    """The app's services with Stripe (the local fake) and dashboard links set up; Ann owns
    Acme, Bob is a member."""
    stripe = FakeStripe()
    async with serving(stripe.app()) as base:
        settings = load_settings(
            database_url=db_url, stripe_api_key="sk_test_fake", stripe_api_base=base,
            stripe_base_price_id=BASE_PRICE, stripe_seat_price_id=SEAT_PRICE,
            stripe_webhook_secret="whsec_test_secret_for_vizdots",
            link_signing_secret="s" * 32, app_base_url="https://vizdots.example",
        )  # fmt: skip
        services = build_services(settings, clock=FakeClock(NOW), loop_interval=None)
        async with services.sessions.begin() as db:
            acme = await add_org(db, "acme")
            await add_member(db, acme, "ann@acme.test", role="owner")
            await add_member(db, acme, "bob@acme.test")
        yield services, stripe
        await services.engine.dispose()


async def test_billing_when_stripe_cannot_be_reached_says_so_and_gives_no_link(
    app_services: tuple[Services, FakeStripe],
) -> None:
    services, stripe = app_services
    stripe.fail_next("/v1/customers", times=5, status=429)
    sender = Sender(Provider.DEV, "acme", "ann@acme.test")
    reply = await services.run_command(CommandRequest(sender=sender, text="billing"))
    last = reply.splitlines()[-1]
    assert last.startswith("I couldn't reach the billing provider (HTTP 429: ")
    assert last.endswith("). Try again soon.") and "](" not in reply


async def test_a_member_asking_for_billing_never_reaches_stripe(
    app_services: tuple[Services, FakeStripe],
) -> None:
    services, stripe = app_services
    sender = Sender(Provider.DEV, "acme", "bob@acme.test")
    reply = await services.run_command(CommandRequest(sender=sender, text="billing"))
    assert reply.startswith("Sorry, only admins can use `billing`.") and stripe.made("/v1") == []


async def test_an_admins_other_commands_never_reach_stripe(
    app_services: tuple[Services, FakeStripe],
) -> None:
    services, stripe = app_services
    sender = Sender(Provider.DEV, "acme", "ann@acme.test")
    await services.run_command(CommandRequest(sender=sender, text="members"))
    assert stripe.made("/v1") == []


# --- dashboard ------------------------------------------------------------------------------
async def test_dashboard_where_none_is_served_says_so(world: World) -> None:
    reply = await world.say(ANA, "dashboard")
    assert reply == "The dashboard is not served by this VizDots installation."
    assert await world.rows(AuditEntry) == []


async def test_a_dashboard_link_is_given_once_and_audited_as_the_admins(
    app_services: tuple[Services, FakeStripe],
) -> None:
    services, _stripe = app_services
    sender = Sender(Provider.DEV, "acme", "ann@acme.test")
    reply = await services.run_command(CommandRequest(sender=sender, text="dashboard"))
    url = re.search(r"https://vizdots\.example/\S+", reply)
    assert url is not None and reply == (
        f"Your dashboard link, for you only: {url[0]}\n"
        "It works once, within 10 minutes. Type `dashboard` again for a new one."
    )
    async with services.sessions() as db:
        (entry,) = (await db.scalars(select(AuditEntry))).all()
        ann = await db.scalar(select(Member.id).where(Member.email == "ann@acme.test"))
    assert (entry.action, entry.actor_member_id, entry.detail) == (
        "dashboard.link",
        ann,
        {"via": "chat", "actor": "Ann"},
    )


# --- a member's own check-ins --------------------------------------------------------------
async def states_of(world: World, email: str) -> list[str]:
    rows = await world.rows(CheckinSession, CheckinSession.member_id == world.ids[email])
    return [row.state for row in rows]


async def test_skip_leaves_other_members_check_ins_alone(world: World) -> None:
    await add_session(world, BO)
    await add_session(world, CY)
    await world.say(BO, "skip")
    assert (await states_of(world, BO), await states_of(world, CY)) == (["skipped"], ["scheduled"])


async def test_vacation_leaves_other_members_check_ins_alone(world: World) -> None:
    await add_session(world, BO)
    await add_session(world, CY)
    await world.say(BO, "vacation until 2026-11-27")
    assert (await states_of(world, BO), await states_of(world, CY)) == (["skipped"], ["scheduled"])


# --- exact replies ---------------------------------------------------------------------------
async def test_a_vacation_in_the_past_names_the_day_that_has_passed(world: World) -> None:
    reply = await world.say(BO, "vacation until 2026-11-24")
    assert reply == "2026-11-24 has passed; give today or a later date."


async def test_disabling_an_agent_says_how_to_turn_it_back_on(world: World) -> None:
    reply = await world.say(ANA, "agents disable retro")
    assert reply == (
        "retro is disabled: no new check-ins from it. `agents enable retro` turns it on."
    )


async def test_resuming_a_running_schedule_says_it_already_is(world: World) -> None:
    await world.say(ANA, "schedule set daily mon-fri 09:30")
    assert await world.say(ANA, "schedule resume daily") == "The daily schedule is already resumed."
    assert await world.audit_actions() == ["schedule.set"]


async def test_a_region_without_public_holidays_in_the_coming_year_names_no_next_one(
    world: World,
) -> None:
    reply = await world.say(BO, "holidays BV")  # Bouvet Island: uninhabited, no holidays
    assert reply == "Done: no check-ins on public holidays of BV."
    assert (await world.member(BO)).holiday_region == "BV"
