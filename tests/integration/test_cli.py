"""The newcomer's path through the real `vizdots` command: demo, chat, report.

Every command that opens, plans, delivers or reports is given its instant with --now:
the demo runs on Wednesday 2026-11-25 at noon UTC, whatever day the suite runs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.demo import DEMO_TEAM, EMAIL_ONLY
from core.store.engine import make_sync_engine
from core.store.migrate import head_revision
from core.store.models import CheckinSession, Member, Message, OutboxMessage
from tests.fakes.http_server import free_port
from tests.fakes.openai_server import FakeOpenAIServer

VIZDOTS = str(Path(sys.executable).with_name("vizdots"))
DEMO_AT = "2026-11-25T12:00:00+00:00"
CHAT_AT = "2026-11-25T12:05:00+00:00"
REPORT_AT = "2026-11-25T18:00:00+00:00"
BEN = "ben@demo.vizdots.dev"
#: Ben's demo history ends with a focus, so his check-in first asks how it went.
BEN_ANSWERS = "went well\nfour\nPRs\nnone\n"
FAY = EMAIL_ONLY[1]
DEMO_EMAILS = [email for _name, email, *_ in DEMO_TEAM] + [FAY]
#: Words that would make a member think something broke.
ALARMING = ("error", "retry", "traceback", "http", "warning", "exception")


def vizdots(
    db_url: str, *args: str, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the CLI; LOG_LEVEL is WARNING unless `env` says otherwise (None: unset)."""
    environment = {**os.environ, "DATABASE_URL": db_url, "LOG_LEVEL": "WARNING", **env}
    environment = {name: value for name, value in environment.items() if value}
    if "OPENAI_API_KEY" not in env:
        environment.pop("OPENAI_API_KEY", None)
    return subprocess.run(
        [VIZDOTS, *args], input=stdin, env=environment, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def demo_db(db_url: str) -> str:
    result = vizdots(db_url, "demo", "--now", DEMO_AT)
    assert result.returncode == 0, result.stderr
    return db_url


def test_demo_delivers_a_check_in_to_each_member(db_url: str) -> None:
    first = vizdots(db_url, "demo", "--now", DEMO_AT)
    assert "6 members, 6 check-ins delivered" in first.stdout, first.stdout + first.stderr
    sent = check_ins_sent(db_url)
    assert sorted(sent) == sorted(DEMO_EMAILS)  # one each: the five in chat, Fay by email
    assert sent[FAY] == "email" and {sent[e] for e in DEMO_EMAILS if e != FAY} == {"dev"}
    again = vizdots(db_url, "demo", "--now", DEMO_AT)
    assert "6 members, 0 check-ins delivered" in again.stdout  # idempotent
    assert check_ins_sent(db_url) == sent


def check_ins_sent(db_url: str) -> dict[str, str]:
    """Each member's delivered check-in and the channel its opening went out on; an
    opening turn stored and, for a chat, its outbox message sent."""
    engine = make_sync_engine(db_url)
    with engine.connect() as db:
        rows = db.execute(
            select(Member.email, CheckinSession.channel, func.count(Message.id))
            .join(CheckinSession, CheckinSession.member_id == Member.id)
            .join(Message, Message.session_id == CheckinSession.id)
            .where(CheckinSession.state == "delivered", Message.speaker == "agent")
            .group_by(Member.email, CheckinSession.channel)
        ).all()
        chat_sent = db.scalar(select(func.count()).where(OutboxMessage.status == "sent"))
    engine.dispose()
    assert [count for *_, count in rows] == [1] * len(rows)
    assert chat_sent == sum(1 for _email, channel, _ in rows if channel != "email")
    return {str(email): str(channel) for email, channel, _ in rows}


def test_demo_emails_the_member_with_no_chat_once(db_url: str, email_outbox: Path) -> None:
    first = vizdots(db_url, "demo", "--now", DEMO_AT)
    assert "fay@demo.vizdots.dev has no chat: her check-in went out by email" in first.stdout
    [eml] = email_outbox.glob("*.eml")
    text = eml.read_text()
    assert "To: fay@demo.vizdots.dev" in text
    assert "Last time your main focus was" in text or "Last time you mentioned a blocker" in text
    vizdots(db_url, "demo", "--now", DEMO_AT)
    assert len(list(email_outbox.glob("*.eml"))) == 1  # idempotent


def test_remind_nudges_at_the_slot_and_prints_counts(demo_db: str, email_outbox: Path) -> None:
    result = vizdots(demo_db, "remind", "--now", "2026-11-25T14:00:00+00:00")
    assert result.returncode == 0, result.stderr
    counts = json.loads(result.stdout)
    assert counts["slot"] == "2026-11-25T14:00Z"
    # delivered at noon: the five chat members get their nudge, Fay her 14:00 reminder
    assert (counts["nudged"], counts["emailed"]) == (5, 1)
    again = json.loads(vizdots(demo_db, "remind", "--now", "2026-11-25T14:20:00+00:00").stdout)
    assert (again["nudged"], again["emailed"]) == (0, 0)
    assert len(list(email_outbox.glob("*.eml"))) == 2  # the check-in, then one reminder


def demo_daily_report(db_url: str, **env: str) -> dict[str, Any]:
    report = vizdots(db_url, "report", "--org", "demo", "--json", "--now", REPORT_AT, **env)
    [daily] = json.loads(report.stdout)[0]["agents"]
    return dict(daily)


def test_a_check_in_answered_in_the_terminal_shows_in_the_report(demo_db: str) -> None:
    before = demo_daily_report(demo_db)  # the demo team's history of the week
    chat = vizdots(demo_db, "chat", "--member", BEN, "--now", CHAT_AT, stdin=BEN_ANSWERS)
    assert chat.returncode == 0, chat.stderr
    assert "Last time your main focus was" in chat.stdout
    assert "What's your main focus today?" in chat.stdout
    assert chat.stdout.strip().endswith("(check-in completed)")
    daily = demo_daily_report(demo_db)
    assert daily["completed"] == before["completed"] + 1
    assert daily["averages"]["mood"]["answers"] == before["averages"]["mood"]["answers"] + 1
    assert daily["recent"]["focus"][0] == {"member": "Ben Berlin", "text": "PRs",
                                           "date": "2026-11-25"}  # fmt: skip


def test_chat_with_an_unknown_email_fails_clearly(demo_db: str) -> None:
    result = vizdots(demo_db, "chat", "--member", "nobody@x.io", "--now", CHAT_AT, stdin="")
    assert result.returncode == 1 and "no active member" in result.stderr


def test_plan_and_deliver_accept_a_replay_instant(demo_db: str) -> None:
    plan = vizdots(demo_db, "plan", "--now", "2026-11-30T07:00:00+00:00")
    assert plan.returncode == 0 and plan.stdout.startswith("planned ")
    deliver = vizdots(demo_db, "deliver", "--now", "2026-11-30T23:00:00+00:00")
    assert json.loads(deliver.stdout)["delivered"] >= 1


def test_a_bad_now_is_a_usage_error(demo_db: str) -> None:
    result = vizdots(demo_db, "plan", "--now", "yesterday")
    assert result.returncode == 2 and "--now" in result.stderr


def test_a_database_not_migrated_is_one_line_not_a_traceback(blank_db_url: str) -> None:
    result = vizdots(blank_db_url, "demo", "--now", DEMO_AT, LOG_LEVEL="")  # no Alembic lines
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"database not ready: schema at nothing, expected {head_revision()}: run `vizdots migrate`"
    ]


