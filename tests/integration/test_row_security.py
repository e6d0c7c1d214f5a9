"""Row-level security on PostgreSQL (migration 0017): a role that does not own the tables
sees only the rows of the organisation its transaction names in `app.org_id`.
On SQLite there is nothing to enforce and nothing changes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.app import create_app
from bot.bootstrap import build_services
from bot.settings import load_settings
from core.store.engine import make_async_engine, make_sessionmaker, org_scope
from core.store.models import Base, Member, Organization
from tests.fakes.admin_world import build_org, client
from tests.fakes.clock import FakeClock
from tests.fakes.world import add_due_session, add_member, add_org
from tests.postgres import app_role_url

NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)


@dataclass(frozen=True)
class Orgs:
    acme: int
    rival: int
    url: str  # the service's connection: the application role on PostgreSQL


@pytest.fixture
async def orgs(db_url: str) -> Orgs:
    """Acme with two members and Rival with one, written by the tables' owner."""
    engine = make_async_engine(db_url)
    async with make_sessionmaker(engine).begin() as db:
        acme, rival = await add_org(db, "acme"), await add_org(db, "rival")
        for email in ("ann@acme.io", "bob@acme.io"):
            await add_member(db, acme, email)
        await add_member(db, rival, "rae@rival.io")
        ids = (acme.id, rival.id)
    await engine.dispose()
    url = app_role_url(db_url) if db_url.startswith("postgresql") else db_url
    return Orgs(*ids, url=url)


@pytest.fixture
async def app_connection(orgs: Orgs) -> AsyncIterator[AsyncConnection]:
    engine = make_async_engine(orgs.url)
    async with engine.connect() as connection:
        yield connection
    await engine.dispose()


def postgres_only(orgs: Orgs) -> None:
    if not orgs.url.startswith("postgresql"):
        pytest.skip("row-level security is PostgreSQL's")


async def member_orgs(connection: AsyncConnection) -> list[int]:
    return sorted(await connection.scalars(select(Member.org_id)))


async def test_a_query_without_the_org_set_sees_no_rows(
    orgs: Orgs, app_connection: AsyncConnection
) -> None:
    postgres_only(orgs)
    assert await member_orgs(app_connection) == []
    assert await app_connection.scalar(select(func.count()).select_from(Organization)) == 0


async def test_a_query_with_another_orgs_id_sees_none_of_this_orgs_rows(
    orgs: Orgs, app_connection: AsyncConnection
) -> None:
    postgres_only(orgs)
    await app_connection.execute(
        text("SELECT set_config('app.org_id', :org, true)"), {"org": str(orgs.rival)}
    )
    assert await member_orgs(app_connection) == [orgs.rival]
    assert list(await app_connection.scalars(select(Organization.id))) == [orgs.rival]


async def test_another_orgs_rows_cannot_be_written(
    orgs: Orgs, app_connection: AsyncConnection
) -> None:
    postgres_only(orgs)
    await app_connection.execute(
        text("SELECT set_config('app.org_id', :org, true)"), {"org": str(orgs.rival)}
    )
    with pytest.raises(DBAPIError, match="row-level security"):
        await app_connection.execute(
            insert(Member).values(org_id=orgs.acme, display_name="Mallory")
        )


async def scoped_and_system(orgs: Orgs) -> tuple[list[int], list[int]]:
    """Member rows' orgs as the service sees them in Acme's scope, then as system work."""
    engine = make_async_engine(orgs.url, row_security=True)
    sessions = make_sessionmaker(engine)
    with org_scope(orgs.acme):
        async with sessions() as db:
            scoped = sorted(await db.scalars(select(Member.org_id)))
    async with sessions() as db:  # planning, delivery, reminders: every organisation
        everyone = sorted(await db.scalars(select(Member.org_id)))
    await engine.dispose()
    return scoped, everyone


async def test_the_service_sees_the_org_of_the_work_at_hand_and_system_work_sees_all(
    orgs: Orgs,
) -> None:
    postgres_only(orgs)
    scoped, everyone = await scoped_and_system(orgs)
    assert scoped == [orgs.acme, orgs.acme]
    assert everyone == [orgs.acme, orgs.acme, orgs.rival]


async def test_on_sqlite_row_security_changes_nothing(orgs: Orgs) -> None:
    if orgs.url.startswith("postgresql"):
        pytest.skip("SQLite only")
    scoped, everyone = await scoped_and_system(orgs)
    assert scoped == everyone == [orgs.acme, orgs.acme, orgs.rival]


async def test_the_service_works_as_the_application_role_with_row_security(
    db_url: str,
) -> None:
    """System work (the scheduler call) reaches every organisation; an admin API request
    works inside its token's organisation."""
    if not db_url.startswith("postgresql"):
        pytest.skip("row-level security is PostgreSQL's")
    owner = make_async_engine(db_url)
    owner_sessions = make_sessionmaker(owner)
    acme, rival = await build_org(owner_sessions, "acme"), await build_org(owner_sessions, "rival")
    await add_due_session(owner_sessions, "bo@rival.io", due=NOW)
    await owner.dispose()
    settings = load_settings(
        database_url=app_role_url(db_url), row_security=True, scheduler_secret="cron-secret"
    )
    services = build_services(settings, clock=FakeClock(NOW), loop_interval=None)
    async with client(create_app(services)) as http:
        planned = await http.post(
            "/api/internal/scheduler", headers={"Authorization": "Bearer cron-secret"}
        )
        members = await http.get("/api/admin/v1/members", headers=acme.auth())
    await services.close()
    assert planned.status_code == 200 and planned.json()["delivered"] >= 1
    assert members.status_code == 200
    assert sorted(m["id"] for m in members.json()) == sorted(acme.member_ids)
    assert not set(acme.member_ids) & set(rival.member_ids)


async def test_every_table_with_an_org_id_has_row_security(
    orgs: Orgs, app_connection: AsyncConnection
) -> None:
    """A table added later with an org_id column must join migration 0017's list."""
    postgres_only(orgs)
    owned = {t.name for t in Base.metadata.tables.values() if "org_id" in t.columns}
    guarded = set(
        await app_connection.scalars(
            text("SELECT relname FROM pg_class WHERE relkind = 'r' AND relrowsecurity")
        )
    )
    assert owned - guarded == set()
