"""No secret, token, email body or member's words in any log line, at DEBUG: a whole
scenario (a Slack install, a check-in answered through the OpenAI brain, an email
reminder, Stripe webhooks, admin API calls, the cron endpoints, refusals included) runs
with every logger at DEBUG, and each line is searched for what the scenario used. And
LOG_FORMAT=json: one JSON object a line, with its request id."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.admin_cli import token_create
from bot.app import create_app
from bot.bootstrap import build_services
from bot.log_format import log_handler
from bot.settings import load_settings
from core.admin.tokens import TokenRole
from core.store.models import Member, Message, Organization
from tests.fakes.clock import FakeClock
from tests.fakes.http_server import eventually, free_port, serving
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.slack_api import TEST_TOKEN, FakeSlackApi
from tests.fakes.slack_requests import NOW, SECRET, SlackWorld, slack_world
from tests.fakes.stripe_api import BASE_PRICE, SEAT_PRICE, FakeStripe, body_of, event, signed
from tests.fakes.world import add_org

OPENAI_KEY = "sk-scan-openai-key-0123456789"
STRIPE_KEY = "sk_test_scan_stripe_key_0123456789"
WEBHOOK_SECRET = "whsec_scan_webhook_secret_0123456789"
SCHEDULER_SECRET = "scan-scheduler-secret-0123456789"
REMINDERS_SECRET = "scan-reminders-secret-0123456789"
LINK_SECRET = "scan-link-signing-secret-0123456789"
ROOT = Path(__file__).resolve().parents[2]
#: What the member says: none of it may reach a log line.
ANSWERS = ("Shipping the zebrafish migration", "blocked by quokka legal review")


@pytest.fixture
def debug_logs() -> Iterator[io.StringIO]:
    """Every log record at DEBUG, as `vizdots serve` with LOG_LEVEL=DEBUG would write it."""
    stream = io.StringIO()
    handler = log_handler("json")
    handler.setStream(stream)  # type: ignore[attr-defined]
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


async def answer_the_check_in(world: SlackWorld) -> None:
    await world.requests.command("U1", "schedule set daily everyday 09:00")
    await eventually(lambda: _replied(world))
    await world.plan_and_deliver()
    question_ts = world.slack.messages_in("D2")[0].ts
    await world.requests.press("U2", world.buttons_of()[3], message_ts=question_ts)
    for n, text in enumerate(ANSWERS, start=1):
        await world.requests.dm("U2", text, ts=f"1800000000.00{n:04d}")
        await eventually(lambda text=text: _answered(world, text), within=20)


async def _replied(world: SlackWorld) -> bool:
    return len(world.replies_to_commands()) == 1


async def _answered(world: SlackWorld, text: str) -> bool:
    """The member's turn is stored and the agent spoke after it."""
    async with world.services.sessions() as db:
        turns = list(await db.scalars(select(Message).order_by(Message.id)))
    said = [n for n, turn in enumerate(turns) if turn.text == text and turn.speaker == "member"]
    return bool(said) and any(turn.speaker == "agent" for turn in turns[said[0] + 1 :])


async def email_a_reminder(world: SlackWorld, email_outbox: Path) -> str:
    """Eve has no chat: her check-in goes by email at the 09:00 slot. Returns its body."""
    async with world.services.sessions.begin() as db:
        org = await db.scalar(select(Organization))
        assert org is not None
        db.add(Member(org_id=org.id, display_name="Eve Mail", email="eve@t.io",
                      timezone="Europe/Berlin", email_only=True))  # fmt: skip
    await world.plan_and_deliver()
    clock = world.services.clock
    assert isinstance(clock, FakeClock)
    clock.current = NOW + timedelta(hours=1, minutes=5)
    bearer = {"Authorization": f"Bearer {REMINDERS_SECRET}"}
    base = world.requests.base_url
    async with httpx.AsyncClient(base_url=base) as http:
        assert (await http.post("/api/internal/reminders", headers=bearer)).json()["emailed"] == 1
        await http.post("/api/internal/reminders", headers={"Authorization": "Bearer wrong"})
    clock.current = NOW
    return only_email(email_outbox)


