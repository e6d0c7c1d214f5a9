"""The /dev page in headless Chromium, asserting what a person would see.

The server is the real app (tests/browser/conftest.py) with the clock fixed on
Wednesday 2026-11-25; screenshots go to .ci/artifacts/browser/.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from bot.demo import create_demo
from core.store.models import Member
from tests.browser.conftest import DevServer

pytestmark = pytest.mark.browser

PHONE = {"width": 400, "height": 800}
DESKTOP = {"width": 1100, "height": 800}


async def open_chat(browser: Any, server: DevServer, viewport: dict[str, int]) -> Any:
    page = await browser.new_page(viewport=viewport)
    await page.goto(f"{server.url}/dev")
    return page


async def said(page: Any, see: Any, act: Any) -> None:
    """Do `act` (type a line or press a button) and wait for exactly two new bubbles:
    the member's words, then the answer. More would be a duplicate."""
    bubbles = page.locator("#log .bubble")
    before = await bubbles.count()
    await act()
    await see(bubbles).to_have_count(before + 2)
    await see(page.locator("#text")).to_be_enabled()


async def type_line(page: Any, see: Any, text: str) -> None:
    async def act() -> None:
        await page.fill("#text", text)
        await page.press("#text", "Enter")

    await said(page, see, act)


async def press(page: Any, see: Any, label_start: str) -> None:
    button = page.locator("#log .buttons button", has_text=label_start).first
    await said(page, see, button.click)


async def follow_up_previous(page: Any, see: Any) -> str:
    """Answer the opening's follow-up of the previous check-in (a blocker: still there or
    resolved; else the focus: how it went); what the member said."""
    opening = await page.inner_text("#log .bubble")
    assert "Last time you" in opening, opening
    if "blocker" in opening:
        await press(page, see, "resolved")
        return "resolved"
    await type_line(page, see, "went well")
    return "went well"


async def texts(page: Any, selector: str) -> list[str]:
    return [text.strip() for text in await page.locator(selector).all_inner_texts()]


async def test_a_check_in_by_buttons_and_typing_then_typed_commands(
    dev_server: DevServer, browser: Any, see: Any, screenshots: Path
) -> None:
    await create_demo(dev_server.services)
    page = await open_chat(browser, dev_server, DESKTOP)
    await page.locator(".member", has_text="Ben Berlin").click()
    await see(page.locator("#log .bubble")).to_have_count(1)
    follow_up = await follow_up_previous(page, see)  # Ben has a month of history
    await press(page, see, "4")
    for line in ("<b>x</b> and PRs", "none", "help", "schedule show", "thanks"):
        await type_line(page, see, line)
    await page.screenshot(path=screenshots / "check-in-desktop.png", full_page=True)

    typed = [follow_up, "4", "<b>x</b> and PRs", "none", "help", "schedule show", "thanks"]
    assert await texts(page, "#log .member-turn") == typed
    shown = await texts(page, "#log .bubble")
    assert len(shown) == len(set(shown)), shown  # no bubble twice
    assert "You've had today's check-in already" in shown[-1] and "next check-in" in shown[-1]
    assert await page.locator("#log .buttons").count() == 0
    assert await page.locator("#log strong, #log code").count() >= 1
    log = await page.inner_text("#log")
    assert "**" not in log and "`" not in log and await page.locator("#log b").count() == 0

    await page.reload()  # the timeline is the server's: the same after a reload
    await see(page.locator("#log .bubble")).to_have_count(len(shown))
    assert await texts(page, "#log .bubble") == shown


async def test_a_skip_then_the_next_check_in_is_named_and_start_opens_one(
    dev_server: DevServer, browser: Any, see: Any, screenshots: Path
) -> None:
    await create_demo(dev_server.services)
    page = await open_chat(browser, dev_server, DESKTOP)
    await page.locator(".member", has_text="Chitra Rao").click()
    await see(page.locator("#log .buttons")).to_be_visible()
    await press(page, see, "Skip today")
    await type_line(page, see, "hello")
    assert "Your next check-in" in (await texts(page, "#log .bubble"))[-1]

    dev_server.clock.advance(timedelta(days=2))  # Friday: Wednesday's check-in is over
    await type_line(page, see, "start")
    await see(page.locator("#log h2.session")).to_have_count(2)
    await see(page.locator("#log .buttons")).to_be_visible()
    await page.screenshot(path=screenshots / "skip-and-start.png", full_page=True)
    assert await texts(page, "#log .member-turn") == ["Skip", "hello", "start"]
    shown = await texts(page, "#log .bubble")
    assert len(shown) == 7 and shown[-2] == "start" and shown[-1].startswith("Hi Chitra!")


async def test_on_a_phone_the_members_appear_without_a_reload_and_nothing_is_clipped(
    dev_server: DevServer, browser: Any, see: Any, screenshots: Path
) -> None:
    page = await open_chat(browser, dev_server, PHONE)
    await see(page.locator("#log")).to_contain_text("vizdots demo")
    await create_demo(dev_server.services)
    await see(page.locator("#log")).to_contain_text("Pick a member")  # the page polls
    await page.select_option("#pick", label="Dan Sydney · Australia/Sydney")
    await see(page.locator("#log .bubble")).to_have_count(1)
    await follow_up_previous(page, see)
    await press(page, see, "3")
    await type_line(page, see, "a-very-long-word-" * 8)
    await page.screenshot(path=screenshots / "phone-400px.png")

    width = await page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"]
    for control in ("#text", "#say button", "#pick"):
        await see(page.locator(control)).to_be_in_viewport(ratio=1)


async def test_a_german_speaking_member_gets_the_page_in_german_with_their_nudge(
    dev_server: DevServer, browser: Any, see: Any, screenshots: Path
) -> None:
    services = dev_server.services
    await create_demo(services)
    async with services.sessions.begin() as db:
        ben = update(Member).where(Member.email == "ben@demo.vizdots.dev")
        await db.execute(ben.values(language="de"))
    dev_server.clock.advance(timedelta(hours=2))  # the 14:00 slot: the silent are nudged
    assert services.reminders is not None
    assert (await services.reminders.remind(now=dev_server.clock.now())).nudged == 5
    page = await open_chat(browser, dev_server, DESKTOP)
    await page.locator(".member", has_text="Ben Berlin").click()  # reopens in German
    await see(page.locator("html")).to_have_attribute("lang", "de")
    await see(page.locator("#text")).to_have_attribute("placeholder", "Antworte, oder schreib help")
    await see(page.locator("#say button")).to_have_text("Senden")
    await see(page.locator("#log .bubble")).to_have_count(2)  # the question, then the nudge
    await page.screenshot(path=screenshots / "german-nudge.png", full_page=True)
    assert "Kleine Erinnerung" in (await texts(page, "#log .bubble"))[-1]
    await page.reload()
    await see(page.locator("#log .bubble")).to_have_count(2)
