"""GET /metrics: the runbook's alert signals in Prometheus' text format, each process its
own registry, guarded by METRICS_TOKEN or loopback; and the sample alert rules in
deploy/prometheus/alerts.yml, which may only use metrics the app exports."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from bot.app import create_app
from bot.bootstrap import Services, build_services
from bot.settings import load_settings
from core.domain import Provider
from core.inbound import IncomingMessage, Sender
from core.store.models import InboundEvent
from tests.fakes.clock import FakeClock
from tests.fakes.http_server import free_port
from tests.fakes.moto_ses import MotoSes
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.world import add_due_session, add_member, add_org

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
SECRET = "s3cret-for-metrics-tests"
BEARER = {"Authorization": f"Bearer {SECRET}"}
NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
LOOPBACK = ("127.0.0.1", 50000)
ELSEWHERE = ("10.1.2.3", 50000)
SLACK = {
    "slack_signing_secret": "slack-s3cret",
    "slack_client_id": "1.2",
    "slack_client_secret": "c",
}


@asynccontextmanager
async def running(db_url: str, **settings: Any) -> AsyncIterator[Services]:
    values = {"database_url": db_url, "scheduler_secret": SECRET, **settings}
    services = build_services(
        load_settings(**values), clock=FakeClock(NOW), loop_interval=None, inbox_in_process=False
    )
    app = create_app(services)
    async with app.router.lifespan_context(app):
        services.app = app  # type: ignore[attr-defined]
        yield services


def client(services: Services, peer: tuple[str, int] = LOOPBACK) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=services.app, client=peer)  # type: ignore[attr-defined]
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def scrape(services: Services, **headers: str) -> str:
    async with client(services) as http:
        response = await http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def samples(text: str) -> Iterator[tuple[str, dict[str, str], float]]:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            yield sample.name, sample.labels, sample.value


def value(text: str, name: str, **labels: str) -> float:
    """The sample's value (0 when the series does not exist yet)."""
    found = [v for n, got, v in samples(text) if n == name and labels.items() <= got.items()]
    assert len(found) <= 1, (name, labels, found)
    return found[0] if found else 0.0


async def seed_due(services: Services, *emails: str, due: datetime = NOW, **member: Any) -> None:
    async with services.sessions.begin() as db:
        org = await add_org(db)
        for email in emails:
            await add_member(db, org, email, **member)
    for email in emails:
        await add_due_session(services.sessions, email, due=due)


async def answer(services: Services, email: str, *texts: str) -> None:
    """The member answers in the dev chat, one turn after the other."""
    sender = Sender(provider=Provider.DEV, workspace="acme", user=email)
    for n, text in enumerate(texts):
        turn = IncomingMessage(sender=sender, text=text, event_id=f"{email}-{n}")
        await services.conversations.handle_message(turn)


ANSWERS = ("4", "Finishing the migration guide", "The examples")


# --- who may scrape ---------------------------------------------------------------------------
async def test_loopback_scrapes_without_a_token_and_others_are_refused(db_url: str) -> None:
    async with running(db_url) as services:
        async with client(services, ELSEWHERE) as http:
            refused = await http.get("/metrics")
        text = await scrape(services)
    assert refused.status_code == 403 and "vizdots_" not in refused.text
    assert value(text, "vizdots_auth_failures_total", inbound="metrics_token") == 1


async def test_with_a_metrics_token_only_its_bearer_scrapes_from_anywhere(db_url: str) -> None:
    async with (
        running(db_url, metrics_token="m3trics-token") as services,
        client(services, ELSEWHERE) as http,
    ):
        missing = await http.get("/metrics")
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
        right = await http.get("/metrics", headers={"Authorization": "Bearer m3trics-token"})
    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert "vizdots_http_requests_total" in right.text


async def test_each_app_has_its_own_registry(db_url: str) -> None:
    async with running(db_url) as first, running(db_url) as second:
        async with client(first) as http:
            await http.get("/healthz")
        assert value(await scrape(first), "vizdots_http_requests_total", route="/healthz") == 1
        assert value(await scrape(second), "vizdots_http_requests_total", route="/healthz") == 0


# --- HTTP requests and refusals --------------------------------------------------------------
async def test_requests_are_counted_by_route_template_not_raw_path(db_url: str) -> None:
    async with running(db_url) as services:
        async with client(services) as http:
            for member in (17, 18):
                await http.get(f"/api/admin/v1/members/{member}/export")
            await http.get("/no/such/path/42")
        text = await scrape(services)
    route = "/api/admin/v1/members/{member_id}/export"
    assert value(text, "vizdots_http_requests_total", route=route, status="401") == 2
    assert value(text, "vizdots_http_requests_total", route="unmatched", status="404") == 1
    assert "/17/" not in text and "/42" not in text
    assert value(text, "vizdots_auth_failures_total", inbound="admin_token") == 2


