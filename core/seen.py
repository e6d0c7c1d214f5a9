"""Requests already handled, for chats that give some requests no event id.

A Slack slash command or button press carries no event id, and a byte-identical replay
of it (within the 5 minutes its signature stays valid) would run it again. Its own
unique key (a `trigger_id`, an `action_ts`) is recorded here the first time; a replay
finds it and changes nothing. Rows older than any valid replay are purged in batches.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.store.models import SeenRequest
from core.store.seed import dialect_insert

KEY_LENGTH = 200


async def first_time(sessions: async_sessionmaker[AsyncSession], key: str, now: datetime) -> bool:
    """Record `key`; True when it was not recorded before (committed when this returns)."""
    table = SeenRequest.__table__
    assert isinstance(table, Table)
    async with sessions.begin() as db:
        statement = (
            dialect_insert(db.get_bind(), table)
            .values(key=key[:KEY_LENGTH], seen_at=now)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(SeenRequest.key)
        )
        return (await db.execute(statement)).first() is not None


async def purge_seen(
    sessions: async_sessionmaker[AsyncSession], before: datetime, batch: int = 1000
) -> int:
    """Forget keys seen before `before`, at most `batch` of them; how many went."""
    oldest = select(SeenRequest.key).where(SeenRequest.seen_at < before).limit(batch)
    async with sessions.begin() as db:
        result = await db.execute(
            delete(SeenRequest)
            .where(SeenRequest.key.in_(oldest.scalar_subquery()))
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
