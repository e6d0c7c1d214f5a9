"""Database engines for one DATABASE_URL: async for the service, sync for Alembic.

With `row_security` (ROW_SECURITY, PostgreSQL) every transaction begins by setting
`app.org_id` (transaction-local) to the organisation of the work at hand (`org_scope`),
else to 'system'; migration 0017's policies then show a role that does not own the
tables only that organisation's rows (README: Row-level security).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession

_DRIVERS = {
    ("sqlite", False): "sqlite",
    ("sqlite", True): "sqlite+aiosqlite",
    ("postgresql", False): "postgresql+psycopg",
    ("postgresql", True): "postgresql+psycopg",
}


def database_url(url: str, *, asynchronous: bool) -> URL:
    """The URL with the driver VizDots uses (users write plain sqlite:/// or postgresql://)."""
    parsed = make_url(url)
    return parsed.set(drivername=_DRIVERS[(parsed.get_backend_name(), asynchronous)])


def _enforce_sqlite_rules(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


#: `app.org_id` for cross-organisation work (planning, delivery, reminders, inbox, billing).
SYSTEM = "system"
_ORG_SCOPE: ContextVar[str] = ContextVar("vizdots_org_scope", default=SYSTEM)


@contextmanager
def org_scope(org_id: int) -> Iterator[None]:
    """Transactions begun inside (this task and what it awaits) see only `org_id`'s rows."""
    token = _ORG_SCOPE.set(str(int(org_id)))
    try:
        yield
    finally:
        _ORG_SCOPE.reset(token)


def _set_org_scope(connection: Connection) -> None:
    connection.exec_driver_sql(
        "SELECT set_config('app.org_id', %(org)s, true)", {"org": _ORG_SCOPE.get()}
    )


def _prepare(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _enforce_sqlite_rules)


def make_sync_engine(url: str, **options: Any) -> Engine:
    options.setdefault("hide_parameters", True)  # bound values are member text: not for logs
    engine = create_engine(database_url(url, asynchronous=False), **options)
    _prepare(engine)
    return engine


def make_async_engine(url: str, *, row_security: bool = False, **options: Any) -> AsyncEngine:
    parsed = database_url(url, asynchronous=True)
    options.setdefault("hide_parameters", True)  # bound values are member text: not for logs
    if parsed.get_backend_name() == "postgresql":
        options.setdefault("pool_size", 10)
        options.setdefault("pool_pre_ping", True)
    else:  # SQLite: one file, no server-side pool to size
        options.pop("pool_size", None)
        options.pop("max_overflow", None)
    engine = create_async_engine(parsed, **options)
    _prepare(engine.sync_engine)
    if row_security and parsed.get_backend_name() == "postgresql":
        event.listen(engine.sync_engine, "begin", _set_org_scope)
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
