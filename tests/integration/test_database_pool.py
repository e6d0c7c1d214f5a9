"""The database pool each process keeps is sized by DATABASE_POOL_SIZE and
DATABASE_MAX_OVERFLOW (docs/operations.md: PostgreSQL connections)."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.bootstrap import build_services
from bot.settings import load_settings


async def test_a_process_opens_no_more_than_its_pool_and_overflow(db_url: str) -> None:
    settings = load_settings(database_url=db_url, database_pool_size=2, database_max_overflow=1)
    services = build_services(settings, loop_interval=None)
    engine = services.engine
    held: list[AsyncConnection] = [await engine.connect() for _ in range(3)]
    try:
        if engine.dialect.name == "postgresql":
            fourth = asyncio.ensure_future(engine.connect())
            await asyncio.sleep(0.5)
            assert not fourth.done(), "a fourth connection was opened past pool + overflow"
            await held.pop().close()
            held.append(await asyncio.wait_for(fourth, 5))
        assert len(held) == 3
    finally:
        for connection in held:
            await connection.close()
        await services.close()
