"""The organisation's language through the admin API (PATCH/GET /org), and the member's
language in their privacy export. Acme and Globex each have their own tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.app import create_app
from bot.bootstrap import Services, build_services
from bot.settings import load_settings
from core.admin.tokens import TokenRole
from core.store.models import AuditEntry, Member, Organization
from tests.fakes.admin_world import NOW, OrgData, build_org, client
from tests.fakes.clock import FakeClock

ORG = "/api/admin/v1/org"
World = tuple[Services, OrgData, OrgData]


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[World]:
    services = build_services(
        load_settings(database_url=db_url), clock=FakeClock(NOW), loop_interval=None
    )
    acme = await build_org(services.sessions, "acme")
    globex = await build_org(services.sessions, "globex")
    yield services, acme, globex
    await services.close()


async def language_of(services: Services, org_id: int) -> str:
    async with services.sessions() as db:
        return (await db.get_one(Organization, org_id)).language


async def test_an_org_speaks_english_until_told_otherwise(world: World) -> None:
    services, acme, _globex = world
    async with client(create_app(services)) as http:
        read = await http.get(ORG, headers=acme.auth(TokenRole.VIEWER))
    assert read.status_code == 200 and read.json()["language"] == "en"


async def test_an_admin_sets_the_orgs_language_and_it_is_stored_and_audited(
    world: World,
) -> None:
    services, acme, _globex = world
    async with client(create_app(services)) as http:
        changed = await http.patch(ORG, json={"language": "de"}, headers=acme.auth(TokenRole.ADMIN))
        read = await http.get(ORG, headers=acme.auth(TokenRole.VIEWER))
    assert changed.status_code == 200 and changed.json()["language"] == "de"
    assert read.json()["language"] == "de" and await language_of(services, acme.org_id) == "de"
    async with services.sessions() as db:
        audited = await db.scalars(
            select(AuditEntry.detail).where(
                AuditEntry.org_id == acme.org_id, AuditEntry.action == "org.update"
            )
        )
        assert [detail["fields"] for detail in audited] == [["language"]]


@pytest.mark.parametrize("language", ["xx", "DE", "deutsch", "", "de-DE"])
async def test_a_language_not_shipped_is_refused_and_nothing_changes(
    world: World, language: str
) -> None:
    services, acme, _globex = world
    async with client(create_app(services)) as http:
        refused = await http.patch(ORG, json={"language": language}, headers=acme.auth())
    assert refused.status_code == 400, refused.text
    assert "en, de, fr, es, pt" in refused.text
    assert await language_of(services, acme.org_id) == "en"


async def test_another_orgs_admin_changes_only_their_own_org(world: World) -> None:
    services, acme, globex = world
    async with client(create_app(services)) as http:
        await http.patch(ORG, json={"language": "fr"}, headers=globex.auth(TokenRole.ADMIN))
    assert await language_of(services, acme.org_id) == "en"
    assert await language_of(services, globex.org_id) == "fr"


async def test_a_viewer_cannot_change_the_language(world: World) -> None:
    services, acme, _globex = world
    async with client(create_app(services)) as http:
        refused = await http.patch(
            ORG, json={"language": "fr"}, headers=acme.auth(TokenRole.VIEWER)
        )
    assert refused.status_code == 403
    assert await language_of(services, acme.org_id) == "en"


async def test_the_privacy_export_has_the_members_language_and_holiday_settings(
    world: World,
) -> None:
    services, acme, _globex = world
    bo = acme.member_ids[1]
    async with services.sessions.begin() as db:
        member = await db.get_one(Member, bo)
        member.language, member.holiday_region, member.holidays_off = "pt", "DE-BY", False
    async with client(create_app(services)) as http:
        export = await http.get(f"/api/admin/v1/members/{bo}/export", headers=acme.auth())
    profile = export.json()["profile"]
    assert (profile["language"], profile["holiday_region"]) == ("pt", "DE-BY")
    assert {"holidays_off", "memory_cleared_at", "role_source"} <= set(profile)
