"""A storm of vendor faults against two `vizdots worker` processes on PostgreSQL: the Bot
Framework connector answering 429 and 503 in bursts, SES throttling (400
ThrottlingException, 429 TooManyRequestsException) and 503, Stripe answering 500 and
429 while seats change, and the database stopped the moment Teams has taken a reply
(started again 3 s later). Afterwards every Teams member got each reply once, every
answer is one turn, each reminder email went out once per (session, slot), Stripe bills
the members there are, and the same workers carry on.

Four Teams members (a team install's roster) answer their check-in three times through
/api/messages, served in this process as Teams would reach it; four email-only members
of another organisation, silent, get their check-in by email (a reminders run here)
and a reminder at the 09:31 slot (REMINDER_SLOTS) from the workers. SES is moto behind
a fault-injecting proxy. Faults are planned before each phase; the waits read the
database.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from adapters.teams.shapes import event_id_of, parse
from core.store.migrate import upgrade_to_head
from core.store.models import (
    CheckinSession,
    EmailLog,
    InboundEvent,
    Member,
    Message,
    Organization,
    OutboxMessage,
    SeatSync,
)
from tests.conftest import _create_database
from tests.crash_support import ROOT, Processes, Vizdots, processes
from tests.fakes.bot_connector import roster_entry
from tests.fakes.clock import FakeClock
from tests.fakes.faulty_proxy import Fault, FaultyProxy
from tests.fakes.http_server import serving
from tests.fakes.moto_ses import REGION, SENDER, MotoSes
from tests.fakes.stripe_api import BASE_PRICE, SEAT_PRICE, FakeStripe
from tests.fakes.teams_world import NOW, OLIVE, TEAM, TeamsWorld, teams_world
from tests.fakes.world import add_due_session, add_member, add_org
from tests.postgres import Cluster

TEAM_PEOPLE = [OLIVE] + [(f"aad-m{n}", f"Member {n}", f"m{n}@t.io") for n in (1, 2, 3)]
NEWCOMERS = [("aad-nia", "Nia New", "nia@t.io"), ("aad-oz", "Oz Late", "oz@t.io")]
MAILED = [f"mail{n}@post.test" for n in (1, 2, 3, 4)]
ANSWERS = ("4", "finishing the roadmap review", "none")
#: NOW is a Thursday 09:30 UTC, when the Teams check-ins are due. The mailed check-ins were
#: delivered at 08:30 and emailed at 08:31 (a reminders run here); the workers' clocks
#: start at 09:31, a reminder slot (REMINDER_SLOTS): their first run reminds them.
SLOT, SLOT_KEY = "09:31", "2026-11-26T09:31Z"
WORKERS_FROM = NOW + timedelta(minutes=1)
LINK_SECRET = "vendor-storm-link-secret"
WAIT = 90.0  # seconds: back-offs after the bursts (SES 1 s…, outbox 2 s…, seats 5 s…)

SES_SEND = "/v2/email/outbound-emails"
SES_TOO_MANY = Fault(429, {"message": "Maximum sending rate exceeded."},
                     {"x-amzn-ErrorType": "TooManyRequestsException"}, SES_SEND)  # fmt: skip
SES_THROTTLED = Fault(400, {"message": "Rate exceeded"},
                      {"x-amzn-ErrorType": "ThrottlingException"}, SES_SEND)  # fmt: skip
SES_UNAVAILABLE = Fault(503, {"message": "Service Unavailable"},
                        {"x-amzn-ErrorType": "ServiceUnavailable"}, SES_SEND)  # fmt: skip


def vendor_env(db_url: str, *, ses_url: str, stripe_url: str) -> dict[str, str]:
    """Teams (emulator: no connector token), SES at `ses_url`, Stripe at `stripe_url`;
    no Slack, no model (the scripted brain)."""
    ours = ("OPENAI_", "SLACK_", "AWS_", "STRIPE_", "MICROSOFT_", "TEAMS_", "SES_", "REMINDER_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    return env | {
        "PYTHONPATH": str(ROOT), "DATABASE_URL": db_url, "TEAMS_EMULATOR": "true",
        "AWS_SES_ACCESS_KEY_ID": "testing", "AWS_SES_SECRET_ACCESS_KEY": "testing",
        "AWS_SES_REGION": REGION, "AWS_SES_ENDPOINT_URL": ses_url, "EMAIL_FROM": SENDER,
        "SES_MAX_SEND_RATE": "50", "LINK_SIGNING_SECRET": LINK_SECRET,
        "STRIPE_SECRET_KEY": "sk_test_storm", "STRIPE_BASE_PRICE_ID": BASE_PRICE,
        "STRIPE_SEAT_PRICE_ID": SEAT_PRICE, "STRIPE_API_BASE": stripe_url,
        "SEAT_SYNC_DELAY_SECONDS": "1", "REMINDER_SLOTS": SLOT, "REMINDER_WEEKDAYS": "mon-fri",
        "CLAIM_TIMEOUT_SECONDS": "30", "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1",
    }  # fmt: skip  # the claim outlasts a connector call (20 s): none is taken over in flight


def ses_settings(ses_url: str) -> dict[str, Any]:
    """This process's reminders as the workers' (vendor_env): SES at `ses_url`."""
    return {
        "aws_ses_access_key_id": "testing", "aws_ses_secret_access_key": "testing",
        "aws_ses_region": REGION, "aws_ses_endpoint_url": ses_url, "email_from": SENDER,
        "ses_max_send_rate": 50, "link_signing_secret": LINK_SECRET, "reminder_slots": SLOT,
    }  # fmt: skip


class Storm:
    """The world of the test: the fakes, the Teams app in this process, database reads."""

    def __init__(self, world: TeamsWorld, proxy: FaultyProxy, stripe: FakeStripe) -> None:
        self.world, self.proxy, self.stripe = world, proxy, stripe
        self.connector, self.sessions = world.connector, world.services.sessions
        self.run: Processes | None = None
        self.answered: list[str] = []  # the event ids of the members' answers

    async def until(self, check: Callable[[], Awaitable[bool]], what: str) -> None:
        """Wait for `check` (a read failing while the database is away counts as not yet)."""
        deadline = asyncio.get_running_loop().time() + WAIT
        while not await _quietly(check):
            if asyncio.get_running_loop().time() > deadline:
                logs = self.run.logs() if self.run else ""
                raise AssertionError(f"not within {WAIT:g} s: {what}\n{logs}")
            await asyncio.sleep(0.2)

    async def say(self, person: tuple[str, str, str], text: str) -> str:
        """A personal-chat message posted as Teams posts it, again until it is taken (as
        Teams retries what our endpoint failed to take); its inbox event id."""
        body = self.world.activities.personal(person, text)
        for _ in range(60):
            try:
                if (await self.world.activities.post(body)).status_code == 200:
                    return event_id_of(parse(body))
            except Exception:  # the app's database is away
                pass
            await asyncio.sleep(0.5)
        raise AssertionError(f"/api/messages never took {person[0]}'s message")

    async def answer_round(self, text: str) -> list[str]:
        ids = [await self.say(person, text) for person in TEAM_PEOPLE]
        self.answered += ids
        return ids

    async def taken_and_sent(self, event_ids: list[str]) -> bool:
        """Every event is taken, and nothing is left to send."""
        finished = InboundEvent.processed_at.is_not(None) | InboundEvent.given_up
        taken = await self.count(InboundEvent, InboundEvent.event_id.in_(event_ids), finished)
        unsent = await self.count(OutboxMessage, OutboxMessage.status.in_(("pending", "sending")))
        return taken == len(event_ids) and unsent == 0

    async def count(self, model: Any, *where: Any) -> int:
        return await self.world.count(model, *where)

    async def emailed(self, kind: str, slot: str) -> bool:
        """Every mailed member's email of (kind, slot) is sent; no planned fault is left."""
        sent = await self.count(EmailLog, EmailLog.kind == kind, EmailLog.slot == slot,
                                EmailLog.status == "sent")  # fmt: skip
        return sent == len(MAILED) and self.proxy.pending() == 0

    async def billed(self, org_id: int, sub_id: str, seats: int) -> bool:
        """Stripe bills `seats`, the org records it, and no sync is left staged."""
        async with self.sessions() as db:
            org = await db.get_one(Organization, org_id)
            staged = await db.scalar(select(func.count()).where(SeatSync.org_id == org_id))
        quantity = self.stripe.seat_quantity(sub_id)
        return quantity == org.billed_seats == seats and staged == 0


