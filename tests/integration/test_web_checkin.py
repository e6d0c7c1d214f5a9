"""The browser check-in page and one-click unsubscribe over HTTP: an email-only member
answers through the same inbox and engine as the chats; bad links change nothing."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from bot.bootstrap import Services, build_services
from bot.settings import load_settings
from core.store.models import (
    AuditEntry,
    CheckinSession,
    Dot,
    InboundEvent,
    Member,
    Message,
    OutboxMessage,
)
from tests.fakes.clock import FakeClock
from tests.fakes.demo_app import demo_client
from tests.fakes.world import outbox_settled

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
SECRET = "link-secret-for-the-tests-0123456789"
BEN = "ben@demo.vizdots.dev"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def services(db_url: str, clock: FakeClock) -> Services:
    """No chat configured and no dev chat: the demo team is reached by email only."""
    settings = load_settings(database_url=db_url, link_signing_secret=SECRET)
    return build_services(settings, clock=clock, loop_interval=None, dev_chat=False)


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with demo_client(services) as client:
        yield client


async def ben(services: Services) -> tuple[int, int]:
    """Ben's member id and his open check-in."""
    async with services.sessions() as db:
        member = await db.scalar(select(Member).where(Member.email == BEN))
        assert member is not None
        session_id = await services.conversations.open_session_of(db, member, NOW)
    assert session_id is not None
    return member.id, session_id


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def nonces(page: str) -> list[str]:
    return re.findall(r'name="nonce" value="([^"]+)"', page)


def buttons(page: str) -> dict[str, str]:
    """Button label → value."""
    return {
        label: value for value, label in re.findall(r'name="choice" value="([^"]+)">([^<]+)<', page)
    }


