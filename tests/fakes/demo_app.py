"""The app with the demo team, served in-process to an httpx client (no socket)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from bot.app import create_app
from bot.bootstrap import Services
from bot.demo import create_demo


@asynccontextmanager
async def demo_client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app, started (lifespan) and with the demo team created."""
    app = create_app(services)
    async with app.router.lifespan_context(app):
        await create_demo(services)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client
