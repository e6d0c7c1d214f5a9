"""Wiring of the dots dashboard (adapters/dashboard): its router and the page its
refusals answer with, mounted by bot/app.py with one line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import Response

if TYPE_CHECKING:
    from bot.bootstrap import Services


def mount_dashboard(app: FastAPI, services: Services) -> None:
    from adapters.dashboard.auth import DashboardAuth, DashboardRefused
    from adapters.dashboard.routes import dashboard_routes, refused_page

    secure = str(services.settings.app_base_url).startswith("https://")
    auth = DashboardAuth(sessions=services.sessions, clock=services.clock, secure=secure)

    async def refused(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DashboardRefused)
        return refused_page(exc)

    app.add_exception_handler(DashboardRefused, refused)
    app.include_router(
        dashboard_routes(sessions=services.sessions, links=lambda: services.links, auth=auth)
    )
