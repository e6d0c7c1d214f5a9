"""The newcomer's path through the real `vizdots` command: demo, chat, report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

VIZDOTS = str(Path(sys.executable).with_name("vizdots"))


def vizdots(db_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db_url, "LOG_LEVEL": "WARNING"}
    env.pop("OPENAI_API_KEY", None)
    return subprocess.run(
        [VIZDOTS, *args], input=stdin, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def demo_db(db_url: str) -> str:
    result = vizdots(db_url, "demo")
    assert result.returncode == 0, result.stderr
    return db_url


def test_demo_delivers_a_check_in_to_each_member(demo_db: str) -> None:
    again = vizdots(demo_db, "demo")
    assert "5 members, 0 check-ins delivered" in again.stdout  # idempotent


def test_a_check_in_answered_in_the_terminal_shows_in_the_report(demo_db: str) -> None:
    chat = vizdots(demo_db, "chat", "--member", "ben@demo.vizdots.dev", stdin="four\nPRs\nnone\n")
    assert chat.returncode == 0, chat.stderr
    assert "What's your main focus today?" in chat.stdout
    assert chat.stdout.strip().endswith("(check-in completed)")
    report = json.loads(vizdots(demo_db, "report", "--org", "demo", "--json").stdout)
    [daily] = report[0]["agents"]
    assert daily["completed"] == 1
    assert daily["averages"]["mood"] == {"average": 4.0, "answers": 1}
    assert daily["recent"]["focus"][0]["text"] == "PRs"


def test_chat_with_an_unknown_email_fails_clearly(demo_db: str) -> None:
    result = vizdots(demo_db, "chat", "--member", "nobody@x.io", stdin="")
    assert result.returncode == 1 and "no active member" in result.stderr


def test_plan_and_deliver_accept_a_replay_instant(demo_db: str) -> None:
    plan = vizdots(demo_db, "plan", "--now", "2026-11-30T07:00:00+00:00")
    assert plan.returncode == 0 and plan.stdout.startswith("planned ")
    deliver = vizdots(demo_db, "deliver", "--now", "2026-11-30T23:00:00+00:00")
    assert json.loads(deliver.stdout)["delivered"] >= 1


def test_a_bad_now_is_a_usage_error(demo_db: str) -> None:
    result = vizdots(demo_db, "plan", "--now", "yesterday")
    assert result.returncode == 2 and "--now" in result.stderr
