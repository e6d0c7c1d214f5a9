"""What a check-in follows up from the previous one, and the plan it makes (pure rules)."""

from __future__ import annotations

from core.catalog import GLOBAL_AGENTS
from core.continuity import carry_blocker, engine_dots, plan_for, recall_from, with_recall
from core.ports import BrainInput, Recall
from core.scripted_brain import ScriptedBrain

DAILY = next(a for a in GLOBAL_AGENTS if a.slug == "daily")
BLOCKER = "Waiting on legal for the vendor contract"


def test_a_reported_blocker_is_recalled_as_open_for_one_check_in() -> None:
    dots = {"mood": 3.0, "focus": "Roadmap", "blockers": BLOCKER}
    assert recall_from(dots) == Recall(blocker=BLOCKER, blocker_checkins=1)


def test_a_blocker_still_open_carries_its_count_on() -> None:
    dots = {"blockers": BLOCKER, "blocker_status": "still blocked", "blocker_checkins": 3.0}
    assert recall_from(dots) == Recall(blocker=BLOCKER, blocker_checkins=3)


def test_without_a_blocker_the_focus_is_recalled_and_nothing_when_neither() -> None:
    assert recall_from({"focus": "Roadmap", "blockers": "none"}) == Recall(focus="Roadmap")
    assert recall_from({"mood": 4.0, "focus": "n/a", "blockers": "Nope."}) is None


def test_the_plan_asks_the_follow_up_first_and_leaves_the_other_out() -> None:
    blocked = plan_for(DAILY, Recall(blocker=BLOCKER, blocker_checkins=1))
    assert [q.key for q in blocked.questions] == ["blocker_status", "mood", "focus", "blockers"]
    assert "focus_review" not in blocked.dot_keys and "blocker_checkins" not in blocked.dot_keys
    fresh = plan_for(DAILY, None)
    assert [q.key for q in fresh.questions] == ["mood", "focus", "blockers"]


def test_still_blocked_keeps_the_blocker_and_counts_one_more_check_in() -> None:
    state = with_recall({}, Recall(blocker=BLOCKER, blocker_checkins=2))
    state = carry_blocker({**state, "answers": {"blocker_status": "still blocked"}})
    assert state["answers"]["blockers"] == BLOCKER
    assert engine_dots(state) == {"blocker_checkins": 3.0}


def test_resolved_counts_the_check_ins_the_blocker_lasted() -> None:
    state = with_recall({}, Recall(blocker=BLOCKER, blocker_checkins=2))
    state = carry_blocker({**state, "answers": {"blocker_status": "resolved"}})
    assert "blockers" not in state["answers"] and engine_dots(state) == {"blocker_checkins": 2.0}


async def test_the_scripted_opening_recalls_the_blocker_and_asks_about_it() -> None:
    recall = Recall(blocker=BLOCKER, blocker_checkins=1)
    given = BrainInput(DAILY, "Ana", (), with_recall({}, recall), 1, 1, recall=recall)
    reply = await ScriptedBrain().opening(given)
    assert reply.text == (
        "Hi Ana! Time for your daily check-in.\n"
        f"Last time you mentioned a blocker: “{BLOCKER}”.\n"
        "Is it still blocking you, or resolved?"
    )
    assert reply.question is not None and reply.question.choices == ("still blocked", "resolved")