def test_an_unknown_log_level_is_one_line(demo_db: str) -> None:
    result = vizdots(demo_db, "report", "--now", REPORT_AT, LOG_LEVEL="loud")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "invalid setting LOG_LEVEL: 'loud' is not DEBUG, INFO, WARNING or ERROR"
    ]


# --- the terminal shows the conversation only -------------------------------------------------
def chat_with_model_at(base_url: str, demo_db: str, *args: str, **env: str) -> tuple[str, str]:
    """Ben's check-in in the terminal with OPENAI_API_KEY set, LOG_LEVEL unset."""
    model = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": base_url, "OPENAI_MAX_RETRIES": "1"}
    chat = vizdots(
        demo_db, "chat", "--member", BEN, "--now", CHAT_AT, *args,
        stdin=BEN_ANSWERS, **{"LOG_LEVEL": "", **model, **env},
    )  # fmt: skip
    assert chat.returncode == 0, chat.stderr
    return chat.stdout, chat.stderr


def conversation_only(stdout: str) -> bool:
    """Agent turns (each may go on over lines and end with button hints), then the state."""
    lines = stdout.strip().splitlines()
    alarming = any(word in stdout.lower() for word in ALARMING)
    return lines[0].startswith("vizdots> ") and lines[-1].startswith("(check-in ") and not alarming


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there


def test_a_model_that_is_down_does_not_show_in_the_chat(demo_db: str) -> None:
    stdout, stderr = chat_with_model_at(closed_port_url(), demo_db)
    assert conversation_only(stdout), stdout
    assert "What's your main focus today?" in stdout  # the scripted brain took over
    assert stdout.strip().endswith("(check-in completed)")
    assert stderr == ""


def test_a_working_model_leaves_no_http_log_lines(
    demo_db: str, openai_server: FakeOpenAIServer
) -> None:
    stdout, stderr = chat_with_model_at(openai_server.base_url, demo_db)
    assert conversation_only(stdout), stdout
    assert openai_server.requests and stderr == ""


def test_verbose_shows_the_library_log_lines(demo_db: str) -> None:
    _, stderr = chat_with_model_at(closed_port_url(), demo_db, "--verbose")
    assert "Retrying request" in stderr


def test_an_explicit_log_level_is_honoured(demo_db: str) -> None:
    _, stderr = chat_with_model_at(closed_port_url(), demo_db, LOG_LEVEL="INFO")
    assert "Retrying request" in stderr


def test_ctrl_c_ends_the_chat_at_once_without_a_traceback(demo_db: str) -> None:
    environment = {**os.environ, "DATABASE_URL": demo_db, "LOG_LEVEL": "WARNING"}
    environment.pop("OPENAI_API_KEY", None)
    chat = subprocess.Popen(
        [VIZDOTS, "chat", "--member", BEN, "--now", CHAT_AT],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=environment,
    )  # fmt: skip
    assert chat.stdout is not None and chat.stderr is not None and chat.stdin is not None
    try:
        while "[Skip today]" not in chat.stdout.readline():
            pass  # the opening is shown: the chat now waits for a line that never comes
        chat.send_signal(signal.SIGINT)
        assert chat.wait(timeout=20) == 130
    finally:
        chat.kill()
        chat.stdin.close()
    assert chat.stdout.read().strip() == "(chat stopped)"
    assert chat.stderr.read() == ""
