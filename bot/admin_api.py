"""Wiring of the admin API (adapters/admin_api) to the services: one router, mounted by
bot/app.py with one line, at /api/admin/v1."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter

if TYPE_CHECKING:
    from bot.bootstrap import Services

PREFIX = "/api/admin/v1"


def admin_router(services: Services) -> APIRouter:
    from adapters.admin_api.auth import AdminAuth
    from adapters.admin_api.data_routes import data_routes
    from adapters.admin_api.manage_routes import manage_routes

    auth = AdminAuth(sessions=services.sessions, clock=services.clock)
    router = APIRouter(prefix=PREFIX, tags=["admin"])
    manage_routes(router, auth)
    data_routes(router, auth)
    return router
