"""An email-only member answers a check-in through the signed link, in headless Chromium.

The server has no chat at all (tests/browser/conftest.py, `email_server`): the check-in
is on the email path, and the page is the member's only way to answer.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.demo import create_demo
from core.store.models import CheckinSession, Dot, Member
from tests.browser.conftest import DevServer

pytestmark = pytest.mark.browser

PHONE = {"width": 400, "height": 800}


async def checkin_link(server: DevServer, email: str) -> str:
    """The link a reminder email would carry, pointed at the test server."""
    services = server.services
    async with services.sessions() as db:
        member = await db.scalar(select(Member).where(Member.email == email))
        assert member is not None
        session_id = await services.conversations.open_session_of(db, member, server.clock.now())
        assert session_id is not None
        assert (await db.get_one(CheckinSession, session_id)).channel == "email"
    url = services.links.checkin(member_id=member.id, session_id=session_id)
    return server.url + "/checkin/" + url.rsplit("/", 1)[1]


async def answered(page: Any, see: Any, act: Any) -> None:
    """Do `act` and wait for two new bubbles: the member's turn and the reply."""
    bubbles = page.locator(".bubble")
    before = await bubbles.count()
    await act()
    await see(bubbles).to_have_count(before + 2)


async def send(page: Any, line: str) -> None:
    await page.get_by_label("Your answer").fill(line)
    await page.get_by_role("button", name="Send").click()


async def follow_up_previous(page: Any, see: Any) -> str:
    """Answer the opening's follow-up of the previous check-in (a blocker: resolved; else
    the focus: how it went); what the member said."""
    opening = await page.locator(".bubble").first.inner_text()
    assert "Last time you" in opening, opening
    if "blocker" in opening:
        await answered(page, see, page.get_by_role("button", name="resolved").click)
        return "resolved"
    await answered(page, see, lambda: send(page, "went well"))
    return "went well"


async def test_an_email_member_completes_a_check_in_from_the_link(
    email_server: DevServer, browser: Any, see: Any, screenshots: Path
) -> None:
    await create_demo(email_server.services)
    link = await checkin_link(email_server, "ben@demo.vizdots.dev")
    page = await browser.new_page(viewport=PHONE)
    await page.goto(link)
    await see(page.get_by_role("button", name="Skip today")).to_be_visible()
    await page.screenshot(path=screenshots / "email-check-in-phone.png", full_page=True)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the page scrolls sideways at 400 px"

    follow_up = await follow_up_previous(page, see)  # Ben has a month of history
    await answered(page, see, page.get_by_role("button", name="4 🙂").click)
    for line in ("<b>x</b> and the release", "none"):
        await answered(page, see, lambda line=line: send(page, line))

    await see(page.get_by_role("status")).to_contain_text("Done — thank you!")
    shown = await page.locator(".member-turn").all_inner_texts()
    turns = [text.strip().removeprefix("You:").strip() for text in shown]  # "You:" for readers
    assert turns == [follow_up, "4 🙂", "<b>x</b> and the release", "none"]
    assert await page.locator(".bubble b").count() == 0  # the member's words, never markup
    assert await page.get_by_role("button").count() == 0
    await page.screenshot(path=screenshots / "email-check-in-done.png", full_page=True)

    async with email_server.services.sessions() as db:
        newest = select(Dot.num_value).where(Dot.key == "mood").order_by(Dot.id.desc())
        mood = await db.scalar(newest.limit(1))  # after the demo team's history
    assert mood == 4.0


async def test_an_expired_link_shows_a_clear_page(
    email_server: DevServer, browser: Any, see: Any
) -> None:
    await create_demo(email_server.services)
    link = await checkin_link(email_server, "ben@demo.vizdots.dev")
    email_server.clock.advance(timedelta(hours=73))
    page = await browser.new_page(viewport=PHONE)
    response = await page.goto(link)
    assert response is not None and response.status == 410
    await see(page.get_by_role("heading")).to_have_text("This link has expired")
    tampered = await page.goto(link[:-3] + "xyz")
    assert tampered is not None and tampered.status == 403
    await see(page.get_by_role("heading")).to_have_text("This link is not valid")