async def _quietly(check: Callable[[], Awaitable[bool]]) -> bool:
    try:
        return await check()
    except Exception:
        return False


@asynccontextmanager
async def vendors(moto: MotoSes) -> AsyncIterator[tuple[FaultyProxy, FakeStripe, str, str]]:
    """The SES proxy in front of moto and the fake Stripe API, served on localhost."""
    proxy, stripe = FaultyProxy(upstream=moto.url), FakeStripe()
    async with serving(proxy.app()) as ses_url, serving(stripe.app()) as stripe_url:
        yield proxy, stripe, ses_url, stripe_url


# --- the world before the storm ------------------------------------------------------------------
async def install_team(storm: Storm) -> int:
    """The bot added to the team by Olive: the roster taken in (her greeting is staged)."""
    activities = storm.world.activities
    storm.connector.rosters[TEAM] = [roster_entry(*person) for person in TEAM_PEOPLE]
    assert (await activities.post(activities.team_install(OLIVE))).status_code == 200
    in_teams = Member.teams_aad_object_id.is_not(None)
    await storm.until(lambda: _is(storm.count(Member, in_teams), len(TEAM_PEOPLE)), "the roster")
    return (await storm.world.member(OLIVE[0])).org_id


async def subscribe(storm: Storm, org_id: int) -> str:
    """The org pays for one seat so far: the workers' reconcile corrects Stripe."""
    sub = storm.stripe.subscribed("cus_storm", seats=1)
    async with storm.sessions.begin() as db:
        await db.execute(
            update(Organization)
            .where(Organization.id == org_id)
            .values(
                stripe_customer_id="cus_storm",
                stripe_subscription_id=sub["id"],
                plan_status="active",
            )
        )
    return str(sub["id"])


