"""Is the database reachable and its schema at head? Used by /readyz."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from core.store.migrate import current_revision, head_revision


async def schema_problem(engine: AsyncEngine) -> str | None:
    """None when ready, else a short reason an operator can act on."""
    try:
        async with engine.connect() as connection:
            current = await connection.run_sync(current_revision)
    except Exception as exc:  # any driver error means "not ready"
        return f"database unreachable: {type(exc).__name__}"
    head = head_revision()
    if current != head:
        return f"schema at {current or 'nothing'}, expected {head}: run `vizdots migrate`"
    return None
