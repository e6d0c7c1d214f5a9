"""Wiring of the dots dashboard (adapters/dashboard): its router and the page its
refusals answer with, mounted by bot/app.py with one line. Beside the local dev chat
(loopback, or DEV_CHAT=true) `/dev/dashboard` opens it as the demo org's owner."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

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
    if services.dev_chat:
        _mount_demo_door(app, services)


def _mount_demo_door(app: FastAPI, services: Services) -> None:
    from adapters.web.page import message_page
    from bot.demo import demo_dashboard_link

    @app.get("/dev/dashboard", response_class=RedirectResponse)
    async def demo_dashboard() -> Response:
        link = await demo_dashboard_link(services)
        if link is None:
            said = "Run `vizdots demo` first, then reload this page."
            return message_page(title="No demo team yet", message=said, status_code=404)
        return RedirectResponse(urlsplit(link).path, status_code=303)  # same host as the chat