async def mail_org(storm: Storm) -> None:
    """Email-only members of another organisation, their check-ins due at 08:30."""
    async with storm.sessions.begin() as db:
        org = await add_org(db, "post")
        for email in MAILED:
            await add_member(db, org, email, email_only=True)
    for email in MAILED:
        await add_due_session(storm.sessions, email, due=NOW - timedelta(hours=1))


async def join(storm: Storm, person: tuple[str, str, str]) -> str:
    """A newcomer writes to the bot: enrolled (a seat more), then answered."""
    return await storm.say(person, "help")


async def email_checkins(storm: Storm) -> None:
    """The mailed members' check-ins, delivered at 08:30, go by email at 08:31 (a
    reminders run, as the cron endpoint makes it) through SES throttling and a 503: 4
    refusals, where botocore makes 5 attempts."""
    services, clock = storm.world.services, storm.world.services.clock
    assert isinstance(clock, FakeClock) and services.reminders is not None
    clock.current = NOW - timedelta(hours=1)
    await services.delivery.deliver_due(now=clock.now())
    storm.proxy.fail_next(2, SES_TOO_MANY)
    storm.proxy.fail_next(1, SES_THROTTLED)
    storm.proxy.fail_next(1, SES_UNAVAILABLE)
    clock.current = NOW - timedelta(minutes=59)
    await services.reminders.remind(now=clock.now())
    clock.current = NOW
    await storm.until(lambda: storm.emailed("checkin", "delivery"), "the check-in emails")


def plan_first_faults(storm: Storm) -> None:
    """What the openings, the 09:31 reminders and the first seat sync run into."""
    storm.connector.fail_next("create", 429, 2)
    storm.connector.fail_next("send", 429, 3)
    storm.connector.fail_next("send", 503, 2)
    storm.proxy.fail_next(2, SES_UNAVAILABLE)
    storm.proxy.fail_next(2, SES_TOO_MANY)
    storm.stripe.fail_next("/v1/subscriptions/", 3)  # 500: the SDK's two retries fail too
    storm.stripe.fail_next("/v1/subscription_items/", 1, status=429)


