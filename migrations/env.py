"""Alembic environment: the same metadata as the service, SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection, MetaData

from core.store.engine import make_sync_engine
from core.store.models import Base

config = context.config


def target_metadata() -> list[MetaData]:
    """Our tables, plus slack_sdk's OAuth store tables when the Slack extra is installed."""
    try:
        from adapters.slack.tables import slack_store_metadata
    except ImportError:  # pragma: no cover - the slack extra is part of every install we ship
        return [Base.metadata]
    return [Base.metadata, slack_store_metadata()]


#: Tables that belong to libraries managing their own schema (none yet; procrastinate_* later).
FOREIGN_TABLE_PREFIXES = ("procrastinate_",)


def include_name(name: str | None, type_: str, _parent: Any) -> bool:
    if type_ == "table" and name is not None:
        return not name.startswith(FOREIGN_TABLE_PREFIXES)
    return True


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata(),
        include_name=include_name,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_with(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from bot.settings import load_settings

        url = load_settings().database_url
    engine = make_sync_engine(url)
    with engine.connect() as connection:
        run_with(connection)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run `vizdots migrate`")
run_online()