async def count(services: Services, model: type, *where: object) -> int:
    async with services.sessions() as db:
        return int(await db.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def post_turn(client: httpx.AsyncClient, page_path: str, **form: str) -> httpx.Response:
    page = (await client.get(page_path)).text
    nonce = nonces(page)[-1 if "text" in form else 0]
    return await client.post(f"{page_path}/say", data={"nonce": nonce, **form})


async def follow_up_previous(client: httpx.AsyncClient, page_path: str) -> None:
    """Answer the opening's follow-up of Ben's previous (demo history) check-in: a blocker
    resolved, or the planned focus gone well."""
    page = (await client.get(page_path)).text
    resolved = buttons(page).get("resolved")
    said = {"choice": resolved} if resolved else {"text": "went well"}
    assert (await post_turn(client, page_path, **said)).status_code == 303


async def test_an_email_member_completes_a_check_in_on_the_page(
    client: httpx.AsyncClient, services: Services
) -> None:
    member_id, session_id = await ben(services)
    async with services.sessions() as db:
        assert (await db.get_one(CheckinSession, session_id)).channel == "email"
    page_path = path_of(services.links.checkin(member_id=member_id, session_id=session_id))
    first = await client.get(page_path)
    assert first.status_code == 200 and first.headers["referrer-policy"] == "no-referrer"
    assert "Skip today" in buttons(first.text) and "<script" not in first.text

    await follow_up_previous(client, page_path)
    mood = (await client.get(page_path)).text
    pressed = await post_turn(client, page_path, choice=buttons(mood)["4 🙂"])
    assert pressed.status_code == 303 and pressed.headers["location"] == page_path
    for answer in ("Shipping the <b>release</b>", "none"):
        assert (await post_turn(client, page_path, text=answer)).status_code == 303

    done = (await client.get(page_path)).text
    assert "Done — thank you!" in done and "<textarea" not in done
    assert "Shipping the &lt;b&gt;release&lt;/b&gt;" in done and "<b>release" not in done
    async with services.sessions() as db:
        session = await db.get_one(CheckinSession, session_id)
        rows = await db.execute(select(Dot.key, Dot.num_value).where(Dot.session_id == session_id))
        dots = {key: value for key, value in rows}
    assert session.state == "completed" and dots["mood"] == 4.0
    events = InboundEvent.provider == "email"
    processed = (events, InboundEvent.processed_at.is_not(None))
    assert await count(services, InboundEvent, *processed) == 4  # the follow-up, then three
    await outbox_settled(services.sessions)  # the app's own sender loop may hold a reply
    assert await count(services, OutboxMessage, OutboxMessage.status != "sent") == 0


async def test_a_double_submit_is_one_turn(client: httpx.AsyncClient, services: Services) -> None:
    member_id, session_id = await ben(services)
    page_path = path_of(services.links.checkin(member_id=member_id, session_id=session_id))
    await follow_up_previous(client, page_path)  # one turn and its reply
    page = (await client.get(page_path)).text
    form = {"nonce": nonces(page)[0], "choice": buttons(page)["3 😐"]}
    for _ in range(2):
        assert (await client.post(f"{page_path}/say", data=form)).status_code == 303
    member_turns = (Message.session_id == session_id, Message.speaker == "member")
    assert await count(services, Message, *member_turns) == 2
    assert await count(services, Message, Message.session_id == session_id) == 5


async def test_expired_tampered_and_misused_links_change_nothing(
    client: httpx.AsyncClient, services: Services, clock: FakeClock
) -> None:
    member_id, session_id = await ben(services)
    good = path_of(services.links.checkin(member_id=member_id, session_id=session_id))
    nonce = nonces((await client.get(good)).text)[-1]
    unsubscribe = path_of(services.links.unsubscribe(member_id=member_id))
    bad = {
        good[:-2] + ("AA" if not good.endswith("AA") else "BB"): 403,
        "/checkin/" + unsubscribe.rsplit("/", 1)[1]: 403,
        "/checkin/nonsense": 403,
    }
    for path, status in bad.items():
        assert (await client.get(path)).status_code == status, path
        posted = await client.post(f"{path}/say", data={"nonce": nonce, "text": "4"})
        assert posted.status_code == status and "not valid" in posted.text
    clock.advance(timedelta(hours=72, minutes=1))
    expired = await client.post(f"{good}/say", data={"nonce": nonce, "text": "4"})
    assert expired.status_code == 410 and "expired" in expired.text
    assert (await client.get(good)).status_code == 410
    assert await count(services, InboundEvent) == 0
    assert await count(services, Message, Message.speaker == "member") == 0


async def test_a_closed_check_in_takes_no_answer(
    client: httpx.AsyncClient, services: Services
) -> None:
    member_id, session_id = await ben(services)
    page_path = path_of(services.links.checkin(member_id=member_id, session_id=session_id))
    nonce = nonces((await client.get(page_path)).text)[-1]
    async with services.sessions.begin() as db:
        (await db.get_one(CheckinSession, session_id)).state = "expired"
    refused = await client.post(f"{page_path}/say", data={"nonce": nonce, "text": "4"})
    assert refused.status_code == 409
    assert "has closed" in (await client.get(page_path)).text
    assert await count(services, InboundEvent) == 0


async def test_a_malformed_post_is_400(client: httpx.AsyncClient, services: Services) -> None:
    member_id, session_id = await ben(services)
    page_path = path_of(services.links.checkin(member_id=member_id, session_id=session_id))
    nonce = nonces((await client.get(page_path)).text)[-1]
    for form in ({"text": "4"}, {"nonce": "short", "text": "4"}, {"nonce": nonce, "text": " "}):
        assert (await client.post(f"{page_path}/say", data=form)).status_code == 400, form
    assert await count(services, InboundEvent) == 0


async def test_unsubscribe_get_changes_nothing_and_post_opts_out_once(
    client: httpx.AsyncClient, services: Services
) -> None:
    member_id, _session = await ben(services)
    path = path_of(services.links.unsubscribe(member_id=member_id))
    audits = (AuditEntry.action == "member.email",)
    shown = await client.get(path)
    assert shown.status_code == 200 and 'method="post"' in shown.text
    async with services.sessions() as db:
        assert (await db.get_one(Member, member_id)).email_opt_out is False
    assert await count(services, AuditEntry, *audits) == 0

    for _ in range(2):  # a mail client's one-click, then the page's button: 200 both
        done = await client.post(path, data={"List-Unsubscribe": "One-Click"})
        assert done.status_code == 200 and "no more" in done.text
    async with services.sessions() as db:
        assert (await db.get_one(Member, member_id)).email_opt_out is True
    assert await count(services, AuditEntry, *audits) == 1


async def test_a_bad_unsubscribe_link_changes_nothing(
    client: httpx.AsyncClient, services: Services, clock: FakeClock
) -> None:
    member_id, session_id = await ben(services)
    checkin_token = path_of(services.links.checkin(member_id=member_id, session_id=session_id))
    good = path_of(services.links.unsubscribe(member_id=member_id))
    for path in ("/email/unsubscribe/x" + good[-20:], "/email/unsubscribe/" + checkin_token[9:]):
        assert (await client.post(path)).status_code == 403
    clock.advance(timedelta(days=61))
    assert (await client.post(good)).status_code == 410
    async with services.sessions() as db:
        assert (await db.get_one(Member, member_id)).email_opt_out is False


async def test_the_routes_are_described_in_the_openapi_schema(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path, method in [
        ("/checkin/{token}", "get"),
        ("/checkin/{token}/say", "post"),
        ("/email/unsubscribe/{token}", "get"),
        ("/email/unsubscribe/{token}", "post"),
        ("/api/email/ses-events", "post"),
    ]:
        operation = paths[path][method]
        assert operation["summary"] and "Auth" in operation["description"]
