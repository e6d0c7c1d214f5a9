"""The dashboard: `/vizdots dashboard` gives an admin a signed link that works once and
for 10 minutes; it is exchanged for a session cookie (hashed in the database) whose page
and CSV show the admin's organisation only; logout needs the session's CSRF token.

Acme holds the data under test; Rival's data must never show."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from bot.app import create_app
from bot.bootstrap import Services, build_services
from bot.settings import load_settings
from core.domain import Provider
from core.inbound import CommandRequest, Sender
from core.store.models import (
    AuditEntry,
    DashboardLinkUse,
    DashboardSession,
    Installation,
    Member,
    Schedule,
)
from tests.fakes.admin_world import NOW, OrgData, _checkin, build_org
from tests.fakes.clock import FakeClock

BASE = "https://vizdots.example"


@dataclass
class World:
    services: Services
    clock: FakeClock
    acme: OrgData
    rival: OrgData
    web: httpx.AsyncClient

    async def say(self, who: str, words: str) -> str:
        sender = Sender(Provider.SLACK, "T1", who)
        return await self.services.run_command(CommandRequest(sender=sender, text=words))

    async def link_path(self, who: str = "Uacmeana") -> str:
        reply = await self.say(who, "dashboard")
        url = re.search(r"https://\S+", reply)
        assert url is not None, reply
        return url.group().removeprefix(BASE)

    async def count(self, model: type) -> int:
        async with self.services.sessions() as db:
            return int(await db.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[World]:
    clock = FakeClock(NOW)
    settings = load_settings(database_url=db_url, link_signing_secret="s" * 32, app_base_url=BASE)
    services = build_services(settings, clock=clock, loop_interval=None)
    acme = await build_org(services.sessions, "acme")
    rival = await build_org(services.sessions, "rival")
    async with services.sessions.begin() as db:
        db.add(Installation(org_id=acme.org_id, provider="slack", external_id="T1"))
        schedule = await db.get_one(Schedule, rival.schedule_id)
        member = await db.get_one(Member, rival.member_ids[0])
        await _checkin(db, rival.org_id, schedule, member, date(2026, 11, 20), mood=9.0)
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as web:
        yield World(services, clock, acme, rival, web)
    await services.close()


async def signed_in(world: World) -> str:
    """Sign Acme's owner in; the cookie's plaintext."""
    path = await world.link_path()
    confirm = await world.web.get(path)
    assert confirm.status_code == 200 and 'method="post"' in confirm.text
    assert await world.count(DashboardLinkUse) == 0  # a preview uses nothing up
    answer = await world.web.post(path)
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard"
    return answer.cookies["vizdots_dashboard"]


async def test_a_link_signs_an_admin_in_to_their_orgs_data_only(world: World) -> None:
    cookie = await signed_in(world)
    async with world.services.sessions() as db:
        session = (await db.scalars(select(DashboardSession))).one()
    assert session.org_id == world.acme.org_id and session.member_id == world.acme.member_ids[0]
    assert session.id_hash == hashlib.sha256(cookie.encode()).hexdigest()
    assert session.expires_at == NOW + timedelta(hours=8) and session.ended_at is None
    page = await world.web.get("/dashboard")
    assert page.status_code == 200
    assert "<h1>Acme</h1>" in page.text and "Rival" not in page.text
    assert "<td>23 Nov</td><td>3</td><td>3.0</td>" in page.text  # Acme's daily average
    assert "9.0" not in page.text and "<td>20 Nov</td>" not in page.text  # Rival's
    assert page.headers["cache-control"] == "no-store"
    export = await world.web.get("/dashboard/dots.csv")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    lines = export.text.strip().splitlines()
    assert lines[1:] == [  # anonymous daily averages of the last 30 days, Acme's only
        "daily,2026-11-23,mood,3,3.0,2.0,4.0", "daily,2026-11-24,mood,3,3.0,2.0,4.0",
    ]  # fmt: skip
    async with world.services.sessions() as db:
        actions = (await db.scalars(
            select(AuditEntry.action).where(AuditEntry.org_id == world.acme.org_id)
            .where(AuditEntry.action.like("dashboard.%") | (AuditEntry.action == "dots.export"))
            .order_by(AuditEntry.id)
        )).all()  # fmt: skip
        details = (await db.scalars(select(AuditEntry.detail))).all()
    assert actions == ["dashboard.link", "dashboard.login", "dots.export"]
    assert not any(cookie in str(detail) for detail in details)  # no secret in the audit log


async def test_the_cookie_is_httponly_secure_lax_and_scoped(world: World) -> None:
    path = await world.link_path()
    answer = await world.web.post(path)
    header = answer.headers["set-cookie"].lower()
    assert "httponly" in header and "secure" in header and "samesite=lax" in header
    assert "path=/dashboard" in header and "max-age=28800" in header


async def test_a_replayed_link_is_refused(world: World) -> None:
    path = await world.link_path()
    assert (await world.web.post(path)).status_code == 303
    world.web.cookies.clear()
    again = await world.web.post(path)
    assert again.status_code == 410 and "already used" in again.text
    assert "vizdots_dashboard" not in again.headers.get("set-cookie", "")
    assert await world.count(DashboardLinkUse) == 1 and await world.count(DashboardSession) == 1


async def test_an_expired_link_is_refused(world: World) -> None:
    path = await world.link_path()
    world.clock.advance(timedelta(minutes=10, seconds=1))
    assert (await world.web.get(path)).status_code == 410
    refused = await world.web.post(path)
    assert refused.status_code == 410 and "expired" in refused.text
    assert await world.count(DashboardLinkUse) == 0 and await world.count(DashboardSession) == 0


async def test_a_tampered_or_foreign_link_is_refused(world: World) -> None:
    path = await world.link_path()
    token = path.rsplit("/", 1)[1]
    payload, rest = token.split(".", 1)
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + rest
    checkin = world.services.links.checkin(member_id=world.acme.member_ids[0], session_id=1)
    for bad in (forged, token[:-3], checkin.rsplit("/", 1)[1]):
        refused = await world.web.post(f"/dashboard/login/{bad}")
        assert refused.status_code == 403 and "not valid" in refused.text, bad
    assert (await world.web.post(f"/dashboard/login/{'x' * 600}")).status_code == 400
    assert await world.count(DashboardLinkUse) == 0 and await world.count(DashboardSession) == 0


async def test_members_get_no_link_and_a_demoted_admin_cannot_use_theirs(world: World) -> None:
    refused = await world.say("Uacmebo", "dashboard")
    assert "only admins" in refused and "/dashboard/login/" not in refused
    path = await world.link_path()
    async with world.services.sessions.begin() as db:
        (await db.get_one(Member, world.acme.member_ids[0])).role = "member"
    answer = await world.web.post(path)
    assert answer.status_code == 403
    assert await world.count(DashboardSession) == 0


async def test_logout_needs_the_csrf_token_and_ends_the_session(world: World) -> None:
    await signed_in(world)
    page = await world.web.get("/dashboard")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    for form in ({}, {"csrf": "wrong"}):
        refused = await world.web.post("/dashboard/logout", data=form)
        assert refused.status_code == 403
    async with world.services.sessions() as db:
        assert (await db.scalars(select(DashboardSession.ended_at))).one() is None
    out = await world.web.post("/dashboard/logout", data={"csrf": found.group(1)})
    assert out.status_code == 200 and 'vizdots_dashboard=""' in out.headers["set-cookie"]
    async with world.services.sessions() as db:
        assert (await db.scalars(select(DashboardSession.ended_at))).one() == NOW
    world.web.cookies.clear()


async def test_no_ended_or_expired_session_reads_anything(world: World) -> None:
    assert (await world.web.get("/dashboard")).status_code == 401
    await signed_in(world)  # the client keeps the cookie; the server's clock moves on
    world.clock.advance(timedelta(hours=8))
    for path in ("/dashboard", "/dashboard/dots.csv"):
        answer = await world.web.get(path)
        assert answer.status_code == 401 and "/vizdots dashboard" in answer.text
