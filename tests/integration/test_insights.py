"""group_insights: a schedule's group over a period — the dots grid, participation,
mood trend, repeated blockers and alerts — and nothing per person in a group smaller
than the org's anonymity threshold."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.insights import CellState, GroupInsights, group_insights
from core.store.engine import make_sessionmaker
from core.store.models import Organization
from tests.fakes.group_world import NAMES, NOW, UNTIL, Group, build_group

SINCE = UNTIL - timedelta(days=13)
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


async def insights(group: Group, since: date = SINCE) -> GroupInsights:
    async with group.sessions() as db:
        return await group_insights(
            db, org_id=group.org_id, schedule_id=group.schedule_id, since=since, until=UNTIL,
            now=NOW,
        )  # fmt: skip


async def steady_week(group: Group, *, mood: float, last: date = UNTIL, people: int = 5) -> None:
    for offset in range(7):
        for who in NAMES[:people]:
            await group.check_in(who, last - timedelta(days=offset), mood=mood)


async def test_a_group_of_five_shows_one_cell_per_member_and_day(sessions: Sessions) -> None:
    group = await build_group(sessions, people=5)
    await group.check_in("Ana", UNTIL, mood=4.0)
    await group.check_in("Ben", UNTIL, state="expired")
    await group.check_in("Cy", UNTIL, state="skipped", note="skipped by member")
    await group.check_in("Dee", UNTIL, state="skipped", note="on vacation")
    found = await insights(group, since=UNTIL - timedelta(days=1))
    assert found.per_person_shown and found.group_size == 5 and found.hidden_note is None
    assert [len(row.cells) for row in found.members] == [2] * 5
    today = {row.member.split()[0]: row.cells[-1] for row in found.members}
    assert (today["Ana"].state, today["Ana"].mood) == (CellState.COMPLETED, 4.0)
    assert [today[n].state for n in ("Ben", "Cy", "Dee", "Eli")] == [
        CellState.MISSED, CellState.SKIPPED, CellState.VACATION, CellState.NONE,
    ]  # fmt: skip
    assert (found.completed, found.due, found.participation_rate) == (1, 3, pytest.approx(1 / 3))


async def test_a_group_of_four_shows_aggregates_but_no_one(sessions: Sessions) -> None:
    group = await build_group(sessions, people=4)
    await group.check_in("Ana", UNTIL, mood=4.0, blocker="legal", summary="Ana is fine")
    found = await insights(group)
    assert not found.per_person_shown and found.members == () and found.summaries == ()
    assert (
        found.hidden_note == "Individual answers are hidden: this group has 4 people, fewer than 5."
    )
    assert found.daily_mood[-1].average == 4.0 and dict(found.mood_distribution)[4] == 1
    assert found.mood_average == 4.0


async def test_a_lowered_threshold_shows_a_group_of_four(sessions: Sessions) -> None:
    group = await build_group(sessions, people=4)
    async with sessions.begin() as db:
        (await db.get_one(Organization, group.org_id)).anonymity_threshold = 4
    await group.check_in("Ana", UNTIL, mood=4.0, summary="Ana is fine")
    found = await insights(group)
    assert found.per_person_shown and len(found.members) == 4
    assert [s.text for s in found.summaries] == ["Ana is fine"]


async def test_a_week_over_week_mood_drop_is_flagged(sessions: Sessions) -> None:
    group = await build_group(sessions, people=5)
    await steady_week(group, mood=4.0, last=UNTIL - timedelta(days=7))
    await steady_week(group, mood=3.0)
    found = await insights(group)
    assert [(a.kind, a.message) for a in found.alerts] == [
        ("mood_drop", "Mood fell from 4.0 to 3.0 week over week (alert at a drop of 1.0).")
    ]
    assert found.daily_mood[-1].moving_average == 3.0
    assert found.daily_mood[-4].moving_average == pytest.approx((3 * 4 + 4 * 3) / 7)


async def test_a_smaller_drop_than_the_orgs_setting_is_not_flagged(sessions: Sessions) -> None:
    group = await build_group(sessions, people=5)
    await steady_week(group, mood=4.0, last=UNTIL - timedelta(days=7))
    await steady_week(group, mood=3.5)
    assert (await insights(group)).alerts == ()


async def test_a_blocker_three_check_ins_in_a_row_is_flagged_with_its_member(
    sessions: Sessions,
) -> None:
    group = await build_group(sessions, people=5)
    for offset, said in enumerate(["Waiting on legal", "waiting on  legal.", "WAITING ON LEGAL"]):
        await group.check_in("Ben", UNTIL - timedelta(days=4 - offset), blocker=said)
    found = await insights(group)
    [blocker] = found.blockers
    assert (blocker.text, blocker.member, blocker.run_length) == ("waiting on legal", "Ben Acme", 3)
    assert [a.kind for a in found.alerts] == ["repeated_blocker"]
    assert "Ben Acme" in found.alerts[0].message


async def test_a_blocker_twice_or_interrupted_is_not_flagged(sessions: Sessions) -> None:
    group = await build_group(sessions, people=5)
    for offset, said in enumerate(["legal", "legal", "none", "legal", "legal"]):
        await group.check_in("Ben", UNTIL - timedelta(days=5 - offset), blocker=said)
    for offset, said in enumerate(["none", "None", "n/a"]):
        await group.check_in("Cy", UNTIL - timedelta(days=3 - offset), blocker=said)
    found = await insights(group)
    assert found.blockers == () and found.alerts == ()


async def test_a_repeated_blocker_in_a_small_group_names_no_one(sessions: Sessions) -> None:
    group = await build_group(sessions, people=4)
    for offset in range(3):
        await group.check_in("Ben", UNTIL - timedelta(days=offset), blocker="legal")
    found = await insights(group)
    assert found.blockers == ()
    [alert] = found.alerts
    assert alert.kind == "repeated_blocker" and "A member" in alert.message
    assert "Ben" not in alert.message and "legal" not in alert.message


async def test_another_orgs_schedule_is_not_found(sessions: Sessions) -> None:
    acme = await build_group(sessions, people=5)
    rival = await build_group(sessions, people=5, slug="rival")
    async with sessions() as db:
        with pytest.raises(LookupError):
            await group_insights(db, org_id=acme.org_id, schedule_id=rival.schedule_id,
                                 since=SINCE, until=UNTIL, now=NOW)  # fmt: skip