SNS_FORGED = {
    "Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:us-east-1:1:ses",
    "Message": "{}", "Timestamp": "2026-03-02T09:00:00.000Z", "SignatureVersion": "1",
    "Signature": "Zm9yZ2Vk", "SigningCertURL": "https://attacker.example/cert.pem",
}  # fmt: skip
REFUSED = {
    "slack_signature": ("POST", "/slack/events", {"X-Slack-Signature": "v0=00"}, b"token=x"),
    "scheduler_bearer": ("POST", "/api/internal/scheduler", {"Authorization": "Bearer x"}, b""),
    "dashboard_session": ("GET", "/dashboard", {}, b""),
    "sns_signature": ("POST", "/api/email/ses-events", {}, SNS_FORGED),
    "stripe_signature": ("POST", "/api/billing/webhook", {"Stripe-Signature": "t=1,v1=00"}, b"{}"),
    "teams_jwt": ("POST", "/api/messages", {}, {"type": "message", "text": "hi"}),
    "admin_token": ("GET", "/api/admin/v1/org", {"Authorization": "Bearer vzd_nope"}, b""),
}
#: Every integration configured (no call leaves the process before a refusal).
CONFIGURED = {
    **SLACK, "microsoft_app_id": "00000000-0000-0000-0000-000000000001",
    "microsoft_app_password": "pw", "stripe_secret_key": "sk_test_x",
    "stripe_base_price_id": "price_base", "stripe_seat_price_id": "price_seat",
    "stripe_webhook_secret": "whsec_x",
}  # fmt: skip


@pytest.mark.parametrize("inbound", sorted(REFUSED))
async def test_refusals_are_counted_per_inbound_path(db_url: str, inbound: str) -> None:
    method, path, headers, body = REFUSED[inbound]
    async with running(db_url, **CONFIGURED) as services:
        async with client(services) as http:
            sent = {"json": body} if isinstance(body, dict) else {"content": body}
            response = await http.request(method, path, headers=headers, **sent)
        text = await scrape(services)
    assert response.status_code in {400, 401, 403}
    assert value(text, "vizdots_auth_failures_total", inbound=inbound) == 1
    others = [v for n, labels, v in samples(text) if n == "vizdots_auth_failures_total"]
    assert sum(others) == 1  # counted once, under its own path


# --- AI calls, delivery lag, job runs, emails ------------------------------------------------
async def test_a_scheduler_run_counts_its_ai_calls_lag_and_run(
    db_url: str, openai_server: FakeOpenAIServer
) -> None:
    openai = {"openai_api_key": "sk-test", "openai_base_url": openai_server.base_url}
    async with running(db_url, **openai) as services:
        await seed_due(services, "ann@acme.io", due=NOW - timedelta(seconds=40))
        async with client(services) as http:
            assert (await http.post("/api/internal/scheduler", headers=BEARER)).status_code == 200
        await answer(services, "ann@acme.io", *ANSWERS)
        text = await scrape(services)
    calls = value(text, "vizdots_ai_calls_total", outcome="ok")
    assert calls >= 1
    assert value(text, "vizdots_ai_call_duration_seconds_count") == calls
    assert value(text, "vizdots_delivery_lag_seconds_bucket", le="30.0") == 0
    assert value(text, "vizdots_delivery_lag_seconds_bucket", le="60.0") == 1
    runs = {"job": "scheduler", "trigger": "cron"}
    assert value(text, "vizdots_job_runs_total", outcome="ok", **runs) == 1
    last = value(text, "vizdots_job_last_success_timestamp_seconds", job="scheduler")
    assert last == NOW.timestamp()
    assert value(text, "vizdots_job_last_run_failed", job="scheduler") == 0


async def test_a_failing_model_is_counted_as_failed_calls(
    db_url: str, openai_server: FakeOpenAIServer
) -> None:
    openai = {"openai_api_key": "sk-test", "openai_base_url": openai_server.base_url}
    openai_server.fail_next(50, status=500)
    async with running(db_url, openai_max_retries=0, **openai) as services:
        await seed_due(services, "ann@acme.io")
        async with client(services) as http:
            await http.post("/api/internal/scheduler", headers=BEARER)
        await answer(services, "ann@acme.io", *ANSWERS)
        text = await scrape(services)
    assert value(text, "vizdots_ai_calls_total", outcome="error") >= 1
    assert value(text, "vizdots_ai_calls_total", outcome="ok") == 0


def emails_in(directory: Path) -> list[Path]:
    return list(directory.glob("*.eml"))


async def test_emails_are_counted_by_outcome(db_url: str, email_outbox: Path) -> None:
    async with running(db_url, scheduler_reminders_secret=SECRET) as services:
        await seed_due(services, "ann@acme.io", email_only=True)
        await services.delivery.deliver_due(now=NOW)
        services.clock.current = NOW + timedelta(minutes=5)  # type: ignore[attr-defined]
        async with client(services) as http:
            answer = await http.post("/api/internal/reminders", headers=BEARER)
        text = await scrape(services)
    assert answer.json()["emailed"] == 1 and len(emails_in(email_outbox)) == 1
    assert value(text, "vizdots_emails_total", outcome="sent") == 1
    assert value(text, "vizdots_emails_total", outcome="failed") == 0
    runs = {"job": "reminders", "trigger": "cron", "outcome": "ok"}
    assert value(text, "vizdots_job_runs_total", **runs) == 1


