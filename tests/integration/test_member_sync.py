"""sync_members: the org's members follow the chat directory, by the provider's own ids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.domain import Provider
from core.members import SyncResult, sync_members
from core.ports import MemberProfile
from core.store.engine import make_sessionmaker
from core.store.models import Member, Organization


def slack(user: str, name: str = "", *, email: str | None = None, **more: Any) -> MemberProfile:
    values = {"timezone": "Europe/Madrid", **more}
    return MemberProfile(external_id=user, display_name=name or user, email=email, **values)


@pytest.fixture
async def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@pytest.fixture
async def org_id(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions.begin() as db:
        statement = insert(Organization).values(slug="acme", name="Acme").returning(Organization.id)
        return int((await db.execute(statement)).scalar_one())


async def add_member(
    sessions: async_sessionmaker[AsyncSession], org_id: int, **values: Any
) -> None:
    async with sessions.begin() as db:
        await db.execute(insert(Member).values(org_id=org_id, display_name="X", **values))


async def sync(
    sessions: async_sessionmaker[AsyncSession], org_id: int, profiles: Sequence[MemberProfile]
) -> SyncResult:
    async with sessions.begin() as db:
        return await sync_members(
            db, org_id=org_id, provider=Provider.SLACK, profiles=profiles,
            default_timezone="America/New_York",
        )  # fmt: skip


async def members(sessions: async_sessionmaker[AsyncSession]) -> dict[str | None, Member]:
    async with sessions() as db:
        return {m.slack_user_id: m for m in await db.scalars(select(Member))}


async def test_new_people_are_added_with_their_profile(sessions: Any, org_id: int) -> None:
    result = await sync(sessions, org_id, [slack("U1", "Ana", email="ana@x.io")])
    ana = (await members(sessions))["U1"]
    assert result == SyncResult(added=1, updated=0, deactivated=0)
    assert (ana.display_name, ana.email, ana.timezone, ana.role) == (
        "Ana", "ana@x.io", "Europe/Madrid", "member",
    )  # fmt: skip


@pytest.mark.parametrize("zone", [None, "", "Mars/Olympus", "../etc/passwd"])
async def test_a_missing_or_unknown_zone_becomes_the_default(
    sessions: Any, org_id: int, zone: str | None
) -> None:
    await sync(sessions, org_id, [slack("U1", timezone=zone)])
    assert (await members(sessions))["U1"].timezone == "America/New_York"


async def test_a_directory_admin_is_promoted(sessions: Any, org_id: int) -> None:
    await add_member(sessions, org_id, slack_user_id="U1")
    await sync(sessions, org_id, [slack("U1", is_admin=True)])
    assert (await members(sessions))["U1"].role == "admin"


@pytest.mark.parametrize("role", ["owner", "admin"])
async def test_nobody_is_ever_demoted(sessions: Any, org_id: int, role: str) -> None:
    await add_member(sessions, org_id, slack_user_id="U1", role=role)
    await sync(sessions, org_id, [slack("U1", is_admin=False)])
    assert (await members(sessions))["U1"].role == role


async def test_a_member_known_by_email_is_linked_not_duplicated(sessions: Any, org_id: int) -> None:
    await add_member(sessions, org_id, email="Ana@X.io")
    result = await sync(sessions, org_id, [slack("U1", email="ana@x.io")])
    assert result == SyncResult(added=0, updated=1, deactivated=0)
    assert list(await members(sessions)) == ["U1"]


async def test_a_returning_member_is_reactivated(sessions: Any, org_id: int) -> None:
    await add_member(sessions, org_id, slack_user_id="U1", active=False)
    await sync(sessions, org_id, [slack("U1")])
    assert (await members(sessions))["U1"].active


async def test_only_unlisted_members_of_that_provider_are_deactivated(
    sessions: Any, org_id: int
) -> None:
    await add_member(sessions, org_id, slack_user_id="U1")
    await add_member(sessions, org_id, slack_user_id="U2")
    await add_member(sessions, org_id, email="mail-only@x.io")
    result = await sync(sessions, org_id, [slack("U1")])
    found = await members(sessions)
    assert result.deactivated == 1
    assert (found["U1"].active, found["U2"].active, found[None].active) == (True, False, True)


async def test_a_second_identical_sync_changes_nothing(sessions: Any, org_id: int) -> None:
    profiles = [slack("U1", "Ana", email="ana@x.io", is_admin=True), slack("U2", "Bo")]
    await sync(sessions, org_id, profiles)
    assert await sync(sessions, org_id, profiles) == SyncResult(0, 0, 0)


async def test_an_email_already_taken_is_not_given_twice(sessions: Any, org_id: int) -> None:
    await add_member(sessions, org_id, slack_user_id="U1", email="ana@x.io")
    await sync(sessions, org_id, [slack("U1", email="ana@x.io"), slack("U2", email="ana@x.io")])
    assert (await members(sessions))["U2"].email is None
