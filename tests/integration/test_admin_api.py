"""The admin API: tokens (401), roles (403), the caller's organisation only (404, for
every route the schema lists), audited changes, GDPR export and erasure, CSV export.

Acme holds the data; Rival's tokens must reach none of it."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import create_app
from bot.bootstrap import Services, build_services
from bot.settings import load_settings
from core.admin.tokens import TokenRole
from core.store.models import AdminToken, AuditEntry, Dot, Member, Message
from tests.fakes.admin_world import NOW, OrgData, build_org, client, snapshot
from tests.fakes.clock import FakeClock

V1 = "/api/admin/v1"
OWNER, ADMIN, VIEWER = TokenRole.OWNER, TokenRole.ADMIN, TokenRole.VIEWER
QUESTION = {"key": "mood", "text": "How are you?", "kind": "scale"}
#: A valid body for each request model the schema names: a route with a new body model
#: fails the isolation test until it has one here.
BODIES: dict[str, dict[str, Any]] = {
    "OrgUpdate": {"name": "Taken Over", "store_ai_text": True},
    "MemberUpdate": {"role": "admin", "active": False},
    "AgentIn": {"slug": "spy", "name": "Spy", "persona": "p", "goal": "g", "questions": [QUESTION]},
    "AgentSwitch": {"enabled": False},
    "ScheduleIn": {"agent": "retro", "weekdays": [0], "local_time": "10:00"},
    "ScheduleUpdate": {"active": False, "report_channel": "C123", "member_ids": None},
}


@dataclass
class World:
    services: Services
    acme: OrgData
    rival: OrgData


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[World]:
    services = build_services(
        load_settings(database_url=db_url), clock=FakeClock(NOW), loop_interval=None
    )
    acme = await build_org(services.sessions, "acme")
    rival = await build_org(services.sessions, "rival")
    yield World(services, acme, rival)
    await services.close()


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, ops in schema["paths"].items()
        if path.startswith(V1)
        for method, op in ops.items()
    ]


def acme_path(path: str, acme: OrgData) -> str:
    ids = {"member_id": acme.member_ids[1], "schedule_id": acme.schedule_id,
           "slug": acme.agent_slug, "token_id": acme.token_prefix}  # fmt: skip
    return re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)


def body_for(op: dict[str, Any]) -> dict[str, Any] | None:
    if "requestBody" not in op:
        return None
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return BODIES[ref.rsplit("/", 1)[1]]


async def test_every_admin_route_refuses_another_orgs_objects(world: World) -> None:
    app = create_app(world.services)
    before = await snapshot(world.services.sessions, world.acme.org_id)
    acme_ids = {str(i) for i in world.acme.member_ids} | {world.acme.agent_slug}
    async with client(app) as http:
        ops = operations(app.openapi())
        assert len(ops) >= 20
        for method, path, op in ops:
            url = acme_path(path, world.acme)
            params = {"member_id": world.acme.member_ids[0]} if method == "GET" else None
            answer = await http.request(method, url, json=body_for(op), params=params,
                                        headers=world.rival.auth(OWNER))  # fmt: skip
            if "{" in path:
                assert answer.status_code == 404, (method, path, answer.text)
            else:
                assert answer.status_code in (200, 201), (method, path, answer.text)
                assert not _mentions_acme(answer, world.acme), (method, path)
    assert await snapshot(world.services.sessions, world.acme.org_id) == before
    assert acme_ids


def _mentions_acme(answer: Any, acme: OrgData) -> bool:
    text = answer.text
    return "acme" in text or f'"org_id":{acme.org_id},' in text


async def test_no_token_a_bad_one_a_low_role_and_a_foreign_id_are_told_apart(world: World) -> None:
    member = world.acme.member_ids[1]
    url = f"{V1}/members/{member}"
    async with client(create_app(world.services)) as http:
        assert (await http.get(f"{V1}/members")).status_code == 401
        bad = {"Authorization": "Bearer vzd_00000000_" + "x" * 43}
        assert (await http.get(f"{V1}/members", headers=bad)).status_code == 401
        viewer = await http.patch(url, json={"active": False}, headers=world.acme.auth(VIEWER))
        assert viewer.status_code == 403
        foreign = await http.patch(url, json={"active": False}, headers=world.rival.auth(ADMIN))
        assert foreign.status_code == 404
        erase = await http.delete(f"{url}/personal-data", headers=world.acme.auth(ADMIN))
        assert erase.status_code == 403  # erasure takes an owner's token
        mine = await http.patch(url, json={"active": False}, headers=world.acme.auth(ADMIN))
        assert mine.status_code == 200 and mine.json()["active"] is False
    async with world.services.sessions() as db:
        assert (await db.get_one(Member, member)).active is False
        entry = (
            await db.scalars(select(AuditEntry).where(AuditEntry.action == "member.deactivate"))
        ).one()
    assert entry.actor_token_id is not None and entry.detail["via"] == "api"
    assert entry.detail["actor"].startswith("token vzd_") and entry.org_id == world.acme.org_id


async def test_bad_input_is_a_400_and_changes_nothing(world: World) -> None:
    auth = world.acme.auth(OWNER)
    async with client(create_app(world.services)) as http:
        await http.get(f"{V1}/org", headers=auth)  # the token's last use, recorded once
        before = await snapshot(world.services.sessions, world.acme.org_id)
        for method, url, body in [
            ("POST", f"{V1}/schedules", {"agent": "retro", "weekdays": [9], "local_time": "10:00"}),
            ("POST", f"{V1}/schedules", {"agent": "retro", "weekdays": [1], "local_time": "10:00",
                                          "member_ids": [world.rival.member_ids[0]]}),
            ("POST", f"{V1}/agents", {**BODIES["AgentIn"], "dot_keys": ["nope"]}),
            ("PATCH", f"{V1}/org", {"plan_status": "active"}),
            ("GET", f"{V1}/dots?since=yesterday", None),
        ]:  # fmt: skip
            answer = await http.request(method, url, json=body, headers=auth)
            assert answer.status_code == 400, (method, url, answer.text)
    assert await snapshot(world.services.sessions, world.acme.org_id) == before


async def test_a_revoked_token_stops_at_once_and_use_is_recorded(world: World) -> None:
    async with client(create_app(world.services)) as http:
        headers = world.acme.auth(ADMIN)
        assert (await http.get(f"{V1}/org", headers=headers)).status_code == 200
        prefix = world.acme.tokens[ADMIN].split("_")[1]
        revoked = await http.delete(f"{V1}/tokens/vzd_{prefix}", headers=world.acme.auth(OWNER))
        assert revoked.status_code == 204
        assert (await http.get(f"{V1}/org", headers=headers)).status_code == 401
    async with world.services.sessions() as db:
        row = (await db.scalars(select(AdminToken).where(AdminToken.public_id == prefix))).one()
    assert row.last_used_at == NOW and row.revoked_at == NOW


async def test_schedules_keep_their_report_channel_through_updates(world: World) -> None:
    auth = world.acme.auth(ADMIN)
    async with client(create_app(world.services)) as http:
        made = await http.post(f"{V1}/schedules", headers=auth, json={
            "agent": "retro", "weekdays": [4], "local_time": "16:00", "report_channel": "C1",
            "member_ids": world.acme.member_ids[:2]})  # fmt: skip
        assert made.status_code == 201, made.text
        url = f"{V1}/schedules/{made.json()['id']}"
        changed = await http.patch(url, headers=auth, json={"report_channel": "C2"})
        assert changed.json()["report_channel"] == "C2"
        assert changed.json()["member_ids"] == sorted(world.acme.member_ids[:2])
        assert (await http.patch(url, headers=auth, json={"local_time": "17:00"})).json()[
            "report_channel"
        ] == "C2"
        cleared = await http.patch(url, headers=auth, json={"report_channel": None})
        assert cleared.json()["report_channel"] is None
        used = await http.delete(f"{V1}/schedules/{world.acme.schedule_id}", headers=auth)
        assert used.status_code == 409  # it has check-ins: pause it instead
        assert (await http.delete(url, headers=auth)).status_code == 204
        assert (await http.get(url, headers=auth)).status_code == 404


async def test_erasure_keeps_the_numeric_aggregates_and_nothing_personal(world: World) -> None:
    bo = world.acme.member_ids[1]
    auth = world.acme.auth(OWNER)
    async with client(create_app(world.services)) as http:
        daily_before = (await http.get(f"{V1}/dots/daily", headers=auth)).json()
        export = (await http.get(f"{V1}/members/{bo}/export", headers=auth)).json()
        assert export["profile"]["email"] == "bo@acme.io"
        assert len(export["messages"]) == 2 and len(export["dots"]) == 4
        erased = await http.delete(f"{V1}/members/{bo}/personal-data", headers=auth)
        assert erased.status_code == 200, erased.text
        assert erased.json()["removed"]["messages"] == 2
        assert (await http.get(f"{V1}/dots/daily", headers=auth)).json() == daily_before
        again = await http.delete(f"{V1}/members/{bo}/personal-data", headers=auth)
        assert again.status_code == 400
    async with world.services.sessions() as db:
        member = await db.get_one(Member, bo)
        texts = await db.scalar(
            select(func.count()).where(Dot.member_id == bo, Dot.text_value.is_not(None))
        )
        numbers = await db.scalar(
            select(func.count()).where(Dot.member_id == bo, Dot.num_value.is_not(None))
        )
        words = await db.scalars(select(Message.text))
        left = " ".join(words)
    assert (member.email, member.slack_user_id, member.active) == (None, None, False)
    assert member.display_name == "Erased member" and member.deleted_at == NOW
    assert (texts, numbers) == (0, 2)
    assert "bo@acme.io" not in left and "ana@acme.io" in left


async def test_dots_export_as_csv_with_formulas_defused(world: World) -> None:
    async with client(create_app(world.services)) as http:
        answer = await http.get(f"{V1}/dots.csv?key=blockers", headers=world.acme.auth(VIEWER))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == 6 and {r["agent"] for r in rows} == {"daily"}
    assert all(r["text_value"].startswith("'=blocked by") for r in rows)
