"""The local web chat at /dev answers a check-in end to end over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bot.app import create_app
from bot.bootstrap import Services, build_services
from bot.settings import load_settings
from core.commands.types import Command
from core.markup import to_html
from tests.admin_verbs import ADMIN_VERBS, all_rows, is_refusal, line_of
from tests.fakes.brain import BuggyBrain
from tests.fakes.clock import FakeClock
from tests.fakes.demo_app import demo_client

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def services(db_url: str, clock: FakeClock) -> Services:
    return build_services(load_settings(database_url=db_url), clock=clock, loop_interval=None)


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with demo_client(services) as client:
        yield client


async def member_id(client: httpx.AsyncClient, email: str) -> int:
    members = (await client.get("/dev/api/members")).json()
    return next(m["id"] for m in members if m["email"] == email)


async def say(client: httpx.AsyncClient, member: int, text: str, choice: str | None = None) -> Any:
    response = await client.post(
        f"/dev/api/members/{member}/say", json={"text": text, "choice": choice}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def timeline(client: httpx.AsyncClient, member: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await client.get(f"/dev/api/members/{member}/chat")).json()[
        "timeline"
    ]
    return items


def bubbles(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(speaker, html) of each bubble the page shows, in order."""
    return [(i["speaker"], i["html"]) for i in items if i["kind"] == "turn"]


async def answer_bens_check_in(client: httpx.AsyncClient) -> int:
    ben = await member_id(client, "ben@demo.vizdots.dev")
    [session] = (await client.get(f"/dev/api/members/{ben}/chat")).json()["sessions"]
    await follow_up_previous(client, ben, session)  # Ben has a month of demo history
    [session] = (await client.get(f"/dev/api/members/{ben}/chat")).json()["sessions"]
    four = next(b for b in session["buttons"] if b["label"].startswith("4"))
    await say(client, ben, "4", four["value"])
    await say(client, ben, "Reviewing PRs")
    await say(client, ben, "none")
    return ben


async def test_the_page_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/dev")
    assert response.status_code == 200 and "VizDots" in response.text


async def test_the_demo_team_spans_several_timezones(client: httpx.AsyncClient) -> None:
    members = (await client.get("/dev/api/members")).json()
    assert len({m["timezone"] for m in members}) >= 4


async def follow_up_previous(client: httpx.AsyncClient, member: int, session: Any) -> None:
    """Answer the opening's follow-up of the previous check-in: a blocker resolved, or
    the planned focus gone well."""
    resolved = [b for b in session["buttons"] if b["label"] == "resolved"]
    said = (
        {"text": "resolved", "choice": resolved[0]["value"]} if resolved else {"text": "went well"}
    )
    await client.post(f"/dev/api/members/{member}/say", json=said)


async def test_a_check_in_is_answered_with_a_button_then_text(client: httpx.AsyncClient) -> None:
    ben = await member_id(client, "ben@demo.vizdots.dev")
    [session] = (await client.get(f"/dev/api/members/{ben}/chat")).json()["sessions"]
    await follow_up_previous(client, ben, session)  # Ben has a month of demo history
    [session] = (await client.get(f"/dev/api/members/{ben}/chat")).json()["sessions"]
    four = next(b for b in session["buttons"] if b["label"].startswith("4"))
    await client.post(f"/dev/api/members/{ben}/say", json={"text": "4", "choice": four["value"]})
    await client.post(f"/dev/api/members/{ben}/say", json={"text": "Reviewing PRs"})
    await client.post(f"/dev/api/members/{ben}/say", json={"text": "none"})
    [done] = (await client.get(f"/dev/api/members/{ben}/chat")).json()["sessions"]
    assert done["state"] == "completed" and done["buttons"] == []
    assert "mood: 4/5" in done["summary"].lower()


async def test_commands_typed_in_the_chat_are_answered(client: httpx.AsyncClient) -> None:
    ana = await member_id(client, "ana@demo.vizdots.dev")
    response = await client.post(f"/dev/api/members/{ana}/say", json={"text": "/vizdots help"})
    assert "schedule" in response.json()["command_reply"]


