"""The dashboard's routes: sign in with a link, the page, its CSV, sign out.

GET of a link only shows a button (chat clients and scanners fetch links to preview
them, and a preview must not use up a single-use link); POST exchanges it for a session.
Every page reads through `DashboardAuth.depends()` (the session's org scope)."""

from __future__ import annotations

from datetime import timedelta
from html import escape
from itertools import groupby
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Form, Path
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.admin_api.data_routes import csv_stream
from adapters.dashboard.auth import DashboardAuth, DashboardRefused, Viewing, check_csrf
from adapters.web.links import BadLink, LinkExpired, LinkSource
from adapters.web.page import html_page, message_page
from core.admin import dots
from core.admin.dashboard_sessions import LinkGrant, LinkUsed, end_session, exchange_link

Token = Annotated[str, Path(max_length=512, description="The signed link from the chat.")]
DAYS = 30
TEMPLATES = FilePath(__file__).parent / "templates"


def dashboard_routes(
    *, sessions: async_sessionmaker[AsyncSession], links: LinkSource, auth: DashboardAuth
) -> APIRouter:
    router = APIRouter(tags=["dashboard"])
    pages = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape())
    signed = auth.depends()

    @router.get("/dashboard/login/{token}", response_class=HTMLResponse)  # see bot.openapi
    async def confirm_login(token: Token) -> Response:
        _grant(links, token)
        action = escape(f"/dashboard/login/{token}")
        return html_page(title="Open the dashboard", body=(
            "<h1>Open the VizDots dashboard?</h1>\n"
            '<p class="note">This link works once, and only for a few minutes.</p>\n'
            f'<form method="post" action="{action}">'
            '<button class="primary" type="submit">Open the dashboard</button></form>'
        ))  # fmt: skip

    @router.post("/dashboard/login/{token}", response_class=HTMLResponse)
    async def login(token: Token) -> Response:
        grant = _grant(links, token)
        try:
            async with sessions.begin() as db:
                new = await exchange_link(db, grant=grant, now=auth.clock.now())
        except LinkUsed:
            raise _used() from None
        except PermissionError as refusal:
            raise DashboardRefused(403, "Not for you", str(refusal)) from None
        response = RedirectResponse("/dashboard", status_code=303)
        auth.set_cookie(response, new)
        return response

    @router.get("/dashboard", response_class=HTMLResponse)
    async def page(viewing: Viewing = signed) -> Response:
        where = _last_days(viewing)
        rows = await dots.daily_aggregates(viewing.scope, where)
        ordered = sorted(rows, key=lambda r: r.agent)
        by_agent = {agent: list(group) for agent, group in groupby(ordered, lambda r: r.agent)}
        body = pages.get_template("dashboard.html").render(
            org_name=viewing.login.org_name, member_name=viewing.login.member_name,
            since=where.since, until=where.until, agents=by_agent, csrf=viewing.login.csrf_token,
        )  # fmt: skip
        return html_page(title=viewing.login.org_name, body=body)

    @router.get("/dashboard/dots.csv", response_class=StreamingResponse)
    async def export(viewing: Viewing = signed) -> StreamingResponse:
        where = _last_days(viewing)
        viewing.scope.record("dots.export", since=str(where.since), until=str(where.until))
        headers = {"Content-Disposition": 'attachment; filename="dots.csv"',
                   "Cache-Control": "no-store"}  # fmt: skip
        chunks = dots.stream_dots(viewing.scope, where)
        return StreamingResponse(csv_stream(chunks), media_type="text/csv", headers=headers)

    @router.post("/dashboard/logout", response_class=HTMLResponse)
    async def logout(
        csrf: Annotated[str | None, Form()] = None, viewing: Viewing = signed
    ) -> Response:
        check_csrf(viewing.login, csrf)
        await end_session(viewing.scope.db, login=viewing.login, now=auth.clock.now())
        response = message_page(title="Signed out", message="You are signed out of the "
                                "dashboard.", status_code=200)  # fmt: skip
        auth.clear_cookie(response)
        return response

    return router


def _grant(links: LinkSource, token: str) -> LinkGrant:
    try:
        return links().read_dashboard(token)
    except LinkExpired:
        raise DashboardRefused(
            410, "This link has expired",
            "Dashboard links work for 10 minutes. Type `/vizdots dashboard` for a new one.",
        ) from None  # fmt: skip
    except BadLink:
        raise DashboardRefused(
            403, "This link is not valid",
            "It may have been cut off or changed. Type `/vizdots dashboard` for a new one.",
        ) from None  # fmt: skip


def _used() -> DashboardRefused:
    return DashboardRefused(
        410, "This link was already used",
        "Each dashboard link works once. Type `/vizdots dashboard` for a new one.",
    )  # fmt: skip


def _last_days(viewing: Viewing) -> dots.DotFilter:
    today = viewing.scope.clock.now().date()
    return dots.DotFilter(since=today - timedelta(days=DAYS - 1), until=today)


def refused_page(refusal: DashboardRefused) -> HTMLResponse:
    return message_page(title=refusal.title, message=refusal.message, status_code=refusal.status)
