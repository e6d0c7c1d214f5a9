"""The deployment files say what the code does: deploy/compose.yml runs real `vizdots`
commands with health checks and the runbook's cron slots, deploy/Dockerfile builds a
slim non-root image, docs/operations.md covers every alert; and `vizdots migrate --to REV`
rolls the schema back (and forward again). Building the image needs the network: not here."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import inspect

from core.store.engine import make_sync_engine
from core.store.migrate import head_revision

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yml").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def vizdots(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The CLI as the image runs it (deploy/vizdots.sh: python -m bot.cli)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_"))}
    environment |= {"PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING", **env}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=environment, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_compose_runs_the_database_a_migration_web_workers_and_cron() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "migrate", "web", "worker", "cron"}
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker"):
        after = services[name]["depends_on"]["migrate"]["condition"]
        assert after == "service_completed_successfully"
        assert services[name]["deploy"]["replicas"] >= 2
    for name in ("postgres", "web", "worker", "cron"):
        assert services[name]["healthcheck"]["test"], name


def test_web_processes_leave_loops_and_turns_to_the_workers() -> None:
    web = compose()["services"]["web"]["command"]
    assert web[:2] == ["vizdots", "serve"] and {"--no-loop", "--no-inbox"} <= set(web)
    assert compose()["services"]["worker"]["command"][:2] == ["vizdots", "worker"]


def app_commands() -> list[list[str]]:
    commands = [service.get("command") for service in compose()["services"].values()]
    return [c for c in commands if isinstance(c, list) and c[0] == "vizdots"]


@pytest.mark.parametrize("command", app_commands(), ids=lambda c: c[1])
def test_every_vizdots_command_in_compose_is_one_the_cli_takes(command: list[str]) -> None:
    result = vizdots(command[1], "--help")
    assert result.returncode == 0, result.stderr
    for flag in (word for word in command if word.startswith("--")):
        assert flag in result.stdout, flag


def test_cron_calls_the_endpoints_at_the_runbooks_slots() -> None:
    lines = [line.split() for line in (DEPLOY / "cron" / "crontab").read_text().splitlines()
             if line.strip() and not line.startswith("#")]  # fmt: skip
    slots = {" ".join(words[:5]): words[6] for words in lines}
    assert slots == {"0 8 * * *": "scheduler", "0 9,14 * * 1-5": "reminders"}
    call = (DEPLOY / "cron" / "call.sh").read_text()
    assert "/api/internal/$1" in call and "Authorization: Bearer" in call
    assert "./cron:/etc/vizdots-cron:ro" in compose()["services"]["cron"]["volumes"]


def test_the_dockerfile_is_multi_stage_slim_and_non_root() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    stages = re.findall(r"(?m)^FROM (\S+)", text)
    assert stages == ["python:3.11-slim", "python:3.11-slim"]
    final = text[text.rindex("\nFROM ") :]
    assert re.search(r"(?m)^USER vizdots$", final)
    assert not re.search(r"apt-get|build-essential|gcc|pip install", final)
    assert '"vizdots", "serve"' in final


def test_docs_cover_every_alert_rule() -> None:
    groups = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"]
    docs = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for rule in (rule for group in groups for rule in group["rules"]):
        assert f"### {rule['alert']}" in docs, rule["alert"]
        assert rule["annotations"]["runbook"] == f"docs/operations.md#{rule['alert'].lower()}"


def test_migrate_to_rolls_the_schema_back_and_forward(db_url: str) -> None:
    back = vizdots("migrate", "--to", "0012", DATABASE_URL=db_url)
    assert back.returncode == 0, back.stderr
    assert back.stdout.strip() == "database at revision 0012"
    assert "job_runs" not in inspect(make_sync_engine(db_url)).get_table_names()

    forward = vizdots("migrate", DATABASE_URL=db_url)
    assert forward.stdout.strip() == f"database at revision {head_revision()}"
    assert "job_runs" in inspect(make_sync_engine(db_url)).get_table_names()


def test_migrate_to_an_unknown_revision_is_one_line(db_url: str) -> None:
    result = vizdots("migrate", "--to", "9999", DATABASE_URL=db_url)
    assert result.returncode == 1
    [line] = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith("cannot migrate:") and "9999" in line
