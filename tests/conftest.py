"""Database fixtures: every test that takes `db_url` runs on SQLite and on PostgreSQL.

PostgreSQL comes from TEST_DATABASE_URL, or a throwaway cluster when its binaries
are installed; otherwise those tests are skipped — unless VIZDOTS_REQUIRE_POSTGRES=1
(as in CI), which turns the skip into a failure.
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from core.store.engine import make_async_engine, make_sync_engine
from core.store.migrate import upgrade_to_head
from tests.postgres import find_bindir, throwaway_cluster

_counter = itertools.count()
#: Tells this import's test databases from an earlier pytest session's in the same process.
_RUN = secrets.token_hex(3)


@pytest.fixture(autouse=True)
def email_outbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the embedded default's emails go in a test (and its CLI subprocesses): the
    test's own directory, never ./outbox in the checkout."""
    directory = tmp_path / "email-outbox"
    monkeypatch.setenv("EMAIL_OUTBOX_DIR", str(directory))
    return directory


@pytest.fixture(autouse=True)
def encryption_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """ENCRYPTION_KEY, as production has one (on PostgreSQL Slack OAuth requires it);
    tests of the embedded default's generated key remove it."""
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("ENCRYPTION_KEY", key)
    return key


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str | None]:
    """Admin URL of a PostgreSQL server, or None when there is none."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield url
        return
    bindir = find_bindir()
    if bindir is None:
        yield None
        return
    with throwaway_cluster(bindir) as url:
        yield url


def _create_database(admin_url: str, name: str, template: str | None = None) -> str:
    engine = make_sync_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        suffix = f" TEMPLATE {template}" if template else ""
        connection.execute(text(f'CREATE DATABASE "{name}"{suffix}'))
    engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_template(postgres_server: str | None) -> Iterator[str | None]:
    """A database migrated to head once, cloned for each test, dropped at the end. Its
    name is new for each pytest session: `make mutate` runs several in one process."""
    if postgres_server is None:
        yield None
        return
    name = f"vizdots_template_{os.getpid()}_{secrets.token_hex(4)}"
    upgrade_to_head(_create_database(postgres_server, name))
    yield name
    _drop_database(postgres_server, name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "head.db"
    upgrade_to_head(f"sqlite:///{path}")
    return path


@contextmanager
def _fresh_database(
    backend: str,
    tmp_path: Path,
    sqlite_source: Path | None,
    server: str | None,
    template: str | None,
) -> Iterator[str]:
    """A new database for one test; a PostgreSQL one is dropped afterwards."""
    if backend == "sqlite":
        target = tmp_path / "test.db"
        if sqlite_source is not None:
            shutil.copy(sqlite_source, target)
        yield f"sqlite:///{target}"
        return
    if server is None:
        if os.environ.get("VIZDOTS_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is required (VIZDOTS_REQUIRE_POSTGRES=1) but unavailable")
        pytest.skip("no PostgreSQL: install its binaries or set TEST_DATABASE_URL")
    name = f"vizdots_t{os.getpid()}_{_RUN}_{next(_counter)}"
    yield _create_database(server, name, template)
    _drop_database(server, name)


def _drop_database(admin_url: str, name: str) -> None:
    engine = make_sync_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def _postgres(request: pytest.FixtureRequest, *fixtures: str) -> list[str | None]:
    """The PostgreSQL fixtures, asked for only by a test on PostgreSQL: a run of the SQLite
    tests alone (`-k "not postgresql"`, as `make mutate` does) starts no cluster."""
    if request.param != "postgresql":
        return [None for _ in fixtures]
    return [request.getfixturevalue(name) for name in fixtures]


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """A fresh database at head, on each backend."""
    server, template = _postgres(request, "postgres_server", "postgres_template")
    with _fresh_database(request.param, tmp_path, sqlite_template, server, template) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database (no schema), on each backend."""
    [server] = _postgres(request, "postgres_server")
    with _fresh_database(request.param, tmp_path, None, server, None) as url:
        yield url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_async_engine(db_url)
    yield engine
    await engine.dispose()
