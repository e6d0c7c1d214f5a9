"""Idempotent seeding of the global agents (run by `vizdots migrate`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, Insert, Table, text
from sqlalchemy.dialects import postgresql, sqlite

from core.catalog import GLOBAL_AGENTS
from core.store.models import Agent


def dialect_insert(bind: Connection | Engine, table: Table) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (both SQLite and PostgreSQL do)."""
    module = postgresql if bind.dialect.name == "postgresql" else sqlite
    return module.insert(table)


def seed_global_agents(connection: Connection) -> int:
    """Insert or refresh the catalog's agents; safe to run any number of times."""
    table = Agent.__table__
    assert isinstance(table, Table)
    for spec in GLOBAL_AGENTS:
        values = {
            "slug": spec.slug,
            "name": spec.name,
            "persona": spec.persona,
            "goal": spec.goal,
            "questions": [q.to_json() for q in spec.questions],
            "max_follow_ups": spec.max_follow_ups,
            "dot_keys": list(spec.dot_keys),
        }
        statement: Insert = dialect_insert(connection, table).values(org_id=None, **values)
        connection.execute(
            statement.on_conflict_do_update(  # type: ignore[attr-defined]
                index_elements=["slug"], index_where=text("org_id IS NULL"), set_=values
            )
        )
    return len(GLOBAL_AGENTS)
