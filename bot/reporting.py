"""`vizdots report`: every organisation's (or one's) report for a period."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.report import build_report
from core.store.models import Organization


async def org_reports(
    sessions: async_sessionmaker[AsyncSession],
    *,
    org: str | None,
    agent: str | None,
    since: date,
    until: date,
) -> list[dict[str, Any]]:
    async with sessions() as db:
        query = select(Organization).order_by(Organization.slug)
        if org is not None:
            query = query.where(Organization.slug == org)
        reports = []
        for found in await db.scalars(query):
            report = await build_report(
                db, org_id=found.id, agent_slug=agent, since=since, until=until
            )
            reports.append({"org": found.slug, "text": report.as_text(), **report.as_dict()})
    return reports
