"""What is sent to a member of the dev chat outside their check-in's turns — a reminder
nudge, a notice to the admins — shows in /dev and in the terminal chat, once, in place,
and still after a restart: it is read back from the outbox, not kept in memory."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from adapters.dev.terminal import chat_in_terminal, find_sender
from bot.app import create_app
from bot.bootstrap import Services, build_services
from bot.settings import load_settings
from core.billing import tell_admins
from core.store.models import Organization, OutboxMessage
from tests.fakes.clock import FakeClock
from tests.fakes.demo_app import demo_client
from tests.integration.test_dev_chat import bubbles, member_id, say, timeline

#: The demo delivers everyone's check-in at noon; the 14:00 slot nudges who is silent.
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
BEN = "ben@demo.vizdots.dev"
ANA = "ana@demo.vizdots.dev"
NUDGE = "A gentle reminder"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


def started(db_url: str, clock: FakeClock) -> Services:
    return build_services(load_settings(database_url=db_url), clock=clock, loop_interval=None)


@pytest.fixture
def services(db_url: str, clock: FakeClock) -> Services:
    return started(db_url, clock)


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with demo_client(services) as client:
        yield client


async def nudge_the_silent(services: Services, clock: FakeClock) -> None:
    clock.current = NOW + timedelta(hours=2)
    assert services.reminders is not None
    counts = await services.reminders.remind(now=clock.now())
    assert counts.nudged == 5  # the five demo members a chat reaches (Fay has email)


def nudges_in(shown: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(speaker, html) for speaker, html in shown if NUDGE in html]


async def test_a_silent_member_sees_the_nudge_once_after_the_question(
    client: httpx.AsyncClient, services: Services, clock: FakeClock
) -> None:
    ben = await member_id(client, BEN)
    await nudge_the_silent(services, clock)
    shown = bubbles(await timeline(client, ben))
    assert len(nudges_in(shown)) == 1
    *_, question, nudge = shown
    assert question[0] == "agent" and "Last time" in question[1]
    assert nudge[0] == "agent" and NUDGE in nudge[1]
    async with services.sessions() as db:
        sent = await db.scalars(
            select(OutboxMessage.status).where(
                OutboxMessage.member_id == ben, OutboxMessage.kind == "nudge"
            )
        )
        assert list(sent) == ["sent"]  # one nudge, sent once: the page only reads it back


async def test_the_nudge_is_shown_once_after_a_restart(
    client: httpx.AsyncClient, services: Services, clock: FakeClock, db_url: str
) -> None:
    ben = await member_id(client, BEN)
    await nudge_the_silent(services, clock)
    restarted = create_app(started(db_url, clock))
    async with restarted.router.lifespan_context(restarted):
        transport = httpx.ASGITransport(app=restarted)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as again:
            shown = bubbles(await timeline(again, ben))
    assert len(nudges_in(shown)) == 1 and NUDGE in shown[-1][1]


async def test_the_answer_after_a_nudge_comes_after_it(
    client: httpx.AsyncClient, services: Services, clock: FakeClock
) -> None:
    ben = await member_id(client, BEN)
    await nudge_the_silent(services, clock)
    await say(client, ben, "went well")  # Ben's opening asks how his last focus went
    shown = bubbles(await timeline(client, ben))
    at = shown.index(nudges_in(shown)[0])
    assert len(nudges_in(shown)) == 1
    assert shown[at + 1] == ("member", "went well") and shown[at + 2][0] == "agent"


async def test_a_notice_to_the_admins_is_shown_to_them_only(
    client: httpx.AsyncClient, services: Services, clock: FakeClock
) -> None:
    text = "Your trial ends in 3 days: run `billing` to subscribe."
    async with services.sessions.begin() as db:
        org = await db.scalar(select(Organization).where(Organization.slug == "demo"))
        assert org is not None
        await tell_admins(db, org, key="trial-ends:demo", text=text, now=clock.now())
    await services.outbox.send_due()
    ana, ben = await member_id(client, ANA), await member_id(client, BEN)
    told = [html for _, html in bubbles(await timeline(client, ana)) if "Your trial ends" in html]
    assert len(told) == 1 and "<code>billing</code>" in told[0]
    assert all("Your trial ends" not in html for _, html in bubbles(await timeline(client, ben)))


async def chat_until_eof(services: Services, stdin: io.StringIO | io.TextIOWrapper) -> str:
    sender = await find_sender(services.sessions, BEN)
    assert sender is not None
    return await chat_in_terminal(
        sessions=services.sessions,
        chat=services.typed_chat,
        sender=sender,
        lines=stdin,
        poll_seconds=0.05,
    )


async def test_the_terminal_chat_shows_the_nudge_once_and_again_once_after_a_restart(
    client: httpx.AsyncClient,
    services: Services,
    clock: FakeClock,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await nudge_the_silent(services, clock)
    await chat_until_eof(services, io.StringIO(""))
    first = capsys.readouterr().out
    await chat_until_eof(started(db_url, clock), io.StringIO(""))
    second = capsys.readouterr().out
    for output in (first, second):
        assert output.count(NUDGE) == 1
        assert output.index("Last time") < output.index(NUDGE)  # the question, then the nudge


class Printed:
    """What the terminal chat printed so far (pytest's capture of stdout)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.text = ""

    async def until(self, done: Callable[[str], bool]) -> None:
        for _ in range(200):
            self.text += self.capsys.readouterr().out
            if done(self.text):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"never printed as expected: {self.text!r}")


async def test_a_nudge_sent_while_the_terminal_chat_waits_is_printed_once(
    client: httpx.AsyncClient,
    services: Services,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    printed = Printed(capsys)
    read, write = os.pipe()
    with os.fdopen(read) as stdin, os.fdopen(write, "w") as typing:
        chatting = asyncio.create_task(chat_until_eof(services, stdin))
        await printed.until(lambda text: "Last time" in text)
        await nudge_the_silent(services, clock)
        await printed.until(lambda text: NUDGE in text)
        lines = printed.text.count("vizdots> ")
        typing.write("went well\n")
        typing.flush()
        await printed.until(lambda text: text.count("vizdots> ") > lines)  # the next question
        typing.close()
        await asyncio.wait_for(chatting, timeout=10)
    await printed.until(lambda text: True)
    assert printed.text.count(NUDGE) == 1


async def test_reopening_the_terminal_chat_does_not_repeat_a_reply_to_the_members_own_line(
    client: httpx.AsyncClient, services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    hint = "(I took that as your answer."
    await chat_until_eof(services, io.StringIO("help\n"))  # a command word while a question waits
    assert capsys.readouterr().out.count(hint) == 1
    await chat_until_eof(services, io.StringIO(""))
    assert hint not in capsys.readouterr().out
    shown = bubbles(await timeline(client, await member_id(client, BEN)))
    assert sum(hint in html for _, html in shown) == 1  # /dev shows it, once
