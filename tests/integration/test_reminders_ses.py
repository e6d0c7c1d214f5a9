"""Reminders through the SES v2 adapter against moto's server (and a throttling fake)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime
from email import message_from_bytes
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from adapters.email.outbox_mailer import OutboxMailer
from adapters.email.ses import SesConfig, SesMailer, TokenBucket
from core.ports import Email
from core.store.engine import make_async_engine
from tests.fakes.clock import FakeClock
from tests.fakes.http_server import serving
from tests.fakes.moto_ses import SENDER, MotoSes
from tests.fakes.reminder_world import add_members, build_world

ANA, EVE = "ana@acme.io", "eve@acme.io"


async def test_the_ladder_against_moto(engine: AsyncEngine, moto_ses: MotoSes) -> None:
    world = build_world(engine, moto_ses.mailer())
    await add_members(world.sessions, (ANA, {}), (EVE, {"email_only": True}))
    await world.deliver()

    await world.remind_at(8, 1)  # Eve has no chat: her check-in goes by email at once
    assert [m["subject"] for m in moto_ses.sent_to(EVE)] == ["Your Daily check-in, Eve"]
    assert moto_ses.sent_to(ANA) == []
    body = moto_ses.sent_to(EVE)[0]["body"]  # the HTML part
    assert "How are you feeling today" in body and 'href="https://vizdots.test/checkin/' in body
    assert moto_ses.sent()[0]["source"] == SENDER

    await world.remind_at(9, 5)  # Ana: the chat nudge; Eve: the slot's reminder
    assert len(world.channel.sent) == 2  # Ana's check-in and her one nudge
    assert moto_ses.sent_to(ANA) == [] and len(moto_ses.sent_to(EVE)) == 2

    await world.answer(EVE, "4")  # Eve answers: no more reminders for her
    await world.remind_at(14, 5)  # Ana nudged and still silent: one email
    assert [m["subject"] for m in moto_ses.sent_to(ANA)] == [
        "Reminder: your Daily check-in is waiting"
    ]
    assert len(moto_ses.sent_to(EVE)) == 2
    await world.remind_at(14, 40)
    assert len(moto_ses.sent()) == 3
    logs = await world.email_logs()
    assert [status for *_rest, status in logs] == ["sent"] * 3
    ids = {m["id"] for m in moto_ses.sent()}
    async with world.sessions() as db:
        from sqlalchemy import select

        from core.store.models import EmailLog

        stored = set(await db.scalars(select(EmailLog.provider_message_id)))
    assert stored == ids  # each row keeps SES's message id


async def test_concurrent_runs_on_postgresql_send_each_email_once(
    db_url: str, moto_ses: MotoSes
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("concurrent runs: PostgreSQL (SQLite serialises its writers anyway)")
    engines = [make_async_engine(db_url) for _ in range(3)]
    try:
        worlds = [build_world(e, moto_ses.mailer(), concurrency=8) for e in engines]
        people = [(f"m{n}@acme.io", {"email_only": True}) for n in range(40)]
        await add_members(worlds[0].sessions, *people)
        await worlds[0].deliver()
        runs = await asyncio.gather(*(w.remind_at(9, 5) for w in worlds))
    finally:
        for e in engines:
            await e.dispose()
    assert sum(r.emailed for r in runs) == 40, runs
    destinations = [m["destinations"]["ToAddresses"][0] for m in moto_ses.sent()]
    assert sorted(destinations) == sorted(email for email, _ in people)  # each once


def throttling_ses(requests: list[dict[str, Any]], throttles: int) -> Starlette:
    """An SES v2 endpoint that answers Throttling `throttles` times, then accepts."""

    async def send_email(request: Request) -> JSONResponse:
        requests.append(json.loads(await request.body()))
        if len(requests) <= throttles:
            headers = {"x-amzn-ErrorType": "TooManyRequestsException"}
            body = {"message": "Maximum sending rate exceeded."}
            return JSONResponse(body, status_code=429, headers=headers)
        return JSONResponse({"MessageId": f"ses-{len(requests)}"})

    return Starlette(routes=[Route("/v2/email/outbound-emails", send_email, methods=["POST"])])


async def test_throttling_is_retried_by_botocore(engine: AsyncEngine) -> None:
    requests: list[dict[str, Any]] = []
    async with serving(throttling_ses(requests, throttles=1)) as url:
        config = SesConfig(
            region="eu-west-1",
            access_key_id="testing",
            secret_access_key="testing",
            sender=SENDER,
            endpoint_url=url,
            configuration_set="vizdots-events",
            max_send_rate=50.0,
        )
        world = build_world(engine, SesMailer(config))
        session = (await add_members(world.sessions, (EVE, {"email_only": True})))[EVE]
        await world.deliver()
        counts = await world.remind_at(9, 5)
    assert (counts.emailed, counts.failed, len(requests)) == (1, 0, 2)
    assert await world.email_logs() == [(session, "reminder", "2026-11-25T09:00Z", "sent")]
    sent = requests[-1]
    headers = {h["Name"]: h["Value"] for h in sent["Content"]["Simple"]["Headers"]}
    assert headers["List-Unsubscribe"].startswith("<https://vizdots.test/unsubscribe/")
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert sent["ConfigurationSetName"] == "vizdots-events"
    assert sent["EmailTags"] == [{"Name": "kind", "Value": "reminder"}]
    assert sent["Destination"] == {"ToAddresses": [EVE]}


async def test_an_error_names_no_address(
    moto_ses: MotoSes, caplog: pytest.LogCaptureFixture
) -> None:
    mailer = moto_ses.mailer(sender="unverified@elsewhere.test")  # moto rejects the sender
    email = Email(to="someone@private.test", subject="s", text="t")
    with caplog.at_level(logging.INFO), pytest.raises(Exception) as raised:
        await mailer.send(email)
    assert "MessageRejected" in str(raised.value) and "private.test" not in str(raised.value)
    assert "private.test" not in caplog.text and "elsewhere.test" not in caplog.text


async def test_the_token_bucket_keeps_the_rate() -> None:
    bucket = TokenBucket(50.0, capacity=1)
    started = time.monotonic()
    for _ in range(11):
        await bucket.take()
    assert time.monotonic() - started >= 0.19  # ten waits of 1/50 s: never faster


#: As long as a signed unsubscribe link: too long for one folded header line.
LONG_LINK = "https://vizdots.test/email/unsubscribe/" + "t0k3n" * 24
#: Not today, whatever day the tests run: a Date from the real clock cannot match it.
WRITTEN_AT = datetime(2026, 3, 2, 9, 15, 30, tzinfo=UTC)


async def test_without_ses_each_email_is_an_eml_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mailer = OutboxMailer(directory=tmp_path / "outbox", sender=SENDER, clock=FakeClock(WRITTEN_AT))
    email = Email(
        to="eve@acme.io",
        subject="Your check-in",
        text="How are you?",
        html="<p>How are you?</p>",
        unsubscribe_url=LONG_LINK,
    )
    with caplog.at_level(logging.INFO, logger="vizdots.email"):
        message_id = await mailer.send(email)
    [path] = (tmp_path / "outbox").glob("*.eml")
    assert path.name == f"{message_id}.eml"
    parsed = message_from_bytes(path.read_bytes())
    assert (parsed["To"], parsed["Subject"]) == ("eve@acme.io", "Your check-in")
    assert parsed["List-Unsubscribe"] == f"<{LONG_LINK}>"  # as written, not RFC 2047-encoded
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert [p.get_content_type() for p in parsed.walk()][1:] == ["text/plain", "text/html"]
    assert len(caplog.records) == 1 and "eve@" not in caplog.text and "How are" not in caplog.text


async def test_an_eml_file_is_dated_by_the_clock_passed_in(tmp_path: Path) -> None:
    clock = FakeClock(WRITTEN_AT)
    mailer = OutboxMailer(directory=tmp_path / "outbox", sender=SENDER, clock=clock)
    await mailer.send(Email(to="eve@acme.io", subject="Your check-in", text="How are you?"))
    [path] = (tmp_path / "outbox").glob("*.eml")
    written = message_from_bytes(path.read_bytes())["Date"]
    assert parsedate_to_datetime(written) == clock.now()
