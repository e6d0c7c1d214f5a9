"""The org's privacy settings through PATCH /org: the anonymity threshold (below 5 only
with an explicit confirmation) and the mood drop alert, each change audited with its
actor and its old and new value."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.app import create_app
from bot.bootstrap import Services, build_services
from bot.settings import load_settings
from core.admin.tokens import TokenRole
from core.store.models import AuditEntry, Organization
from tests.fakes.admin_world import NOW, OrgData, build_org, client
from tests.fakes.clock import FakeClock

ORG = "/api/admin/v1/org"


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[tuple[Services, OrgData]]:
    services = build_services(
        load_settings(database_url=db_url), clock=FakeClock(NOW), loop_interval=None
    )
    yield services, await build_org(services.sessions, "acme")
    await services.close()


async def settings_of(services: Services, org_id: int) -> tuple[int, float, list[AuditEntry]]:
    async with services.sessions() as db:
        org = await db.get_one(Organization, org_id)
        entries = (await db.scalars(
            select(AuditEntry).where(AuditEntry.action == "org.setting").order_by(AuditEntry.id)
        )).all()  # fmt: skip
        return org.anonymity_threshold, org.mood_drop_alert, list(entries)


async def test_the_defaults_are_five_people_and_one_point(world: tuple[Services, OrgData]) -> None:
    services, acme = world
    async with client(create_app(services)) as http:
        read = (await http.get(ORG, headers=acme.auth(TokenRole.VIEWER))).json()
    assert (read["anonymity_threshold"], read["mood_drop_alert"]) == (5, 1.0)


async def test_lowering_the_threshold_without_confirmation_is_refused(
    world: tuple[Services, OrgData],
) -> None:
    services, acme = world
    async with client(create_app(services)) as http:
        refused = await http.patch(ORG, json={"anonymity_threshold": 3}, headers=acme.auth())
    assert refused.status_code == 400 and "lower_anonymity_threshold" in refused.text
    assert await settings_of(services, acme.org_id) == (5, 1.0, [])


async def test_a_confirmed_lower_threshold_is_stored_and_audited_with_old_and_new(
    world: tuple[Services, OrgData],
) -> None:
    services, acme = world
    body = {"anonymity_threshold": 3, "lower_anonymity_threshold": True}
    async with client(create_app(services)) as http:
        answer = await http.patch(ORG, json=body, headers=acme.auth(TokenRole.ADMIN))
    assert answer.status_code == 200 and answer.json()["anonymity_threshold"] == 3
    threshold, _, [entry] = await settings_of(services, acme.org_id)
    assert threshold == 3
    assert entry.detail["field"] == "anonymity_threshold"
    assert (entry.detail["old"], entry.detail["new"]) == (5, 3)
    assert entry.actor_token_id is not None and entry.detail["actor"].startswith("token vzd_")


async def test_raising_the_threshold_and_the_mood_alert_needs_no_confirmation(
    world: tuple[Services, OrgData],
) -> None:
    services, acme = world
    body = {"anonymity_threshold": 8, "mood_drop_alert": 0.5}
    async with client(create_app(services)) as http:
        assert (await http.patch(ORG, json=body, headers=acme.auth())).status_code == 200
    threshold, drop, entries = await settings_of(services, acme.org_id)
    assert (threshold, drop) == (8, 0.5)
    assert [(e.detail["field"], e.detail["old"], e.detail["new"]) for e in entries] == [
        ("anonymity_threshold", 5, 8), ("mood_drop_alert", 1.0, 0.5),
    ]  # fmt: skip


async def test_out_of_range_values_are_refused(world: tuple[Services, OrgData]) -> None:
    services, acme = world
    async with client(create_app(services)) as http:
        for body in ({"anonymity_threshold": 0}, {"mood_drop_alert": -1}):
            assert (await http.patch(ORG, json=body, headers=acme.auth())).status_code == 400
    assert await settings_of(services, acme.org_id) == (5, 1.0, [])


async def holiday_region_of(services: Services, org_id: int) -> str | None:
    async with services.sessions() as db:
        return (await db.get_one(Organization, org_id)).holiday_region


async def test_the_public_holiday_region_is_stored_in_its_canonical_form(
    world: tuple[Services, OrgData],
) -> None:
    services, acme = world
    async with client(create_app(services)) as http:
        answer = await http.patch(ORG, json={"holiday_region": "de-by"}, headers=acme.auth())
    assert answer.status_code == 200 and answer.json()["holiday_region"] == "DE-BY"
    assert await holiday_region_of(services, acme.org_id) == "DE-BY"


async def test_an_unknown_holiday_region_is_refused_and_nothing_changes(
    world: tuple[Services, OrgData],
) -> None:
    services, acme = world
    async with client(create_app(services)) as http:
        for region in ("DE-XX", "ZZ", "not a region"):
            refused = await http.patch(ORG, json={"holiday_region": region}, headers=acme.auth())
            assert refused.status_code == 400, refused.text
    assert await holiday_region_of(services, acme.org_id) is None


async def test_off_clears_the_holiday_region(world: tuple[Services, OrgData]) -> None:
    services, acme = world
    async with client(create_app(services)) as http:
        await http.patch(ORG, json={"holiday_region": "US-CA"}, headers=acme.auth())
        await http.patch(ORG, json={"holiday_region": "off"}, headers=acme.auth())
    assert await holiday_region_of(services, acme.org_id) is None
