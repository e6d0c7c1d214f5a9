"""The scripted brain: the plan in order, then rule-based dots and a summary."""

from __future__ import annotations

from core.catalog import GLOBAL_AGENTS
from core.ports import BrainInput
from core.scripted_brain import ScriptedBrain

DAILY = next(a for a in GLOBAL_AGENTS if a.slug == "daily")


def given(state: dict) -> BrainInput:
    return BrainInput(DAILY, "Ana", (), state, org_id=1, session_id=1)


async def test_opening_greets_by_name_and_asks_the_first_question() -> None:
    reply = await ScriptedBrain().opening(given({}))
    assert reply.text.startswith("Hi Ana!") and reply.question == DAILY.questions[0]
    assert reply.state["pending"] == "mood"


async def test_the_next_unanswered_question_is_asked() -> None:
    reply = await ScriptedBrain().respond(given({"answers": {"mood": 3}, "pending": "mood"}))
    assert reply.question is not None and reply.question.key == "focus" and not reply.done


async def test_the_last_answer_ends_with_dots_and_a_summary() -> None:
    answers = {"mood": 2, "focus": "Hiring", "blockers": "Nope"}
    reply = await ScriptedBrain().respond(given({"answers": answers, "pending": "blockers"}))
    assert reply.done and reply.dots == {"mood": 2.0, "focus": "Hiring", "blockers": "none"}
    assert reply.summary == "Mood: 2/5; focus: Hiring; blockers: none."
