"""Child processes of the benchmarks: this bench's own file run with `--role`, one JSON
line on stdout when ready (and one per question asked on stdin), stopped by closing stdin.

The apps under test, their workers and the fakes each run in their own process, as in
production: in one process the fakes' threads would take the GIL from the app, and the
server's work would delay the client's sends and be charged twice.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO


class Child:
    """`script` run with --role ROLE; one JSON line on stdout when ready, stops at stdin EOF."""

    def __init__(self, script: str, role: str, log: Path, *options: str, nice: int = 0) -> None:
        self.log = log
        self._log: TextIO = log.open("w")
        command = [sys.executable, script, "--role", role, *options]
        if nice:
            command = ["nice", "-n", str(nice), *command]  # exec: the pid stays the child's
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True
        )

    def read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            sys.exit(f"{self.log.stem} stopped early; its log:\n{self.log.read_text()[-3000:]}")
        return dict(json.loads(line))

    def ask(self, question: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(question + "\n")
        self.process.stdin.flush()
        return self.read()

    def cpu_seconds(self) -> float | None:
        """User + system time so far (Linux); None elsewhere."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


@contextmanager
def child(script: str, role: str, log: Path, *options: str, nice: int = 0) -> Iterator[Child]:
    started = Child(script, role, log, *options, nice=nice)
    try:
        yield started
    finally:
        started.stop()


def announce(payload: dict[str, Any]) -> None:
    """A child's answer: one JSON line on stdout."""
    print(json.dumps(payload), flush=True)


async def stdin_closed() -> None:
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]
