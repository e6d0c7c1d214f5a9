"""A throwaway PostgreSQL cluster for the test session (initdb + pg_ctl on a free port)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def find_bindir() -> Path | None:
    candidates = [os.environ.get("PG_BINDIR", "")]
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        candidates.append(out.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_user() -> list[str]:
    """PostgreSQL refuses to run as root: run its programs as `postgres` (or nobody)."""
    if os.geteuid() != 0:
        return []
    for user in ("postgres", "nobody"):
        if subprocess.run(["id", user], capture_output=True).returncode == 0:
            return ["runuser", "-u", user, "--"]
    raise RuntimeError("running as root and no unprivileged user to run PostgreSQL")


class Cluster:
    """A PostgreSQL cluster in a temporary folder, on a free port; a test can stop and
    start it again (the same data, the same port) to take the database from under the app."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="vizdots-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._runner = _as_user()
        if self._runner:
            shutil.chown(self.root, user=self._runner[2])
        os.chmod(self.root, 0o700)
        self._run("initdb", "-D", str(self.data), "-U", "vizdots", "--auth=trust", "--no-sync",
                  "-E", "UTF8")  # fmt: skip

    @property
    def url(self) -> str:
        return f"postgresql://vizdots@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -F -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"),
                  "-w", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends every connection and shuts down cleanly; `immediate` is a crash."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        command = [*self._runner, str(self.bindir / program), *args]
        subprocess.run(command, check=check, capture_output=True)


@contextmanager
def throwaway_cluster(bindir: Path) -> Iterator[str]:
    """Yield a postgresql:// URL of a fresh cluster; stop and delete it afterwards."""
    cluster = Cluster(bindir)
    cluster.start()
    try:
        yield cluster.url
    finally:
        cluster.remove()


#: The role the service connects as in production: it does not own the tables, so the
#: row-level security policies of migration 0017 bind it (the owner runs migrations).
APP_ROLE = "vizdots_app"


def app_role_url(database_url: str, role: str = APP_ROLE) -> str:
    """`database_url` as `role` (created once per cluster), allowed to read and write
    every table of that database but owning none."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(database_url).set(drivername="postgresql+psycopg")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        exists = connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
        if not exists:
            connection.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        for grant in (
            f'GRANT USAGE ON SCHEMA public TO "{role}"',
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"',
            f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"',
        ):
            connection.execute(text(grant))
    engine.dispose()
    return make_url(database_url).set(username=role).render_as_string(hide_password=False)