def only_email(directory: Path) -> str:
    [eml] = directory.glob("*.eml")
    return eml.read_text(encoding="utf-8")


async def call_stripe_and_admin(world: SlackWorld) -> str:
    """A signed and a forged Stripe webhook, admin API calls with a good and a bad token,
    the scheduler with a good and a bad bearer. Returns the admin token."""
    async with world.services.sessions() as db:
        slug = await db.scalar(select(Organization.slug))
    assert slug is not None
    token = await token_create(world.services, org=slug, name="scan", role=TokenRole.ADMIN)
    payload = body_of(event("customer.subscription.deleted", {"id": "sub_x"}, created=1))
    async with httpx.AsyncClient(base_url=world.requests.base_url) as http:
        good = await http.post("/api/billing/webhook", content=payload,
                               headers=signed(payload, WEBHOOK_SECRET))  # fmt: skip
        assert good.status_code == 200
        forged = signed(payload, "whsec_someone_else")
        assert (
            await http.post("/api/billing/webhook", content=payload, headers=forged)
        ).status_code == 401
        members = await http.get(
            "/api/admin/v1/members", headers={"Authorization": f"Bearer {token}"}
        )
        assert members.status_code == 200 and "ben@t.io" in members.text
        wrong = {"Authorization": f"Bearer {token[:-4]}xxxx"}
        assert (await http.get("/api/admin/v1/members", headers=wrong)).status_code == 401
        cron = {"Authorization": f"Bearer {SCHEDULER_SECRET}"}
        assert (await http.post("/api/internal/scheduler", headers=cron)).status_code == 200
        await http.post("/api/internal/scheduler", headers={"Authorization": "Bearer nope"})
    return token


def link_tokens(email_body: str) -> list[str]:
    """The signed tokens in the email's links (each a credential for the member)."""
    words = email_body.replace("=\n", "").split()
    return [w.split("/checkin/")[1].split('"')[0][:40] for w in words if "/checkin/" in w]


async def test_no_log_line_holds_a_secret_or_what_a_member_wrote(
    db_url: str, slack_api: FakeSlackApi, openai_server: FakeOpenAIServer,
    debug_logs: io.StringIO, email_outbox: Path,
) -> None:  # fmt: skip
    stripe = FakeStripe()
    async with serving(stripe.app()) as stripe_base:
        settings: dict[str, Any] = {
            "openai_api_key": OPENAI_KEY, "openai_base_url": openai_server.base_url,
            "stripe_secret_key": STRIPE_KEY, "stripe_api_base": stripe_base,
            "stripe_base_price_id": BASE_PRICE, "stripe_seat_price_id": SEAT_PRICE,
            "stripe_webhook_secret": WEBHOOK_SECRET, "scheduler_secret": SCHEDULER_SECRET,
            "scheduler_reminders_secret": REMINDERS_SECRET, "link_signing_secret": LINK_SECRET,
        }  # fmt: skip
        async with slack_world(db_url, slack_api, **settings) as world:
            await answer_the_check_in(world)
            email_body = await email_a_reminder(world, email_outbox)
            admin_token = await call_stripe_and_admin(world)
    logs = debug_logs.getvalue()

    assert len(logs.splitlines()) > 50  # DEBUG was on: the scenario did log
    secrets = [SECRET, TEST_TOKEN, OPENAI_KEY, STRIPE_KEY, WEBHOOK_SECRET, SCHEDULER_SECRET,
               REMINDERS_SECRET, LINK_SECRET, admin_token]  # fmt: skip
    for secret in secrets:
        assert secret not in logs, secret[:6]
    for text in ANSWERS:
        assert text not in logs and text.split()[-1] not in logs, text
    tokens = link_tokens(email_body)
    assert tokens and not any(token in logs for token in tokens)
    for personal in ("eve@t.io", "ben@t.io", "Ben Berlin"):  # who members are: not logged
        assert personal not in logs, personal


@pytest.fixture
def sqlite_db(tmp_path: Path, sqlite_template: Path) -> str:
    target = tmp_path / "head.db"
    target.write_bytes(sqlite_template.read_bytes())
    return f"sqlite:///{target}"


