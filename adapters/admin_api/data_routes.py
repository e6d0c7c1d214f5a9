"""Admin API: what check-ins produced and what happened — sessions, dots (pages, daily
aggregates, a streamed CSV), model calls, emails and the audit log."""

import csv
import io
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from adapters.admin_api import schemas as s
from adapters.admin_api.auth import AdminAuth
from core.admin import activity, dots
from core.admin.scope import MAX_PAGE, OrgScope
from core.admin.tokens import TokenRole

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="rows per page")]
Cursor = Annotated[
    int | None, Query(ge=1, le=2**62, description="`next_cursor` of the page before")
]
SomeId = Annotated[int | None, Query(ge=1, le=2**62)]
Word = Annotated[str | None, Query(max_length=32, pattern=r"^[a-z0-9_-]+$")]
CSV_COLUMNS = (
    "id",
    "session_id",
    "member_id",
    "agent",
    "local_date",
    "key",
    "num_value",
    "text_value",
)


def dot_filter(
    since: date | None = None, until: date | None = None, member_id: SomeId = None,
    agent: Word = None, key: Word = None,
) -> dots.DotFilter:  # fmt: skip
    """Member-local dates, both included; a member, an agent's slug, a dot key."""
    return dots.DotFilter(since=since, until=until, member_id=member_id, agent=agent, key=key)


def session_filter(
    since: date | None = None, until: date | None = None, member_id: SomeId = None,
    state: Word = None, agent_id: SomeId = None,
) -> activity.SessionFilter:  # fmt: skip
    return activity.SessionFilter(
        since=since, until=until, member_id=member_id, state=state, agent_id=agent_id
    )


def data_routes(router: APIRouter, auth: AdminAuth) -> None:
    """Declare the routes on `router` (bot/admin_api.py's, prefixed /api/admin/v1)."""
    Viewer = Annotated[OrgScope, auth.depends(TokenRole.VIEWER)]
    Dots = Annotated[dots.DotFilter, Depends(dot_filter)]

    @router.get("/sessions", summary="List check-in sessions")
    async def read_sessions(
        scope: Viewer, where: Annotated[activity.SessionFilter, Depends(session_filter)],
        limit: Limit = 50, cursor: Cursor = None,
    ) -> s.PageOut[s.SessionOut]:  # fmt: skip
        """Newest first, a page at a time; filter by member-local date range, member, state,
        agent.
        """
        page = await activity.page_sessions(scope, where, limit=limit, cursor=cursor)
        return s.PageOut(
            items=[s.SessionOut.model_validate(r) for r in page.items], next_cursor=page.next_cursor
        )

    @router.get("/dots", summary="List dots")
    async def read_dots(
        scope: Viewer, where: Dots, limit: Limit = 50, cursor: Cursor = None
    ) -> s.PageOut[s.DotOut]:
        """Newest first, a page at a time; filter by member-local date range, member, agent,
        key.
        """
        page = await dots.page_dots(scope, where, limit=limit, cursor=cursor)
        return s.PageOut(
            items=[s.DotOut.model_validate(r) for r in page.items], next_cursor=page.next_cursor
        )

    @router.get("/dots/daily", summary="Daily dot aggregates")
    async def read_daily(scope: Viewer, where: Dots) -> list[s.DailyAggregateOut]:
        """Numeric dots per agent, member-local day and key: answers, average, minimum,
        maximum. Anonymous (no member).
        """
        return [
            s.DailyAggregateOut.model_validate(row)
            for row in await dots.daily_aggregates(scope, where)
        ]

    @router.get("/dots.csv", response_class=StreamingResponse, summary="Export dots as CSV")
    async def export_dots(scope: Viewer, where: Dots) -> StreamingResponse:
        """The filtered dots, oldest first, streamed from the database in chunks. Cells a
        spreadsheet would run as formulas start with an apostrophe. Audited.
        """
        scope.record(
            "dots.export", **{k: str(v) for k, v in asdict(where).items() if v is not None}
        )
        headers = {"Content-Disposition": 'attachment; filename="dots.csv"'}
        return StreamingResponse(
            csv_stream(dots.stream_dots(scope, where)), media_type="text/csv", headers=headers
        )

    @router.get("/ai-logs", summary="List model calls")
    async def read_ai_logs(
        scope: Viewer, limit: Limit = 50, cursor: Cursor = None
    ) -> s.PageOut[s.AiLogOut]:
        """ai_logs newest first, a page at a time: model, tokens, latency, outcome (never the
        prompt).
        """
        page = await activity.page_ai_logs(scope, limit=limit, cursor=cursor)
        return s.PageOut(
            items=[s.AiLogOut.model_validate(r) for r in page.items], next_cursor=page.next_cursor
        )

    @router.get("/email-logs", summary="List emails")
    async def read_email_logs(
        scope: Viewer, limit: Limit = 50, cursor: Cursor = None
    ) -> s.PageOut[s.EmailLogOut]:
        """email_logs newest first, a page at a time: kind, slot, status, error (never the
        address).
        """
        page = await activity.page_email_logs(scope, limit=limit, cursor=cursor)
        return s.PageOut(
            items=[s.EmailLogOut.model_validate(r) for r in page.items],
            next_cursor=page.next_cursor,
        )

    @router.get("/audit-log", summary="Read the audit log")
    async def read_audit(
        scope: Viewer, limit: Limit = 50, cursor: Cursor = None
    ) -> s.PageOut[s.AuditOut]:
        """Every change, newest first, a page at a time, with its actor (member or token)."""
        page = await activity.page_audit(scope, limit=limit, cursor=cursor)
        return s.PageOut(
            items=[s.AuditOut.model_validate(r) for r in page.items], next_cursor=page.next_cursor
        )


async def csv_stream(chunks: AsyncIterator[Sequence[dots.DotRow]]) -> AsyncIterator[str]:
    """A header, then one CSV block per chunk the database hands over."""
    yield ",".join(CSV_COLUMNS) + "\r\n"
    async for chunk in chunks:
        out = io.StringIO()
        writer = csv.writer(out)
        for row in chunk:
            writer.writerow([_cell(getattr(row, name)) for name in CSV_COLUMNS])
        yield out.getvalue()


def _cell(value: object) -> object:
    """Text that a spreadsheet would run as a formula is quoted with a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
