"""Roles follow the workspace: a members sync sets a role that came from the directory
from its admin flag, and leaves a role granted in VizDots (admin API) alone."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest
from sqlalchemy import select

from bot.app import create_app
from bot.bootstrap import Services, build_services
from bot.settings import load_settings
from core.domain import Provider
from core.members import sync_members
from core.ports import MemberProfile
from core.store.models import Member
from tests.fakes.admin_world import NOW, OrgData, build_org, client
from tests.fakes.clock import FakeClock

V1 = "/api/admin/v1"
ANA, BO, CY = "Uacmeana", "Uacmebo", "Uacmecy"  # build_org's owner and two members


@pytest.fixture
async def services(db_url: str) -> AsyncIterator[Services]:
    built = build_services(
        load_settings(database_url=db_url), clock=FakeClock(NOW), loop_interval=None
    )
    yield built
    await built.close()


@pytest.fixture
async def acme(services: Services) -> OrgData:
    return await build_org(services.sessions, "acme")


async def sync(services: Services, org_id: int, admins: Sequence[str] = ()) -> None:
    """The directory lists Ana, Bo and Cy; `admins` are its workspace admins."""
    profiles = [
        MemberProfile(user, user, None, "UTC", is_admin=user in admins) for user in (ANA, BO, CY)
    ]
    async with services.sessions.begin() as db:
        await sync_members(
            db, org_id=org_id, provider=Provider.SLACK, profiles=profiles, default_timezone="UTC"
        )


async def roles(services: Services) -> dict[str, tuple[str, str | None]]:
    async with services.sessions() as db:
        rows = await db.execute(select(Member.slack_user_id, Member.role, Member.role_source))
        return {str(user): (role, source) for user, role, source in rows}


async def set_role(services: Services, acme: OrgData, user: str, role: str) -> None:
    member_id = acme.member_ids[[ANA, BO, CY].index(user)]
    async with client(create_app(services)) as http:
        answer = await http.patch(
            f"{V1}/members/{member_id}", json={"role": role}, headers=acme.auth()
        )
    assert answer.status_code == 200, answer.text


async def test_a_workspace_admin_demoted_in_the_workspace_loses_admin_at_the_next_sync(
    services: Services, acme: OrgData
) -> None:
    await sync(services, acme.org_id, admins=[BO])
    assert (await roles(services))[BO] == ("admin", "workspace")
    await sync(services, acme.org_id, admins=[])
    assert (await roles(services))[BO] == ("member", "workspace")


async def test_a_role_granted_in_vizdots_stays_through_syncs(
    services: Services, acme: OrgData
) -> None:
    await sync(services, acme.org_id)
    await set_role(services, acme, CY, "admin")
    await sync(services, acme.org_id, admins=[])
    assert (await roles(services))[CY] == ("admin", "vizdots")


async def test_a_workspace_admin_demoted_in_vizdots_is_not_promoted_again(
    services: Services, acme: OrgData
) -> None:
    await sync(services, acme.org_id, admins=[BO])
    await set_role(services, acme, BO, "member")
    await sync(services, acme.org_id, admins=[BO])
    assert (await roles(services))[BO] == ("member", "vizdots")


async def test_the_owner_keeps_ownership_whatever_the_directory_says(
    services: Services, acme: OrgData
) -> None:
    await sync(services, acme.org_id, admins=[])
    assert (await roles(services))[ANA][0] == "owner"


async def test_an_admin_of_unknown_origin_is_kept_and_marked_as_granted_in_vizdots(
    services: Services, acme: OrgData
) -> None:
    """Rows older than the role's origin (migration 0016) lose nothing at the first sync."""
    async with services.sessions.begin() as db:
        member = await db.scalar(select(Member).where(Member.slack_user_id == CY))
        assert member is not None
        member.role, member.role_source = "admin", None
    await sync(services, acme.org_id, admins=[])
    assert (await roles(services))[CY] == ("admin", "vizdots")
