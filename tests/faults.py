"""Faults injected in the database itself (not in our code): a table that refuses writes
for a while, as a database hiccup would, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine

_PG_FUNCTION = (
    "CREATE FUNCTION vizdots_fault() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'injected fault'; END $$ LANGUAGE plpgsql"
)


@asynccontextmanager
async def inserts_refused(engine: AsyncEngine, table: str) -> AsyncIterator[None]:
    """Every INSERT into `table` fails meanwhile (a trigger raises), then works again."""
    sqlite = engine.dialect.name == "sqlite"
    async with engine.begin() as connection:
        if sqlite:
            await connection.exec_driver_sql(
                f"CREATE TRIGGER vizdots_fault BEFORE INSERT ON {table} "
                "BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
            )
        else:
            await connection.exec_driver_sql(_PG_FUNCTION)
            await connection.exec_driver_sql(
                f"CREATE TRIGGER vizdots_fault BEFORE INSERT ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION vizdots_fault()"
            )
    try:
        yield
    finally:
        async with engine.begin() as connection:
            if sqlite:
                await connection.exec_driver_sql("DROP TRIGGER vizdots_fault")
            else:
                await connection.exec_driver_sql(f"DROP TRIGGER vizdots_fault ON {table}")
                await connection.exec_driver_sql("DROP FUNCTION vizdots_fault()")
