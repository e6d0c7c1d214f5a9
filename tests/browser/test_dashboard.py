"""The dots dashboard in headless Chromium at phone size (390×844), opened from a fresh
dashboard link for the demo team's owner: one dot per member and working day, coloured
by mood, the grid scrolling inside its section with the names kept in view.

The server is the real app (tests/browser/conftest.py) with the clock fixed on
Wednesday 2026-11-25; the screenshot goes to .ci/artifacts/browser/.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.demo import create_demo
from tests.browser.conftest import DevServer

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
#: The demo owner's last 30 days (New York), Monday to Friday: the demo schedule's days.
UNTIL = date(2026, 11, 25)
WORKDAYS = sum((UNTIL - timedelta(days=n)).weekday() < 5 for n in range(30))


async def signed_in(browser: Any, server: DevServer, see: Any) -> Any:
    page = await browser.new_page(viewport=PHONE)
    await page.goto(f"{server.url}/dev/dashboard")  # a fresh link for the demo owner
    await page.get_by_role("button", name="Open the dashboard").click()
    await see(page.locator("h1")).to_have_text("Demo Co")
    return page


async def test_the_demo_teams_dots_on_a_phone(
    dev_server: DevServer, browser: Any, see: Any, screenshots: Path
) -> None:
    await create_demo(dev_server.services)
    page = await signed_in(browser, dev_server, see)
    grid = page.locator("table.grid")
    await see(grid.locator("tbody tr")).to_have_count(6)
    days = await grid.locator("thead th[scope=col]").count() - 1
    assert days == WORKDAYS
    dots = grid.locator(".dot")
    await see(dots).to_have_count(6 * days)
    fills = await dots.evaluate_all(
        "dots => dots.filter(d => d.classList.contains('mood'))"
        ".map(d => getComputedStyle(d).backgroundColor)"
    )
    assert len(set(fills)) >= 3 and len(fills) > 6 * days // 2  # most days answered, by mood
    classes = set(await dots.evaluate_all("dots => dots.map(d => d.className)"))
    assert {"dot mood", "dot missed", "dot away"} <= classes
    first = await dots.first.get_attribute("aria-label")
    assert first is not None and first.startswith("Ana Owner, 27 Oct: ")
    await page.screenshot(path=str(screenshots / "dashboard-phone.png"), full_page=True)
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    scroller = page.locator(".scroll").first
    assert await scroller.evaluate("s => s.scrollWidth > s.clientWidth")  # scrolls inside
    name = grid.locator("th[scope=row]").first
    assert await name.evaluate("n => getComputedStyle(n).position") == "sticky"
    await page.keyboard.press("Tab")
    for _ in range(12):
        focused = await page.evaluate("document.activeElement.className")
        if focused.startswith("dot"):
            break
        await page.keyboard.press("Tab")
    assert focused.startswith("dot")  # the dots are reached by keyboard
    assert "Chitra Rao" in await page.locator(".alerts").inner_text()
