"""Whatever a user can get wrong on the command line is one line on stderr and a non-zero
exit, never a traceback: bad flags and values, an unknown organisation, a database that
cannot be reached (and its password is never shown), a port that is taken.

Each case runs the real CLI (`python -m bot.cli`, this checkout) in a subprocess, in the
test's temporary directory so that no `.env` is read.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.http_server import free_port

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "pa55-w0rd-never-shown"
#: Nothing listens on port 1; the folder of the SQLite file does not exist.
UNREACHABLE = {
    "postgresql": f"postgresql://vizdots:{PASSWORD}@127.0.0.1:1/vizdots",
    "sqlite": "sqlite+aiosqlite:////nonexistent/dir/x.db",
}
AT = "2026-11-25T12:00:00+00:00"
#: Every command that touches the database, with the arguments it needs.
DATABASE_COMMANDS = {
    "migrate": ["migrate"],
    "plan": ["plan", "--now", AT],
    "deliver": ["deliver", "--now", AT],
    "report": ["report", "--now", AT],
    "demo": ["demo", "--now", AT],
    "chat": ["chat", "--member", "ben@demo.vizdots.dev", "--now", AT],
    "worker": ["worker", "--now", AT],
    "serve": ["serve", "--port", "0"],
}


def run(db_url: str, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_"))}
    environment |= {"DATABASE_URL": db_url, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd, env=environment, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The only non-empty line on stderr (the test fails if there are more or none)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture
def sqlite_at_head(tmp_path: Path, sqlite_template: Path) -> str:
    target = tmp_path / "head.db"
    target.write_bytes(sqlite_template.read_bytes())
    return f"sqlite:///{target}"


@pytest.mark.parametrize("backend", sorted(UNREACHABLE))
@pytest.mark.parametrize("command", sorted(DATABASE_COMMANDS))
def test_an_unreachable_database_is_one_line(command: str, backend: str, tmp_path: Path) -> None:
    result = run(UNREACHABLE[backend], *DATABASE_COMMANDS[command], cwd=tmp_path)
    assert result.returncode == 1
    line = one_line(result)
    assert line.startswith("database unreachable: OperationalError: ")
    assert PASSWORD not in result.stderr + result.stdout
    assert result.stdout == ""  # nothing announced before the failure


def test_a_missing_sqlite_folder_is_named(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/missing/x.db"
    result = run(url, "migrate", cwd=tmp_path)
    assert result.returncode == 1
    expected = f"the folder {tmp_path}/missing does not exist (DATABASE_URL={url})"
    assert one_line(result).endswith(expected)


def test_migrate_creates_a_database_in_an_existing_folder(tmp_path: Path) -> None:
    result = run(f"sqlite:///{tmp_path}/new.db", "migrate", cwd=tmp_path, LOG_LEVEL="WARNING")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("database at revision ")


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["serve", "--port", "99999"], "--port"),
        (["serve", "--port", "-1"], "--port"),
        (["plan", "--now", "yesterday"], "--now"),
        (["report", "--days", "0"], "--days"),
        (["report", "--bogus"], "--bogus"),
        (["chat"], "--member"),
        (["nosuch"], "nosuch"),
    ],
)
def test_a_usage_error_is_one_line_and_exit_2(
    args: list[str], names: str, sqlite_at_head: str, tmp_path: Path
) -> None:
    result = run(sqlite_at_head, *args, cwd=tmp_path)
    assert result.returncode == 2
    assert names in one_line(result)


def test_an_unknown_organisation_is_an_error(sqlite_at_head: str, tmp_path: Path) -> None:
    for extra in ([], ["--json"]):
        result = run(sqlite_at_head, "report", "--org", "nosuch", "--now", AT, *extra, cwd=tmp_path)
        assert result.returncode == 1
        assert one_line(result) == (
            "no organisation with slug 'nosuch' (`vizdots report` lists every one)"
        )
        assert result.stdout == ""


def test_an_unknown_agent_is_an_error(sqlite_at_head: str, tmp_path: Path) -> None:
    result = run(sqlite_at_head, "report", "--agent", "nosuch", "--now", AT, cwd=tmp_path)
    assert result.returncode == 1
    assert one_line(result).startswith("no agent 'nosuch' ")
    known = run(sqlite_at_head, "report", "--agent", "pulse", "--now", AT, cwd=tmp_path)
    assert known.returncode == 0, known.stderr


def test_no_organisation_at_all_is_no_error(sqlite_at_head: str, tmp_path: Path) -> None:
    result = run(sqlite_at_head, "report", "--now", AT, cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith("no organisation yet")


def test_an_invalid_setting_is_one_line(tmp_path: Path) -> None:
    result = run("mysql://nope", "plan", "--now", AT, cwd=tmp_path)
    assert result.returncode == 2
    assert one_line(result).startswith("invalid setting DATABASE_URL: ")


def test_a_not_migrated_database_stops_serve(tmp_path: Path) -> None:
    result = run(f"sqlite:///{tmp_path}/blank.db", "serve", "--port", "0", cwd=tmp_path)
    assert result.returncode == 1
    assert one_line(result).startswith("database not ready: schema at nothing, expected ")
    assert result.stdout == ""


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", free_port()))
        taken.listen()
        yield taken.getsockname()[1]


def test_a_busy_port_is_one_line_and_nothing_announced(
    busy_port: int, sqlite_at_head: str, tmp_path: Path
) -> None:
    result = run(sqlite_at_head, "serve", "--port", str(busy_port), cwd=tmp_path)
    assert result.returncode == 1
    assert one_line(result) == f"cannot listen on 127.0.0.1:{busy_port}: Address already in use"
    assert result.stdout == ""  # no "local chat: …" for a chat nobody serves
