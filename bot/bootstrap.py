"""The composition root: builds every service once from Settings and passes it in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.settings import Settings
from core.store.engine import make_async_engine, make_sessionmaker


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Start background work for the app's lifetime; release everything after."""
        try:
            yield
        finally:
            await self.engine.dispose()


def build_services(settings: Settings) -> Services:
    engine = make_async_engine(settings.database_url)
    return Services(settings=settings, engine=engine, sessions=make_sessionmaker(engine))
