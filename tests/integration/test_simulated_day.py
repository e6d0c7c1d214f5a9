"""bench/simulated_day.py keeps working: a tiny day (10 members in 2 orgs, 1 worker) on PostgreSQL
loses no answer and sends nothing twice."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_bench(server: str) -> subprocess.CompletedProcess[str]:
    bench = str(ROOT / "bench" / "simulated_day.py")
    tiny = ["--members", "10", "--orgs", "2", "--workers", "1", "--max-seconds", "15"]
    command = [sys.executable, bench, *tiny, "--database-url", server]
    environment = os.environ | {"PYTHONPATH": str(ROOT)}
    return subprocess.run(command, capture_output=True, text=True, timeout=180, env=environment)


def test_a_tiny_simulated_day_loses_no_answer_and_sends_nothing_twice(
    postgres_server: str | None,
) -> None:
    if postgres_server is None:
        if os.environ.get("VIZDOTS_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is required (VIZDOTS_REQUIRE_POSTGRES=1) but unavailable")
        pytest.skip("the simulated day needs PostgreSQL")

    ran = run_bench(postgres_server)

    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "duplicates 0, lost answers 0" in ran.stdout
    completed = re.search(r"(\d+)/\d+ answering members' sessions completed", ran.stdout)
    acknowledged = re.search(r"\((\d+) answers acknowledged, 0 refused\)", ran.stdout)
    assert completed and int(completed.group(1)) > 0, ran.stdout
    assert acknowledged and int(acknowledged.group(1)) >= 3 * int(completed.group(1))