async def test_an_email_ses_refuses_is_counted_as_failed(db_url: str, moto_ses: MotoSes) -> None:
    ses = {"aws_ses_access_key_id": "testing", "aws_ses_secret_access_key": "testing",
           "aws_ses_endpoint_url": moto_ses.url, "email_from": "unverified@elsewhere.test",
           "ses_max_send_rate": 100.0}  # fmt: skip
    async with running(db_url, scheduler_reminders_secret=SECRET, **ses) as services:
        await seed_due(services, "ann@acme.io", email_only=True)
        await services.delivery.deliver_due(now=NOW)
        services.clock.current = NOW + timedelta(minutes=5)  # type: ignore[attr-defined]
        async with client(services) as http:
            await http.post("/api/internal/reminders", headers=BEARER)
        text = await scrape(services)
    assert moto_ses.sent() == []
    assert value(text, "vizdots_emails_total", outcome="failed") >= 1
    assert value(text, "vizdots_emails_total", outcome="sent") == 0


# --- gauges read from the database -----------------------------------------------------------
async def test_inbox_and_todays_sessions_are_read_at_scrape_time(db_url: str) -> None:
    async with running(db_url) as services:
        await seed_due(services, "ann@acme.io", "ben@acme.io")
        async with services.sessions.begin() as db:
            waiting = InboundEvent(provider="slack", event_id="ev-1", kind="message",
                                   workspace="T1", user_id="U1", text="hi",
                                   received_at=NOW - timedelta(minutes=2))  # fmt: skip
            db.add(waiting)
        text = await scrape(services)
    assert value(text, "vizdots_sessions_today", state="scheduled") == 2
    assert value(text, "vizdots_sessions_today", state="completed") == 0
    assert value(text, "vizdots_inbox_pending") == 1
    assert value(text, "vizdots_inbox_oldest_pending_seconds") == 120
    assert value(text, "vizdots_database_up") == 1


async def test_an_unreachable_database_still_serves_the_process_counters(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/missing/x.db"
    services = build_services(load_settings(database_url=url), loop_interval=None)
    transport = httpx.ASGITransport(app=create_app(services), client=LOOPBACK)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.get("/metrics")
    await services.close()
    assert response.status_code == 200
    assert value(response.text, "vizdots_database_up") == 0
    assert "vizdots_http_requests_total" in response.text


def test_a_worker_serves_its_own_metrics_on_its_metrics_port(db_url: str) -> None:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_"))}
    environment |= {"DATABASE_URL": db_url, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "worker", "--now", NOW.isoformat(),
         "--metrics-port", str(port)],
        env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    loop_runs = {"job": "scheduler", "trigger": "loop", "outcome": "ok"}
    try:
        deadline = time.monotonic() + 30
        while not planned_once(port, loop_runs):
            assert time.monotonic() < deadline, "the worker's /metrics never showed a run"
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGINT)
        _out, err = worker.communicate(timeout=30)
    assert "Traceback" not in err


def planned_once(port: int, labels: dict[str, str]) -> bool:
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    except httpx.TransportError:
        return False
    return value(text, "vizdots_job_runs_total", **labels) >= 1


# --- the alert rules -------------------------------------------------------------------------
def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_every_alert_rule_is_complete() -> None:
    rules = alert_rules()
    assert {r["alert"] for r in rules} >= {
        "VizDotsApiErrorRate", "VizDotsAuthFailures", "VizDotsAiSlow", "VizDotsEmailFailures",
        "VizDotsJobFailed", "VizDotsSchedulerDidNotRunToday",
    }  # fmt: skip
    for rule in rules:
        assert {"alert", "expr", "for", "labels", "annotations"} <= rule.keys(), rule
        assert rule["labels"]["severity"] in {"page", "ticket"}, rule
        assert rule["annotations"]["summary"] and rule["annotations"]["runbook"], rule


def test_promtool_accepts_the_rules_when_it_is_installed() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (the structure check above still runs)")
    result = subprocess.run([promtool, "check", "rules", str(ALERTS)], capture_output=True)
    assert result.returncode == 0, result.stdout + result.stderr


async def test_alert_rules_use_only_metrics_the_app_exports(db_url: str) -> None:
    async with running(db_url) as services:
        await scrape(services)  # a fresh process that has served one request
        text = await scrape(services)
    exported = {name for name, _labels, _value in samples(text)}
    for rule in alert_rules():
        used = set(re.findall(r"\bvizdots_[a-z_]+", rule["expr"]))
        assert used and used <= exported, (rule["alert"], used - exported)