async def test_json_lines_carry_the_request_id(sqlite_db: str, debug_logs: io.StringIO) -> None:
    services = build_services(
        load_settings(database_url=sqlite_db, scheduler_secret=SCHEDULER_SECRET),
        clock=FakeClock(NOW), loop_interval=None, inbox_in_process=False,
    )  # fmt: skip
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.post(
            "/api/internal/scheduler",
            headers={"Authorization": f"Bearer {SCHEDULER_SECRET}", "X-Request-ID": "req-42"},
        )
        logging.getLogger("vizdots.test").info("outside any request")
    await services.close()

    assert response.headers["x-request-id"] == "req-42"
    lines = [json.loads(line) for line in debug_logs.getvalue().splitlines()]
    assert all({"time", "level", "logger", "message", "request_id", "org_id"} <= ln.keys()
               for ln in lines)  # fmt: skip
    assert any(ln["request_id"] == "req-42" for ln in lines)
    [outside] = [ln for ln in lines if ln["message"] == "outside any request"]
    assert outside["request_id"] is None and outside["level"] == "INFO"


def test_signed_links_in_the_access_log_are_redacted() -> None:
    stream = io.StringIO()
    handler = log_handler("text")
    handler.setStream(stream)  # type: ignore[attr-defined]
    access = logging.getLogger("uvicorn.access")
    access.addHandler(handler)
    level = access.level
    access.setLevel(logging.INFO)
    try:
        for path in ("/checkin/eyJzaWduZWQ.tok3n", "/dashboard/login/Zm9v.bar", "/healthz"):
            access.info('%s - "%s %s HTTP/%s" %d', "10.0.0.9:5000", "GET", path, "1.1", 200)
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
    lines = stream.getvalue().splitlines()
    assert "/checkin/<redacted>" in lines[0] and "tok3n" not in lines[0]
    assert "/dashboard/login/<redacted>" in lines[1] and "bar" not in lines[1]
    assert '"GET /healthz HTTP/1.1" 200' in lines[2]


async def test_a_request_bound_to_an_organisation_logs_its_org_id(
    sqlite_db: str, debug_logs: io.StringIO
) -> None:
    services = build_services(load_settings(database_url=sqlite_db), loop_interval=None,
                              inbox_in_process=False)  # fmt: skip
    async with services.sessions.begin() as db:
        org = await add_org(db, "acme")
    token = await token_create(services, org="acme", name="scan", role=TokenRole.VIEWER)
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        answer = await http.get("/api/admin/v1/org", headers={"Authorization": f"Bearer {token}"})
    await services.close()

    assert answer.status_code == 200
    lines = [json.loads(line) for line in debug_logs.getvalue().splitlines()]
    [done] = [ln for ln in lines if ln["message"] == "GET /api/admin/v1/org 200"]
    assert done["org_id"] == org.id and done["request_id"] == answer.headers["x-request-id"]
    assert token not in debug_logs.getvalue()


def test_serve_writes_json_lines_uvicorns_included(sqlite_db: str) -> None:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_"))}
    environment |= {"DATABASE_URL": sqlite_db, "PYTHONPATH": str(ROOT), "LOG_FORMAT": "json",
                    "LOG_LEVEL": "INFO"}  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--no-loop"],
        env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not answers(f"http://127.0.0.1:{port}/checkin/c2VjcmV0LWxpbms.sig"):
            assert time.monotonic() < deadline, "serve never answered"
            time.sleep(0.2)
    finally:
        server.send_signal(signal.SIGINT)
        _out, err = server.communicate(timeout=30)
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]
    loggers = {line["logger"] for line in lines}
    assert {"uvicorn.error", "uvicorn.access"} <= loggers
    access = [ln["message"] for ln in lines if ln["logger"] == "uvicorn.access"]
    assert any("/checkin/<redacted>" in message for message in access)
    assert "c2VjcmV0LWxpbms" not in err


def answers(url: str) -> bool:
    try:
        httpx.get(url)
    except httpx.TransportError:
        return False
    return True
