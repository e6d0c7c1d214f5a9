"""What happened in the organisation, newest first, a page at a time: check-in
sessions, model calls, emails and the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from core.admin.scope import OrgScope, Page
from core.store.models import AiLog, AuditEntry, CheckinSession, EmailLog


@dataclass(frozen=True, slots=True)
class SessionFilter:
    since: date | None = None
    until: date | None = None
    member_id: int | None = None
    state: str | None = None
    agent_id: int | None = None


async def page_sessions(
    scope: OrgScope, where: SessionFilter, *, limit: int, cursor: int | None
) -> Page[Any]:
    query = scope.select(CheckinSession)
    if where.since is not None:
        query = query.where(CheckinSession.local_date >= where.since)
    if where.until is not None:
        query = query.where(CheckinSession.local_date <= where.until)
    if where.member_id is not None:
        query = query.where(CheckinSession.member_id == where.member_id)
    if where.state is not None:
        query = query.where(CheckinSession.state == where.state)
    if where.agent_id is not None:
        query = query.where(CheckinSession.agent_id == where.agent_id)
    return await scope.page(query, CheckinSession, limit=limit, cursor=cursor)


async def page_ai_logs(scope: OrgScope, *, limit: int, cursor: int | None) -> Page[Any]:
    return await scope.page(scope.select(AiLog), AiLog, limit=limit, cursor=cursor)


async def page_email_logs(scope: OrgScope, *, limit: int, cursor: int | None) -> Page[Any]:
    return await scope.page(scope.select(EmailLog), EmailLog, limit=limit, cursor=cursor)


async def page_audit(scope: OrgScope, *, limit: int, cursor: int | None) -> Page[Any]:
    return await scope.page(scope.select(AuditEntry), AuditEntry, limit=limit, cursor=cursor)