# --- the storm -----------------------------------------------------------------------------------
async def test_vendor_faults_lose_no_answer_and_send_nothing_twice(
    cluster: Cluster, moto_ses: MotoSes, tmp_path: Path
) -> None:
    url = _create_database(cluster.url, "vstorm")
    upgrade_to_head(url)
    async with (
        vendors(moto_ses) as (proxy, stripe, ses_url, stripe_url),
        teams_world(url, workers=False, **ses_settings(ses_url)) as world,
    ):
        storm = Storm(world, proxy, stripe)
        org_id = await install_team(storm)
        sub_id = await subscribe(storm, org_id)
        await mail_org(storm)
        await email_checkins(storm)
        env = vendor_env(url, ses_url=ses_url, stripe_url=stripe_url)
        with processes(tmp_path, env) as run:
            storm.run = run
            for _, _, email in TEAM_PEOPLE:
                await add_due_session(storm.sessions, email, due=NOW)
            plan_first_faults(storm)
            workers = [run.worker(f"worker-{n}", now=WORKERS_FROM) for n in (1, 2)]
            await _storm(storm, cluster, org_id, sub_id)
            assert all(worker.alive() for worker in workers), run.logs()
            _assert_the_faults_happened(storm, workers)
            await asyncio.sleep(2.0)  # a late double send would show by now
            await _assert_each_reply_once(storm, org_id)
            await _assert_each_email_once(storm, moto_ses)


async def _storm(storm: Storm, cluster: Cluster, org_id: int, sub_id: str) -> None:
    delivered = CheckinSession.org_id == org_id, CheckinSession.delivered_at.is_not(None)
    await storm.until(lambda: _is(storm.count(CheckinSession, *delivered), len(TEAM_PEOPLE)),
                      "every Teams check-in delivered")  # fmt: skip
    await storm.until(lambda: storm.taken_and_sent([]), "the openings and the greeting sent")
    await storm.until(lambda: storm.emailed("reminder", SLOT_KEY), "the 09:31 reminders")
    await storm.until(lambda: storm.billed(org_id, sub_id, 4), "Stripe billing the roster")

    storm.connector.fail_next("send", 429, 4)
    storm.stripe.fail_next("/v1/subscription_items/", 3)  # a newcomer's seat: 500s
    ids = await storm.answer_round(ANSWERS[0]) + [await join(storm, NEWCOMERS[0])]
    await storm.until(lambda: storm.taken_and_sent(ids), "round 1 taken and sent")
    await storm.until(lambda: storm.billed(org_id, sub_id, 5), "the newcomer billed")

    storm.connector.fail_next("send", 503, 3)
    ids = await storm.answer_round(ANSWERS[1])
    await storm.until(lambda: storm.taken_and_sent(ids), "round 2 taken and sent")

    restarted = restart_when_a_reply_lands(storm, cluster)
    ids = await storm.answer_round(ANSWERS[2])  # posted again while the database is away
    await storm.until(lambda: _true(bool(restarted) and restarted[0].done()), "the restart")
    await storm.until(lambda: storm.taken_and_sent(ids), "round 3 taken and sent")
    ids = [await join(storm, NEWCOMERS[1])]  # the loops carry on: a turn, a seat sync
    await storm.until(lambda: storm.taken_and_sent(ids), "the second newcomer answered")
    await storm.until(lambda: storm.billed(org_id, sub_id, 6), "the second newcomer billed")


