"""The dashboard page per group: one dot per member and day at five people, only
anonymous aggregates at four; the period asked for (bad dates are a 400 page);
alerts; and never another organisation's people."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from bot.app import create_app
from bot.bootstrap import Services, build_services
from bot.settings import load_settings
from core.domain import Provider
from core.inbound import CommandRequest, Sender
from core.store.models import AuditEntry, Installation
from tests.fakes.clock import FakeClock
from tests.fakes.group_world import NAMES, NOW, UNTIL, Group, build_group

BASE = "https://vizdots.example"
DOT = re.compile(r'<span class="dot [a-z]+" tabindex="0" role="img" aria-label="([^"]+)"')


@dataclass
class World:
    services: Services
    web: httpx.AsyncClient

    async def sign_in(self, group: Group) -> None:
        """Sign the group's owner (Ana) in through a dashboard link."""
        sender = Sender(Provider.SLACK, f"T{group.org_id}", f"U{group.slug}ana")
        reply = await self.services.run_command(CommandRequest(sender=sender, text="dashboard"))
        found = re.search(r"https://\S+", reply)
        assert found is not None, reply
        assert (await self.web.post(found.group().removeprefix(BASE))).status_code == 303

    async def group(self, people: int, slug: str = "acme") -> Group:
        group = await build_group(self.services.sessions, people=people, slug=slug)
        async with self.services.sessions.begin() as db:
            db.add(Installation(org_id=group.org_id, provider="slack",
                                external_id=f"T{group.org_id}"))  # fmt: skip
        return group


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[World]:
    settings = load_settings(database_url=db_url, link_signing_secret="s" * 32, app_base_url=BASE)
    services = build_services(settings, clock=FakeClock(NOW), loop_interval=None)
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as web:
        yield World(services, web)
    await services.close()


async def answered(group: Group, people: int) -> None:
    """Each person answers the last three days; Ben names the same blocker each time."""
    for offset in range(3):
        day = UNTIL - timedelta(days=offset)
        for n, who in enumerate(NAMES[:people]):
            blocker = "waiting on legal" if who == "Ben" else "none"
            await group.check_in(
                who, day, mood=float(1 + n % 5), summary=f"{who} is fine", blocker=blocker
            )


async def test_a_group_of_five_shows_each_persons_dots_blockers_and_summaries(
    world: World,
) -> None:
    group = await world.group(5)
    await answered(group, 5)
    await world.sign_in(group)
    page = await world.web.get("/dashboard", params={"since": "2026-11-19", "until": "2026-11-25"})
    assert page.status_code == 200
    labels = DOT.findall(page.text)
    assert len(labels) == 5 * 7  # five people, seven days
    assert "Ben Acme, 25 Nov: mood 2" in labels and "Eli Acme, 19 Nov: no check-in" in labels
    assert "waiting on legal" in page.text and "Cy is fine" in page.text
    assert "Repeated blocker:</strong> Ben Acme" in page.text
    assert "Individual answers are hidden" not in page.text


async def test_a_group_of_four_shows_counts_and_averages_but_no_one(world: World) -> None:
    group = await world.group(4)
    await answered(group, 4)
    await world.sign_in(group)
    page = await world.web.get("/dashboard")
    assert page.status_code == 200
    assert DOT.findall(page.text) == []
    assert "this group has 4 people, fewer than 5" in page.text
    for personal in ("Ben Acme", "Cy Acme", "waiting on legal", "is fine"):
        assert personal not in page.text
    assert "A member has had the same blocker 3 check-ins in a row" in page.text
    assert "<td>25 Nov</td><td>4</td><td>2.5</td>" in page.text  # the day's average


async def test_the_default_period_is_the_last_30_days_in_the_viewers_zone(world: World) -> None:
    group = await world.group(5)
    await world.sign_in(group)
    page = await world.web.get("/dashboard")
    assert 'name="since" value="2026-10-27"' in page.text
    assert 'name="until" value="2026-11-25"' in page.text
    assert len(DOT.findall(page.text)) == 5 * 30


@pytest.mark.parametrize(
    ("since", "until", "says"),
    [
        ("yesterday", "2026-11-25", "must be a date"),
        ("2026-11-25", "2026-11-01", "start date is after the end date"),
        ("2026-08-01", "2026-11-25", "at most 92 days"),
    ],
)
async def test_bad_dates_are_a_400_page(world: World, since: str, until: str, says: str) -> None:
    group = await world.group(5)
    await world.sign_in(group)
    for path in ("/dashboard", "/dashboard/dots.csv"):
        refused = await world.web.get(path, params={"since": since, "until": until})
        assert refused.status_code == 400 and says in refused.text
    async with world.services.sessions() as db:
        exports = select(func.count()).where(AuditEntry.action == "dots.export")
        assert await db.scalar(exports) == 0


async def test_the_csv_holds_the_chosen_period(world: World) -> None:
    group = await world.group(5)
    await answered(group, 5)
    await world.sign_in(group)
    export = await world.web.get(
        "/dashboard/dots.csv", params={"since": "2026-11-24", "until": "2026-11-25"}
    )
    assert export.status_code == 200
    assert [line.split(",")[1] for line in export.text.strip().splitlines()[1:]] == [
        "2026-11-24", "2026-11-25",
    ]  # fmt: skip


async def test_another_orgs_people_never_show(world: World) -> None:
    acme = await world.group(5)
    rival = await world.group(5, slug="rival")
    await answered(rival, 5)
    await world.sign_in(acme)
    page = await world.web.get("/dashboard")
    assert "Rival" not in page.text and "waiting on legal" not in page.text
    assert all(label.startswith(NAMES) and "Acme" in label for label in DOT.findall(page.text))


async def test_a_mood_drop_week_over_week_is_an_alert_on_the_page(world: World) -> None:
    group = await world.group(5)
    for offset in range(14):
        for who in NAMES[:5]:
            mood = 2.0 if offset < 7 else 4.0
            await group.check_in(who, UNTIL - timedelta(days=offset), mood=mood)
    await world.sign_in(group)
    page = await world.web.get("/dashboard")
    assert "Mood drop:</strong> Mood fell from 4.0 to 2.0 week over week" in page.text
