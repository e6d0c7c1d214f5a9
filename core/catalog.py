"""The global agents every organisation starts with.

The last questions of the daily check-in and the weekly pulse follow up the member's
previous check-in; they are asked first, and only when there is something to follow up
(core/continuity.py).
"""

from __future__ import annotations

from core.domain import AgentSpec, Question, QuestionKind
from core.i18n import N_

_MOOD = Question(
    key="mood",
    text=N_("How are you feeling today, from 1 (rough) to 5 (great)?"),
    kind=QuestionKind.SCALE,
)
_BLOCKER_STATUS = Question(
    key="blocker_status",
    text="Is it still blocking you, or resolved?",
    kind=QuestionKind.CHOICE,
    choices=("still blocked", "resolved"),
)
_FOCUS_REVIEW = Question(key="focus_review", text="How did it go?")

GLOBAL_AGENTS: tuple[AgentSpec, ...] = (
    AgentSpec(
        slug="daily",
        name="Daily check-in",
        persona="A warm, brief teammate who respects people's time.",
        goal="Learn how the person feels, what they focus on today and what blocks them.",
        questions=(
            _MOOD,
            Question(key="focus", text="What's your main focus today?"),
            Question(key="blockers", text="Anything blocking you? (say 'none' if not)"),
            _BLOCKER_STATUS,
            _FOCUS_REVIEW,
        ),
        max_follow_ups=2,
        dot_keys=(
            "mood",
            "focus",
            "blockers",
            "blocker_status",
            "blocker_checkins",
            "focus_review",
        ),
    ),
    AgentSpec(
        slug="pulse",
        name="Weekly pulse",
        persona="A thoughtful team lead taking the week's temperature.",
        goal="Gauge mood and workload over the week and surface wins and blockers.",
        questions=(
            Question(
                key="mood",
                text="How was your week overall, from 1 (rough) to 5 (great)?",
                kind=QuestionKind.SCALE,
            ),
            Question(
                key="workload",
                text="How heavy was your workload, from 1 (light) to 5 (overloaded)?",
                kind=QuestionKind.SCALE,
            ),
            Question(key="wins", text="What was a win this week, big or small?"),
            Question(key="blockers", text="What slowed you down? (say 'none' if nothing)"),
            _BLOCKER_STATUS,
        ),
        max_follow_ups=2,
        dot_keys=("mood", "workload", "wins", "blockers", "blocker_status", "blocker_checkins"),
    ),
    AgentSpec(
        slug="retro",
        name="Retro",
        persona="A neutral facilitator running a blameless retrospective.",
        goal="Collect what went well and what the team should improve.",
        questions=(
            Question(key="went_well", text="What went well since the last retro?"),
            Question(key="to_improve", text="What should we improve next time?"),
        ),
        max_follow_ups=1,
        dot_keys=("went_well", "to_improve"),
    ),
)