@pytest.mark.parametrize("verb", ADMIN_VERBS, ids=lambda verb: verb.__name__)
async def test_a_member_is_refused_admin_commands(
    client: httpx.AsyncClient, services: Services, verb: type[Command]
) -> None:
    ben = await member_id(client, "ben@demo.vizdots.dev")
    before = await all_rows(services.sessions)
    reply = (await say(client, ben, f"/vizdots {line_of(verb)}"))["command_reply"]
    assert is_refusal(reply, verb), reply
    assert await all_rows(services.sessions) == before


async def test_an_unknown_member_is_a_404(client: httpx.AsyncClient) -> None:
    response = await client.post("/dev/api/members/999999/say", json={"text": "hi"})
    assert response.status_code == 404


async def test_a_malformed_body_is_a_400(client: httpx.AsyncClient) -> None:
    ana = await member_id(client, "ana@demo.vizdots.dev")
    response = await client.post(f"/dev/api/members/{ana}/say", json={"nope": 1})
    assert response.status_code == 400 and response.json()["problems"][0]["field"] == "text"


async def test_the_local_chat_is_not_served_when_turned_off(db_url: str) -> None:
    services = build_services(
        load_settings(database_url=db_url), clock=FakeClock(NOW), loop_interval=None, dev_chat=False
    )
    app = create_app(services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.get("/dev")).status_code == 404


@pytest.mark.parametrize("member", ["0", "-1", str(2**31), str(2**63), str(2**70)])
async def test_an_out_of_range_member_id_is_a_client_error(
    client: httpx.AsyncClient, member: str
) -> None:
    said = await client.post(f"/dev/api/members/{member}/say", json={"text": "hi"})
    chat = await client.get(f"/dev/api/members/{member}/chat")
    assert 400 <= said.status_code < 500 and 400 <= chat.status_code < 500


async def test_a_finished_check_ins_last_reply_is_shown_once(client: httpx.AsyncClient) -> None:
    ben = await answer_bens_check_in(client)
    [session] = (await client.get(f"/dev/api/members/{ben}/chat")).json()["sessions"]
    last = to_html(session["messages"][-1]["text"])
    assert [html for _, html in bubbles(await timeline(client, ben))].count(last) == 1


async def test_a_pressed_choice_is_shown_once_as_the_members_turn(
    client: httpx.AsyncClient,
) -> None:
    ben = await answer_bens_check_in(client)
    assert bubbles(await timeline(client, ben)).count(("member", "4")) == 1


async def test_an_answer_stored_as_a_turn_is_shown_once(client: httpx.AsyncClient) -> None:
    ben = await answer_bens_check_in(client)
    assert bubbles(await timeline(client, ben)).count(("member", "Reviewing PRs")) == 1


async def test_a_notice_is_rendered_from_markup(client: httpx.AsyncClient) -> None:
    ben = await answer_bens_check_in(client)
    await say(client, ben, "thanks")
    [*_, (speaker, notice)] = bubbles(await timeline(client, ben))
    assert speaker == "agent" and "<strong>help</strong>" in notice and "**" not in notice


async def test_what_a_member_types_is_escaped(client: httpx.AsyncClient) -> None:
    ana = await member_id(client, "ana@demo.vizdots.dev")
    await say(client, ana, "<b>x</b>")
    assert ("member", "&lt;b&gt;x&lt;/b&gt;") in bubbles(await timeline(client, ana))


async def test_a_typed_command_and_its_reply_follow_the_check_in(
    client: httpx.AsyncClient,
) -> None:
    ben = await answer_bens_check_in(client)
    await say(client, ben, "help")
    [*_, finished, typed, reply] = bubbles(await timeline(client, ben))
    assert finished[0] == "agent" and typed == ("member", "help") and "schedule" in reply[1]


async def test_a_command_typed_while_a_question_waits_sits_inside_the_check_in(
    client: httpx.AsyncClient,
) -> None:
    ana = await member_id(client, "ana@demo.vizdots.dev")
    await say(client, ana, "/vizdots help")
    await say(client, ana, "4")
    speakers = [speaker for speaker, _ in bubbles(await timeline(client, ana))]
    assert speakers == ["agent", "member", "agent", "member", "agent"]


