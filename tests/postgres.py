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


@contextmanager
def throwaway_cluster(bindir: Path) -> Iterator[str]:
    """Yield a postgresql:// URL of a fresh cluster; stop and delete it afterwards."""
    root = Path(tempfile.mkdtemp(prefix="vizdots-pg-"))
    data = root / "data"
    port = _free_port()
    runner = _as_user()
    if runner:
        shutil.chown(root, user=runner[2])
    os.chmod(root, 0o700)
    subprocess.run(
        [*runner, str(bindir / "initdb"), "-D", str(data), "-U", "vizdots", "--auth=trust",
         "--no-sync", "-E", "UTF8"],
        check=True, capture_output=True,
    )  # fmt: skip
    options = f"-h 127.0.0.1 -p {port} -k {root} -F -c max_connections=200"
    subprocess.run(
        [*runner, str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
         str(root / "log"), "-w", "start"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield f"postgresql://vizdots@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*runner, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


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