def restart_when_a_reply_lands(storm: Storm, cluster: Cluster) -> list[asyncio.Task[None]]:
    """The database stops the moment Teams has taken the first reply of the round, before
    the worker hears the 201 (so it learns of the send with the database away), and
    starts again 3 s later: the restart, once it is under way."""
    restarts: list[asyncio.Task[None]] = []
    stopping: list[bool] = []

    async def start_again() -> None:
        await asyncio.sleep(3.0)
        await asyncio.to_thread(cluster.start)

    async def stop(_: object) -> None:
        if not stopping:  # the first reply only
            stopping.append(True)
            await asyncio.to_thread(cluster.stop, "fast")
            restarts.append(asyncio.create_task(start_again()))

    storm.connector.on_send(stop)
    return restarts


# --- afterwards ----------------------------------------------------------------------------------
def _assert_the_faults_happened(storm: Storm, workers: list[Vizdots]) -> None:
    """The storm was real: every planned refusal was answered, and each worker lost the
    database and found it again by itself (one line each way)."""
    refused = Counter(status for _, status, _ in storm.connector.calls if status != 200)
    assert refused == {429: 9, 503: 5}, refused
    assert Counter(e.status for e in storm.proxy.injected()) == {429: 4, 400: 1, 503: 3}
    assert Counter(storm.stripe.refused()) == {500: 6, 429: 1}
    for worker in workers:
        log = worker.log.read_text()
        assert "database unreachable" in log and "database reachable again" in log, log[-3000:]


async def _assert_each_reply_once(storm: Storm, org_id: int) -> None:
    """Each answer is one member turn; what the connector holds in each member's chat is
    exactly what the outbox recorded as sent there; every check-in is complete."""
    async with storm.sessions() as db:
        events = list(await db.scalars(select(InboundEvent)))
        turns = Counter(
            await db.scalars(select(Message.inbound_event_id).where(Message.speaker == "member"))
        )
        members = dict((await db.execute(
            select(Member.teams_aad_object_id, Member.id).where(Member.org_id == org_id)
        )).all())  # fmt: skip
        sent = list((await db.execute(
            select(OutboxMessage.member_id, OutboxMessage.status, OutboxMessage.channel_message_id)
        )).all())  # fmt: skip
        states = list(await db.scalars(
            select(CheckinSession.state).join(Member, Member.id == CheckinSession.member_id)
            .where(Member.teams_aad_object_id.in_([aad for aad, _, _ in TEAM_PEOPLE]),
                   CheckinSession.delivered_at.is_not(None))
        ))  # fmt: skip
    assert len(events) == len(TEAM_PEOPLE) * len(ANSWERS) + len(NEWCOMERS)
    assert not [e.event_id for e in events if e.given_up or e.processed_at is None]
    assert all(turns[event_id] == 1 for event_id in storm.answered), turns
    assert {status for _, status, _ in sent} == {"sent"}
    for aad, member_id in members.items():
        chat = storm.connector.chat_of(f"29:{aad}")
        posted = sorted(s.activity_id for s in storm.connector.sent_to(chat))
        recorded = sorted(str(cid) for mid, _, cid in sent if mid == member_id)
        assert posted == recorded, f"{aad}: the chat holds {posted}, the outbox says {recorded}"
    assert states == ["completed"] * len(TEAM_PEOPLE), states


async def _assert_each_email_once(storm: Storm, moto: MotoSes) -> None:
    """Each mailed member got their check-in email and the 09:31 reminder, once each:
    what moto received is what email_logs recorded as sent."""
    async with storm.sessions() as db:
        logs = (await db.execute(
            select(Member.email, EmailLog.kind, EmailLog.slot, EmailLog.status,
                   EmailLog.provider_message_id).join(Member, Member.id == EmailLog.member_id)
        )).all()  # fmt: skip
    for email in MAILED:
        mine = [row for row in logs if row[0] == email]
        assert sorted((kind, slot, status) for _, kind, slot, status, _ in mine) == [
            ("checkin", "delivery", "sent"), ("reminder", SLOT_KEY, "sent")
        ], mine  # fmt: skip
        received = sorted(message["id"] for message in moto.sent_to(email))
        assert received == sorted(str(row[4]) for row in mine), (email, received, mine)


async def _is(value: Awaitable[int], wanted: int) -> bool:
    return await value == wanted


async def _true(value: bool) -> bool:
    return value