async def test_a_message_after_the_check_in_names_the_next_one(
    client: httpx.AsyncClient,
) -> None:
    ben = await answer_bens_check_in(client)
    await say(client, ben, "thanks")
    [*_, typed, notice] = bubbles(await timeline(client, ben))
    assert typed == ("member", "thanks") and "Your next check-in" in notice[1]


async def test_start_is_shown_before_the_check_in_it_opens(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    ben = await member_id(client, "ben@demo.vizdots.dev")
    clock.advance(timedelta(days=2))  # Friday: Wednesday's check-in has expired
    await say(client, ben, "start")
    items = await timeline(client, ben)
    typed = items.index({"kind": "turn", "speaker": "member", "html": "start", "session": None})
    assert [i["kind"] for i in items[typed + 1 : typed + 3]] == ["session", "turn"]


async def test_the_page_says_commands_need_no_prefix(client: httpx.AsyncClient) -> None:
    page = (await client.get("/dev")).text
    assert "type help" in page and "type /vizdots help" not in page


async def test_a_check_in_past_its_end_offers_no_buttons(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    ben = await member_id(client, "ben@demo.vizdots.dev")
    clock.advance(timedelta(days=2))  # Friday: Wednesday's check-in has expired
    [wednesday] = (await client.get(f"/dev/api/members/{ben}/chat")).json()["sessions"]
    assert wednesday["buttons"] == [] and wednesday["state"] == "expired"


async def test_an_apology_for_a_turn_that_failed_is_shown(
    client: httpx.AsyncClient, services: Services
) -> None:
    services.conversations.brain = BuggyBrain()
    ana = await member_id(client, "ana@demo.vizdots.dev")
    await say(client, ana, "resolved")  # her demo history's last blocker: now the brain's turn
    [*_, answer, apology] = bubbles(await timeline(client, ana))
    assert answer == ("member", "resolved") and "something went wrong" in apology[1]


async def test_the_open_questions_buttons_come_in_the_members_language(
    client: httpx.AsyncClient,
) -> None:
    ben = await member_id(client, "ben@demo.vizdots.dev")
    await say(client, ben, "/vizdots language de")
    [session] = (await client.get(f"/dev/api/members/{ben}/chat")).json()["sessions"]
    assert session["buttons"][-1]["label"] == "Heute überspringen"


async def test_the_page_opened_for_a_german_speaking_member_speaks_german(
    client: httpx.AsyncClient,
) -> None:
    ben = await member_id(client, "ben@demo.vizdots.dev")
    await say(client, ben, "/vizdots language de")
    page = (await client.get(f"/dev?member={ben}")).text
    assert '<html lang="de">' in page and ">Senden</button>" in page
    assert 'placeholder="Antworte, oder schreib help"' in page
    assert "Lokaler Chat. Wähle ein Mitglied" in page and '"Mitglied wählen…"' in page
    assert "Pick a member" not in page and "No member selected" not in page


async def test_a_german_speaking_members_check_ins_are_headed_in_german(
    client: httpx.AsyncClient,
) -> None:
    ben = await member_id(client, "ben@demo.vizdots.dev")
    await say(client, ben, "/vizdots language de")
    chat = (await client.get(f"/dev/api/members/{ben}/chat")).json()
    titles = [item["title"] for item in chat["timeline"] if item["kind"] == "session"]
    assert chat["language"] == "de"
    assert titles[-1] == "Tages-Check-in · 2026-11-25 · zugestellt"


async def test_the_page_without_a_member_or_for_an_unknown_one_is_english(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/dev", "/dev?member=999999"):
        page = await client.get(path)
        assert page.status_code == 200 and '<html lang="en">' in page.text
        assert ">Send</button>" in page.text


async def test_the_digests_page_speaks_the_language_of_the_member_it_is_opened_for(
    client: httpx.AsyncClient,
) -> None:
    ben = await member_id(client, "ben@demo.vizdots.dev")
    await say(client, ben, "/vizdots language fr")
    page = (await client.get(f"/dev/digests?member={ben}")).text
    assert '<html lang="fr">' in page and "<h1>Résumés d&#x27;équipe</h1>" in page
    assert f'<a href="/dev?member={ben}">Retour au chat</a>' in page
