"""The browser check-in page and the unsubscribe page in the member's language."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import update

from bot.bootstrap import Services, build_services
from bot.settings import load_settings
from core.store.models import Member
from tests.fakes.clock import FakeClock
from tests.fakes.demo_app import demo_client
from tests.integration.test_web_checkin import BEN, NOW, SECRET, ben, buttons, path_of


@pytest.fixture
def services(db_url: str) -> Services:
    """The demo team, reached by email only (as in test_web_checkin)."""
    settings = load_settings(database_url=db_url, link_signing_secret=SECRET)
    return build_services(settings, clock=FakeClock(NOW), loop_interval=None, dev_chat=False)


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with demo_client(services) as client:
        yield client


async def speaks(services: Services, language: str) -> None:
    async with services.sessions.begin() as db:
        await db.execute(update(Member).where(Member.email == BEN).values(language=language))


async def test_the_check_in_page_speaks_the_members_language(
    client: httpx.AsyncClient, services: Services
) -> None:
    await speaks(services, "pt")
    member_id, session_id = await ben(services)
    page_path = path_of(services.links.checkin(member_id=member_id, session_id=session_id))
    page = (await client.get(page_path)).text
    assert '<html lang="pt">' in page and "Pular hoje" in buttons(page)
    assert "Sua resposta" in page and ">Enviar</button>" in page


async def test_the_unsubscribe_page_speaks_the_members_language(
    client: httpx.AsyncClient, services: Services
) -> None:
    await speaks(services, "de")
    member_id, _session_id = await ben(services)
    page_path = path_of(services.links.unsubscribe(member_id=member_id))
    page = (await client.get(page_path)).text
    assert "<h1>Keine Erinnerungs-E-Mails mehr?</h1>" in page and ">Abmelden</button>" in page
    done = await client.post(page_path)
    assert "Du bekommst keine VizDots-Erinnerungs-E-Mails mehr." in done.text
