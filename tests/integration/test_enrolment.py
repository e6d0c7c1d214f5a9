"""find_or_enrol: a sender unknown in a known workspace is looked up and enrolled at once."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.domain import Provider
from core.identity import find_or_enrol
from core.inbound import Sender
from core.ports import DirectoryError, MemberProfile
from core.store.engine import make_async_engine, make_sessionmaker
from core.store.models import AuditEntry, Installation, Member, Organization
from tests.fakes.clock import FakeClock
from tests.fakes.directory import FakeDirectory

TEAM = "T0ACME"
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
CLOCK = FakeClock(NOW)


def person(user: str, **values: Any) -> MemberProfile:
    values = {"display_name": user.title(), "email": f"{user.lower()}@acme.io", **values}
    return MemberProfile(external_id=user, timezone=values.pop("timezone", None), **values)


@pytest.fixture
async def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    sessions = make_sessionmaker(engine)
    async with sessions.begin() as db:
        org = await db.execute(insert(Organization).values(slug="acme", name="Acme"))
        org_id = org.inserted_primary_key[0]  # type: ignore[index]
        await db.execute(
            insert(Installation).values(org_id=org_id, provider="slack", external_id=TEAM)
        )
        await db.execute(
            insert(Member).values(
                org_id=org_id, display_name="Olga", slack_user_id="U0OLGA", timezone="Asia/Tokyo"
            )
        )
    return sessions


@pytest.fixture
def directory() -> FakeDirectory:
    return FakeDirectory()


async def enrol(
    sessions: async_sessionmaker[AsyncSession],
    directory: FakeDirectory | None,
    user: str,
    workspace: str = TEAM,
) -> Member | None:
    sender = Sender(Provider.SLACK, workspace, user)
    found = await find_or_enrol(sessions=sessions, sender=sender, directory=directory, clock=CLOCK)
    return found[1] if found else None


async def rows(sessions: async_sessionmaker[AsyncSession], model: Any) -> list[Any]:
    async with sessions() as db:
        return list(await db.scalars(select(model)))


async def test_a_known_member_is_found_without_asking_the_directory(
    sessions: Any, directory: FakeDirectory
) -> None:
    found = await enrol(sessions, directory, "U0OLGA")
    assert found is not None and found.display_name == "Olga"
    assert directory.lookups == []


async def test_a_newcomer_is_enrolled_with_the_rules_of_a_sync(
    sessions: Any, directory: FakeDirectory
) -> None:
    directory.add_person(TEAM, person("U1", timezone="Europe/Madrid", is_admin=True))
    ana = await enrol(sessions, directory, "U1")
    assert ana is not None and directory.lookups == ["U1"]
    assert (ana.slack_user_id, ana.display_name, ana.email) == ("U1", "U1", "u1@acme.io")
    assert (ana.timezone, ana.role, ana.active) == ("Europe/Madrid", "admin", True)
    [entry] = await rows(sessions, AuditEntry)
    assert (entry.action, entry.actor_member_id) == ("members.enrol", ana.id)
    assert entry.detail == {"provider": "slack", "at": NOW.isoformat()}


async def test_a_newcomer_without_a_zone_gets_the_one_most_members_share(
    sessions: Any, directory: FakeDirectory
) -> None:
    directory.add_person(TEAM, person("U1", timezone="Mars/Olympus"))
    ana = await enrol(sessions, directory, "U1")
    assert ana is not None and ana.timezone == "Asia/Tokyo"


async def test_a_member_known_only_by_email_is_linked(
    sessions: async_sessionmaker[AsyncSession], directory: FakeDirectory
) -> None:
    async with sessions.begin() as db:
        org_id = await db.scalar(select(Organization.id))
        values = {"org_id": org_id, "display_name": "A", "email": "U1@acme.io"}
        known = await db.scalar(insert(Member).values(**values).returning(Member.id))
    directory.add_person(TEAM, person("U1"))
    ana = await enrol(sessions, directory, "U1")
    assert ana is not None and (ana.id, ana.slack_user_id) == (known, "U1")
    assert len(await rows(sessions, Member)) == 2


@pytest.mark.parametrize("workspace", ["T0UNKNOWN", "T0GONE"])
async def test_an_unknown_or_uninstalled_workspace_enrols_nobody(
    sessions: async_sessionmaker[AsyncSession], directory: FakeDirectory, workspace: str
) -> None:
    async with sessions.begin() as db:
        org_id = await db.scalar(select(Organization.id))
        await db.execute(
            insert(Installation).values(
                org_id=org_id, provider="slack", external_id="T0GONE", active=False
            )
        )
    directory.add_person(workspace, person("U1"))
    assert await enrol(sessions, directory, "U1", workspace) is None
    assert directory.lookups == []


async def test_someone_the_directory_refuses_is_not_enrolled(
    sessions: Any, directory: FakeDirectory
) -> None:
    assert await enrol(sessions, directory, "U0BOT") is None
    assert directory.lookups == ["U0BOT"] and len(await rows(sessions, Member)) == 1


async def test_without_a_directory_nobody_is_enrolled(sessions: Any) -> None:
    assert await enrol(sessions, None, "U1") is None


async def test_a_directory_failure_is_raised_for_the_caller(
    sessions: Any, directory: FakeDirectory
) -> None:
    directory.failure = DirectoryError("Slack users.info failed: ratelimited")
    with pytest.raises(DirectoryError, match="ratelimited"):
        await enrol(sessions, directory, "U1")


async def test_two_callers_at_once_get_the_same_single_member(
    db_url: str, sessions: Any, directory: FakeDirectory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "vizdots.identity")
    directory.add_person(TEAM, person("U1"))
    directory.barrier = asyncio.Barrier(2)  # both have found nobody before either inserts
    other_engine = make_async_engine(db_url)
    try:
        first, second = await asyncio.gather(
            enrol(sessions, directory, "U1"),
            enrol(make_sessionmaker(other_engine), directory, "U1"),
        )
    finally:
        await other_engine.dispose()
    assert first is not None and second is not None and first.id == second.id
    assert len([m for m in await rows(sessions, Member) if m.slack_user_id == "U1"]) == 1
    assert len(directory.lookups) == 2
    assert "enrolled by another caller" in caplog.text  # the unique key settled it
