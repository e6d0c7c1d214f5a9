"""Commands in the member's language, end to end in Slack: the real Bolt app over HTTP,
signed slash commands, replies read from what the fake Slack Web API received.

Olive (U1) owns the workspace, Ben (U2) is a member in Berlin; the clock says Thursday
2026-11-26, 08:00 UTC. The command words stay English; what VizDots says is translated.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, update

from core.store.models import AuditEntry, Member, Organization
from tests.admin_verbs import all_rows
from tests.fakes.http_server import eventually
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.slack_requests import SlackWorld, slack_world
from tests.integration.test_slack_app import command

EVERY_LANGUAGE = "English (en), Deutsch (de), Français (fr), Español (es), Português (pt)"
#: The first line of `help`, and how it explains `skip` (a Slack list item), in each language.
HELP = {
    "en": ("Here's what you can ask me:", "• `skip` — skip today's check-in"),
    "de": ("Das kannst du mich fragen:", "• `skip` — den heutigen Check-in auslassen"),
    "fr": ("Voici ce que tu peux me demander :", "• `skip` — sauter le check-in d'aujourd'hui"),
    "es": ("Esto es lo que puedes pedirme:", "• `skip` — saltar el check-in de hoy"),
    "pt": ("Veja o que você pode me pedir:", "• `skip` — pular o check-in de hoje"),
}


@pytest.fixture
async def world(db_url: str, slack_api: FakeSlackApi) -> AsyncIterator[SlackWorld]:
    async with slack_world(db_url, slack_api) as world:
        async with world.services.sessions.begin() as db:  # both follow the org's language
            await db.execute(update(Member).values(language=None))
        yield world


async def own_language(world: SlackWorld, user: str) -> str | None:
    async with world.services.sessions() as db:
        return await db.scalar(select(Member.language).where(Member.slack_user_id == user))


async def org_language(world: SlackWorld) -> str:
    async with world.services.sessions() as db:
        return (await db.scalars(select(Organization.language))).one()


@pytest.mark.parametrize("language", sorted(HELP))
async def test_help_comes_in_the_members_language(world: SlackWorld, language: str) -> None:
    await command(world, "U2", f"language {language}")
    reply = await command(world, "U2", "help")
    heading, skip = HELP[language]
    assert reply.splitlines()[0] == heading and skip in reply.splitlines()


async def test_language_de_is_stored_and_the_next_answer_is_german(world: SlackWorld) -> None:
    done = await command(world, "U2", "language de")
    assert done == "Erledigt: Ab jetzt spreche ich Deutsch (de) mit dir."
    assert await own_language(world, "U2") == "de"
    assert await command(world, "U2", "vacation off") == "Du bist nicht im Urlaub."


async def test_a_language_name_is_understood(world: SlackWorld) -> None:
    await command(world, "U2", "language Français")
    assert await own_language(world, "U2") == "fr"


async def test_an_unknown_language_gets_the_list_and_changes_nothing(world: SlackWorld) -> None:
    before = await all_rows(world.services.sessions)
    reply = await command(world, "U2", "language klingon")
    assert "'klingon'" in reply and EVERY_LANGUAGE in reply
    assert await all_rows(world.services.sessions) == before


async def test_language_alone_says_which_one_and_what_there_is(world: SlackWorld) -> None:
    reply = await command(world, "U2", "language")
    assert reply.splitlines() == [
        "I speak English (en) with you (your organisation's language).",
        f"I speak {EVERY_LANGUAGE}. Choose yours with `language de`.",
    ]


async def test_a_member_cannot_change_the_orgs_language(world: SlackWorld) -> None:
    before = await all_rows(world.services.sessions)
    reply = await command(world, "U2", "language org fr")
    assert reply.startswith("Sorry, only admins can use `language org`.")
    assert await all_rows(world.services.sessions) == before


async def test_an_admin_sets_the_orgs_language_and_members_without_their_own_get_it(
    world: SlackWorld,
) -> None:
    done = await command(world, "U1", "language org fr")
    assert done.startswith("C'est fait : la langue de l'organisation est maintenant Français")
    assert await org_language(world) == "fr"
    async with world.services.sessions() as db:
        audited = await db.scalars(select(AuditEntry).where(AuditEntry.action == "org.language"))
        assert [entry.detail["language"] for entry in audited] == ["fr"]
    reply = await command(world, "U2", "help")
    assert reply.splitlines()[0] == HELP["fr"][0]


async def test_a_members_own_language_wins_over_the_orgs(world: SlackWorld) -> None:
    await command(world, "U2", "language es")
    await command(world, "U1", "language org fr")
    reply = await command(world, "U2", "help")
    assert reply.splitlines()[0] == HELP["es"][0]


async def test_schedule_show_names_the_days_in_the_members_language(world: SlackWorld) -> None:
    await command(world, "U1", "schedule set daily mon,wed,fri 09:00")
    await command(world, "U2", "language de")
    reply = await command(world, "U2", "schedule show")
    assert reply.splitlines()[:2] == ["Zeitpläne:", "• daily: Mo., Mi., Fr. um 09:00, alle (aktiv)"]
    assert "Fr. 09:00, Europe/Berlin-Zeit." in reply  # the next one: tomorrow, Friday


async def test_app_home_comes_in_the_members_language(world: SlackWorld) -> None:
    await command(world, "U1", "schedule set daily everyday 09:00")
    await command(world, "U2", "language de")
    await world.requests.event({"type": "app_home_opened", "user": "U2", "tab": "home"})
    await eventually(lambda: _has_view(world, "U2"))
    home = world.slack.views["U2"]
    texts = [b["text"]["text"] for b in home["blocks"] if b["type"] == "section"]
    assert home["blocks"][0]["text"]["text"] == "Hallo Ben Berlin!"
    assert texts[0].startswith("*Nächster Check-in:*") and "Fr. 09:00" in texts[0]
    assert "*Einstellungen*" in texts and "Erinnerungs-E-Mails: *an*" in texts


async def _has_view(world: SlackWorld, user: str) -> bool:
    return user in world.slack.views


async def test_an_unknown_holiday_region_is_explained_in_the_members_language(
    world: SlackWorld,
) -> None:
    await command(world, "U2", "language pt")
    reply = await command(world, "U2", "holidays ZZ")
    assert reply == "'ZZ' não é um código de país como DE, FR ou US; nada mudou."
