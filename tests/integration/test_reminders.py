"""The reminder ladder on both databases, with an in-memory mailer (SES: test_reminders_ses)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from core.ports import DeliveryError, Email
from core.reminder_slots import ReminderSlots
from core.store.models import EmailSuppression, Member, Organization
from tests.fakes.mailer import FakeMailer
from tests.fakes.reminder_world import add_members, build_world, member_id

ANA, EVE = "ana@acme.io", "eve@acme.io"


@pytest.mark.parametrize(
    ("now", "slot"),
    [
        (datetime(2026, 11, 25, 9, 5, tzinfo=UTC), "2026-11-25T09:00Z"),
        (datetime(2026, 11, 25, 9, 0, tzinfo=UTC), "2026-11-25T09:00Z"),
        (datetime(2026, 11, 25, 13, 59, tzinfo=UTC), "2026-11-25T09:00Z"),
        (datetime(2026, 11, 25, 23, 0, tzinfo=UTC), "2026-11-25T14:00Z"),
        (datetime(2026, 11, 25, 8, 59, tzinfo=UTC), None),  # before the day's first slot
        (datetime(2026, 11, 28, 10, 0, tzinfo=UTC), None),  # a Saturday
    ],
)
def test_a_run_works_on_the_latest_slot_of_its_day(now: datetime, slot: str | None) -> None:
    found = ReminderSlots().latest(now)
    assert (found.strftime("%Y-%m-%dT%H:%MZ") if found else None) == slot


async def test_a_chat_member_is_nudged_once_then_emailed_once_a_slot(engine: AsyncEngine) -> None:
    mailer = FakeMailer()
    world = build_world(engine, mailer)
    session = (await add_members(world.sessions, (ANA, {})))[ANA]
    await world.deliver()

    first = await world.remind_at(9, 5)
    assert (first.slot, first.nudged, first.emailed) == ("2026-11-25T09:00Z", 1, 0)
    assert await world.nudges() == [f"nudge:{session}"]
    nudge = world.channel.texts_to(await member_id(world.sessions, ANA))[-1]
    assert "still open" in nudge and "feeling" in nudge  # points back to the check-in's question
    assert (await world.session(session)).nudged_at is not None

    again = await world.remind_at(9, 30)  # same slot: nothing more
    assert (again.nudged, again.emailed) == (0, 0) and mailer.sent == []

    later = await world.remind_at(14, 1)  # nudged and still silent: one email
    assert (later.nudged, later.emailed) == (0, 1)
    assert await world.email_logs() == [(session, "reminder", "2026-11-25T14:00Z", "sent")]
    assert await world.nudges() == [f"nudge:{session}"]  # never a second nudge

    await world.remind_at(14, 30)
    assert len(mailer.sent) == 1


async def test_no_reminder_after_an_answer(engine: AsyncEngine) -> None:
    mailer = FakeMailer()
    world = build_world(engine, mailer)
    await add_members(world.sessions, (ANA, {}))
    await world.deliver()
    await world.remind_at(9, 5)  # the nudge
    await world.answer(ANA, "4")  # answered the first question, then went quiet
    counts = await world.remind_at(14, 5)
    assert (counts.nudged, counts.emailed) == (0, 0) and mailer.sent == []


async def test_a_member_answering_before_the_slot_gets_only_the_nudge_for_what_is_left(
    engine: AsyncEngine,
) -> None:
    mailer = FakeMailer()
    world = build_world(engine, mailer)
    await add_members(world.sessions, (ANA, {}))
    await world.deliver()
    await world.answer(ANA, "4")  # in progress, not finished: still worth one nudge
    assert (await world.remind_at(9, 5)).nudged == 1
    await world.answer(ANA, "shipping the release")
    assert (await world.remind_at(14, 5)).emailed == 0


async def test_a_member_no_chat_reaches_gets_the_checkin_by_email_then_a_reminder_a_slot(
    engine: AsyncEngine,
) -> None:
    mailer = FakeMailer()
    world = build_world(engine, mailer)
    session = (await add_members(world.sessions, (ANA, {"email_only": True})))[ANA]
    await world.deliver()
    assert (await world.session(session)).channel == "email"

    at_once = await world.remind_at(8, 1)  # no slot yet: the check-in itself goes out
    assert (at_once.slot, at_once.emailed, at_once.nudged) == (None, 1, 0)
    email = mailer.sent[0]
    assert email.to == ANA and "Daily check-in" in email.subject
    assert "https://vizdots.test/checkin/" in email.text and email.html is not None
    assert 'href="https://vizdots.test/checkin/' in email.html
    assert (
        email.unsubscribe_url == f"https://vizdots.test/unsubscribe/{email_member(email)}?sig=fake"
    )
    assert world.channel.sent == []  # no chat

    assert (await world.remind_at(8, 30)).emailed == 0
    assert (await world.remind_at(9, 5)).emailed == 1
    assert (await world.remind_at(14, 5)).emailed == 1
    assert (await world.remind_at(14, 50)).emailed == 0
    assert [(k, s) for _id, k, s, _st in await world.email_logs()] == [
        ("checkin", "delivery"),
        ("reminder", "2026-11-25T09:00Z"),
        ("reminder", "2026-11-25T14:00Z"),
    ]
    assert mailer.sent[1].subject.startswith("Reminder:")


def email_member(email: Email) -> str:
    return email.text.split("/checkin/")[1].split("/")[0]


async def test_nobody_unwanted_gets_anything(engine: AsyncEngine) -> None:
    mailer = FakeMailer()
    world = build_world(engine, mailer)
    people = (
        ("opted@acme.io", {"email_only": True, "email_opt_out": True}),
        ("bounced@acme.io", {"email_only": True, "email_suppressed": "bounce"}),
        ("Listed@Acme.io", {"email_only": True}),  # suppressed by address, any case
        ("away@acme.io", {"email_only": True}),
        ("chat@acme.io", {}),
    )
    await add_members(world.sessions, *people)
    await world.deliver()
    async with world.sessions.begin() as db:
        db.add(EmailSuppression(address="listed@acme.io", reason="complaint"))
        await db.execute(  # went on vacation after the check-in was delivered
            update(Member)
            .where(Member.email.in_(["away@acme.io", "chat@acme.io"]))
            .values(vacation_until=date(2026, 11, 30))
        )
    for hour in (8, 9, 14):
        counts = await world.remind_at(hour, 5)
        assert (counts.emailed, counts.nudged) == (0, 0)
    assert counts.skipped == 5
    assert mailer.sent == [] and await world.nudges() == [] and await world.email_logs() == []


async def test_an_org_whose_plan_lapsed_gets_nothing(engine: AsyncEngine) -> None:
    mailer = FakeMailer()
    world = build_world(engine, mailer)
    await add_members(world.sessions, (ANA, {"email_only": True}), (EVE, {}))
    await world.deliver()
    async with world.sessions.begin() as db:
        await db.execute(update(Organization).values(plan_status="canceled"))
    counts = await world.remind_at(9, 5)
    assert (counts.emailed, counts.nudged, counts.skipped) == (0, 0, 2)
    assert mailer.sent == []


async def test_a_failed_email_is_recorded_and_the_next_slot_tries_again(
    engine: AsyncEngine,
) -> None:
    mailer = FakeMailer(failures=[DeliveryError("SES MessageRejected", retryable=False)])
    world = build_world(engine, mailer)
    session = (await add_members(world.sessions, (ANA, {"email_only": True})))[ANA]
    await world.deliver()
    counts = await world.remind_at(9, 5)
    assert (counts.emailed, counts.failed) == (0, 1)
    assert await world.email_logs() == [(session, "reminder", "2026-11-25T09:00Z", "failed")]
    assert (await world.remind_at(9, 30)).emailed == 0  # not again in its slot
    assert (await world.remind_at(14, 5)).emailed == 1
    assert len(mailer.sent) == 1


class Crash(BaseException):
    """The process dies here (not an error the code could handle)."""


class CrashingMailer(FakeMailer):
    async def send(self, email: Email) -> str:
        raise Crash


async def test_a_crash_between_the_log_row_and_the_send_never_sends_twice(
    engine: AsyncEngine,
) -> None:
    session = 0
    crashing = build_world(engine, CrashingMailer())
    session = (await add_members(crashing.sessions, (ANA, {"email_only": True})))[ANA]
    await crashing.deliver()
    with pytest.raises(Crash):
        await crashing.remind_at(9, 5)
    assert await crashing.email_logs() == [(session, "reminder", "2026-11-25T09:00Z", "sending")]

    mailer = FakeMailer()
    restarted = build_world(engine, mailer)
    assert (await restarted.remind_at(9, 6)).emailed == 0  # that slot's email stays unsent
    later = await restarted.remind_at(9, 40)
    assert (later.emailed, later.in_doubt) == (0, 1)  # recorded for an operator
    assert await restarted.count_logs(status="in_doubt") == 1
    assert mailer.sent == []
    assert (await restarted.remind_at(14, 5)).emailed == 1  # the next slot's reminder
