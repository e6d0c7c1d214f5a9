"""A team digest is posted to the report channel in the organisation's language."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.store.models import Organization
from tests.fakes.digest_world import Team
from tests.fakes.slack_api import FakeSlackApi
from tests.integration.test_digests import (
    CHANNEL,
    MakeDigests,
    clock,
    make_digests,
    sessions,
    team,
    workspace,
)

__all__ = ["clock", "make_digests", "sessions", "team", "workspace"]  # the fixtures


async def test_the_digest_speaks_the_orgs_language(
    team: Team,
    make_digests: MakeDigests,
    workspace: FakeSlackApi,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as db:
        await db.execute(update(Organization).values(language="de"))
    await make_digests().deliver()
    (posted,) = workspace.messages_in(CHANNEL)
    assert "-Zusammenfassung, 2026-11-24" in posted.text
    assert "Teilnahme: 2 von 3 Check-ins (67%)" in posted.text
