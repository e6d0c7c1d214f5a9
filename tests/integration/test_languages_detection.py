"""A member's language when first seen: the Slack user's locale (users.list / users.info
with include_locale), the Teams activity's locale; a language of their own stands."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from adapters.slack.clients import SlackClients
from adapters.slack.directory import SlackDirectory
from core.domain import Provider
from core.members import enrol_member, sync_members
from core.ports import MemberProfile
from core.store.engine import make_sessionmaker
from core.store.models import Member, Organization
from tests.fakes.slack_api import TEST_TOKEN, FakeSlackApi
from tests.fakes.teams_world import BEN, OLIVE, TeamsWorld, teams_world
from tests.integration.test_teams_scenario import typed


# --- Slack -------------------------------------------------------------------------------------
@pytest.fixture
async def directory(slack_api: FakeSlackApi) -> AsyncIterator[SlackDirectory]:
    async def token(_key: object) -> str | None:
        return TEST_TOKEN

    clients = SlackClients(
        api_url=slack_api.base_url, token_for_org=token, token_for_team=token, retry_backoff=0.01
    )
    yield SlackDirectory(clients=clients)
    await clients.close()


@pytest.fixture
async def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@pytest.fixture
async def org_id(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions.begin() as db:
        statement = insert(Organization).values(slug="acme", name="Acme").returning(Organization.id)
        return int((await db.execute(statement)).scalar_one())


async def sync(
    sessions: async_sessionmaker[AsyncSession], org_id: int, profiles: list[MemberProfile]
) -> None:
    async with sessions.begin() as db:
        await sync_members(
            db, org_id=org_id, provider=Provider.SLACK, profiles=profiles,
            default_timezone="UTC",
        )  # fmt: skip


async def language_of_user(sessions: async_sessionmaker[AsyncSession], user: str) -> str | None:
    async with sessions() as db:
        return await db.scalar(select(Member.language).where(Member.slack_user_id == user))


async def test_a_slack_sync_gives_a_new_member_the_language_of_their_locale(
    directory: SlackDirectory, slack_api: FakeSlackApi, sessions: async_sessionmaker[AsyncSession],
    org_id: int,
) -> None:  # fmt: skip
    slack_api.add_user("U1", "Ana", "ana@x.io", "Europe/Berlin", locale="de-DE")
    await sync(sessions, org_id, await directory.list_members(slack_api.team_id))
    assert await language_of_user(sessions, "U1") == "de"
    assert slack_api.calls_to("users.list")[0].params["include_locale"] in ("1", "true")


async def test_a_slack_member_first_met_through_users_info_gets_their_locales_language(
    directory: SlackDirectory, slack_api: FakeSlackApi, sessions: async_sessionmaker[AsyncSession],
    org_id: int,
) -> None:  # fmt: skip
    slack_api.add_user("U2", "Bea", "bea@x.io", locale="fr-FR")
    profile = await directory.member(slack_api.team_id, "U2")
    assert profile is not None
    async with sessions.begin() as db:
        await enrol_member(
            db, org_id=org_id, provider=Provider.SLACK, profile=profile, default_timezone="UTC"
        )
    assert await language_of_user(sessions, "U2") == "fr"


async def test_a_later_slack_sync_keeps_the_language_a_member_chose(
    directory: SlackDirectory, slack_api: FakeSlackApi, sessions: async_sessionmaker[AsyncSession],
    org_id: int,
) -> None:  # fmt: skip
    slack_api.add_user("U1", "Ana", "ana@x.io", locale="de-DE")
    await sync(sessions, org_id, await directory.list_members(slack_api.team_id))
    async with sessions.begin() as db:  # `language es`
        await db.execute(update(Member).where(Member.slack_user_id == "U1").values(language="es"))
    await sync(sessions, org_id, await directory.list_members(slack_api.team_id))
    assert await language_of_user(sessions, "U1") == "es"


async def test_a_slack_locale_that_is_not_shipped_leaves_the_orgs_default(
    directory: SlackDirectory, slack_api: FakeSlackApi, sessions: async_sessionmaker[AsyncSession],
    org_id: int,
) -> None:  # fmt: skip
    slack_api.add_user("U3", "Kai", "kai@x.io", locale="ja-JP")
    await sync(sessions, org_id, await directory.list_members(slack_api.team_id))
    assert await language_of_user(sessions, "U3") is None


# --- Teams -------------------------------------------------------------------------------------
@pytest.fixture
async def teams(db_url: str) -> AsyncIterator[TeamsWorld]:
    async with teams_world(db_url) as world:
        yield world


async def test_a_teams_activitys_locale_is_the_language_of_a_member_who_has_none(
    teams: TeamsWorld,
) -> None:
    await teams.installed(OLIVE, BEN)
    reply = await typed(teams, BEN, "bonjour", locale="fr-FR")
    assert (await teams.member("aad-ben")).language == "fr"
    assert reply.startswith("Aucun check-in n'est ouvert pour toi en ce moment.")


async def test_a_teams_locale_does_not_replace_a_language_the_member_chose(
    teams: TeamsWorld,
) -> None:
    await teams.installed(OLIVE, BEN)
    async with teams.services.sessions.begin() as db:
        await db.execute(
            update(Member).where(Member.teams_aad_object_id == "aad-ben").values(language="de")
        )
    await typed(teams, BEN, "hallo", locale="fr-FR")
    assert (await teams.member("aad-ben")).language == "de"
