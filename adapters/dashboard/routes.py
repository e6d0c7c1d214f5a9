"""The dashboard's routes: sign in with a link, the page, its CSV, sign out.

GET of a link only shows a button (chat clients and scanners fetch links to preview
them, and a preview must not use up a single-use link); POST exchanges it for a session.
Every page reads through `DashboardAuth.depends()` (the session's org scope).

The page shows each group (schedule) over a period (`since`, `until`; the last 30 days
in the viewer's zone by default): core.insights decides what is shown of small groups.
The CSV holds the period's daily averages per agent and dot: anonymous, whatever the
size of the group (the admin API exports raw dots for those who hold a token)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date
from html import escape
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Form, Path, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.dashboard import view
from adapters.dashboard.auth import DashboardAuth, DashboardRefused, Viewing, check_csrf
from adapters.web.links import BadLink, LinkExpired, LinkSource
from adapters.web.page import html_page, message_page
from core.admin import dots
from core.admin.dashboard_sessions import LinkGrant, LinkUsed, end_session, exchange_link
from core.insights import GroupInsights, group_insights, org_groups
from core.store.models import Member

Token = Annotated[str, Path(max_length=512, description="The signed link from the chat.")]
Day = Annotated[str | None, Query(max_length=32, description="A date, e.g. 2026-11-25.")]
TEMPLATES = FilePath(__file__).parent / "templates"


def dashboard_routes(
    *, sessions: async_sessionmaker[AsyncSession], links: LinkSource, auth: DashboardAuth
) -> APIRouter:
    router = APIRouter(tags=["dashboard"])
    pages = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape())
    pages.globals.update(dot_look=view.dot_look, trend=view.trend, short=view.short)
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
    async def page(since: Day = None, until: Day = None, viewing: Viewing = signed) -> Response:
        first, last = await _period(viewing, since, until)
        groups = await _groups(viewing, first, last)
        body = pages.get_template("dashboard.html").render(
            org_name=viewing.login.org_name, member_name=viewing.login.member_name,
            since=first, until=last, until_label=view.short(last), groups=groups,
            csrf=viewing.login.csrf_token, csv_url=_csv_url(first, last),
            max_days=view.MAX_DAYS, colours=view.MOOD_COLOURS, inks=view.MOOD_INK,
            chart_w=view.CHART_W, chart_h=view.CHART_H, pad=view.PAD,
        )  # fmt: skip
        return html_page(title=viewing.login.org_name, body=body)

    @router.get("/dashboard/dots.csv", response_class=Response)
    async def export(since: Day = None, until: Day = None, viewing: Viewing = signed) -> Response:
        first, last = await _period(viewing, since, until)
        viewing.scope.record("dots.export", since=str(first), until=str(last))
        rows = await dots.daily_aggregates(viewing.scope, dots.DotFilter(since=first, until=last))
        headers = {"Content-Disposition": f'attachment; filename="dots-{first}-{last}.csv"',
                   "Cache-Control": "no-store"}  # fmt: skip
        return Response(_aggregates_csv(rows), media_type="text/csv", headers=headers)

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


async def _period(viewing: Viewing, since: str | None, until: str | None) -> tuple[date, date]:
    """The dates asked for; by default the last 30 days in the viewer's own zone."""
    member = await viewing.scope.get(Member, viewing.login.member_id)
    try:
        return view.period(since, until, now=viewing.scope.clock.now(), zone=member.timezone)
    except view.BadRange as bad:
        raise DashboardRefused(400, "Those dates don't work", str(bad)) from None


async def _groups(viewing: Viewing, since: date, until: date) -> list[GroupInsights]:
    scope = viewing.scope
    return [
        await group_insights(scope.db, org_id=scope.org_id, schedule_id=schedule_id,
                             since=since, until=until, now=scope.clock.now())
        for schedule_id, _, _ in await org_groups(scope.db, org_id=scope.org_id)
    ]  # fmt: skip


def _csv_url(since: date, until: date) -> str:
    return f"/dashboard/dots.csv?since={since.isoformat()}&until={until.isoformat()}"


_CSV_COLUMNS = ("agent", "local_date", "key", "answers", "average", "minimum", "maximum")


def _aggregates_csv(rows: Sequence[dots.DailyAggregate]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_CSV_COLUMNS)
    writer.writerows([getattr(row, column) for column in _CSV_COLUMNS] for row in rows)
    return out.getvalue()


def refused_page(refusal: DashboardRefused) -> HTMLResponse:
    return message_page(title=refusal.title, message=refusal.message, status_code=refusal.status)
