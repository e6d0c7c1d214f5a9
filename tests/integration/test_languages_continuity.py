"""Continuity in the member's language: yesterday's blocker recalled in German, in the
member's own words, and the answer typed as a German label stored as the canonical one."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.scripted_brain import ScriptedBrain
from tests.fakes.channel import FakeChannel
from tests.fakes.clock import FakeClock
from tests.fakes.core_parts import core_parts
from tests.fakes.world import add_member, add_org
from tests.integration.test_continuity import ANA, DAY_ONE, Days

BLOCKER = "Warte auf die Rechtsabteilung"


@pytest.fixture
async def days(engine: AsyncEngine) -> AsyncIterator[Days]:
    channel, clock = FakeChannel(), FakeClock(DAY_ONE)
    parts = core_parts(engine, ScriptedBrain(), channel, clock)
    async with parts.sessions.begin() as db:
        org = await add_org(db, plan_status="active")
        await add_member(db, org, ANA, language="de")
    yield Days(parts, channel, clock)


async def test_yesterdays_blocker_is_recalled_in_german_in_the_members_words(days: Days) -> None:
    await days.next_checkin()
    await days.say("vier", "Den Vertrag fertig machen", BLOCKER)
    days.tomorrow()
    _session_id, opening = await days.next_checkin()
    assert opening == (
        "Hi Ana! Zeit für deinen Tages-Check-in.\n"
        f"Letztes Mal hast du einen Blocker erwähnt: „{BLOCKER}“.\n"
        "Blockiert dich das noch, oder ist es gelöst?"
    )
    buttons = [b.label for b in days.channel.sent[-1][1].buttons]
    assert buttons == ["noch blockiert", "gelöst", "Heute überspringen"]


async def test_a_label_typed_in_german_is_stored_as_the_canonical_choice(days: Days) -> None:
    await days.next_checkin()
    await days.say("vier", "Den Vertrag fertig machen", BLOCKER)
    days.tomorrow()
    session_id, _opening = await days.next_checkin()
    await days.say("noch blockiert", "drei", "Den Vertrag fertig machen")
    dots = await days.dots(session_id)
    assert dots["blocker_status"] == "still blocked" and dots["blockers"] == BLOCKER
    assert dots["blocker_checkins"] == 2.0 and dots["mood"] == 3.0
