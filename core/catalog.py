"""The global agents every organisation starts with.

Their names, questions and choice labels are marked for translation and shown in the
member's language (`spoken`); what is stored stays language-neutral: dot keys, and the
canonical (English) value of a choice. Org-made agents are shown as the org wrote them.

The last questions of the daily check-in and the weekly pulse follow up the member's
previous check-in; they are asked first, and only when there is something to follow up
(core/continuity.py).
"""

from __future__ import annotations

from dataclasses import replace

from core.domain import AgentSpec, Question, QuestionKind
from core.i18n import N_, _
from core.ports import BrainInput

_MOOD = Question(
    key="mood",
    text=N_("How are you feeling today, from 1 (rough) to 5 (great)?"),
    kind=QuestionKind.SCALE,
)
_BLOCKER_STATUS = Question(
    key="blocker_status",
    text=N_("Is it still blocking you, or resolved?"),
    kind=QuestionKind.CHOICE,
    choices=(N_("still blocked"), N_("resolved")),
)
_FOCUS_REVIEW = Question(key="focus_review", text=N_("How did it go?"))

GLOBAL_AGENTS: tuple[AgentSpec, ...] = (
    AgentSpec(
        slug="daily",
        name=N_("Daily check-in"),
        persona="A warm, brief teammate who respects people's time.",
        goal="Learn how the person feels, what they focus on today and what blocks them.",
        questions=(
            _MOOD,
            Question(key="focus", text=N_("What's your main focus today?")),
            Question(key="blockers", text=N_("Anything blocking you? (say 'none' if not)")),
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
        name=N_("Weekly pulse"),
        persona="A thoughtful team lead taking the week's temperature.",
        goal="Gauge mood and workload over the week and surface wins and blockers.",
        questions=(
            Question(
                key="mood",
                text=N_("How was your week overall, from 1 (rough) to 5 (great)?"),
                kind=QuestionKind.SCALE,
            ),
            Question(
                key="workload",
                text=N_("How heavy was your workload, from 1 (light) to 5 (overloaded)?"),
                kind=QuestionKind.SCALE,
            ),
            Question(key="wins", text=N_("What was a win this week, big or small?")),
            Question(key="blockers", text=N_("What slowed you down? (say 'none' if nothing)")),
            _BLOCKER_STATUS,
        ),
        max_follow_ups=2,
        dot_keys=("mood", "workload", "wins", "blockers", "blocker_status", "blocker_checkins"),
    ),
    AgentSpec(
        slug="retro",
        name=N_("Retro"),
        persona="A neutral facilitator running a blameless retrospective.",
        goal="Collect what went well and what the team should improve.",
        questions=(
            Question(key="went_well", text=N_("What went well since the last retro?")),
            Question(key="to_improve", text=N_("What should we improve next time?")),
        ),
        max_follow_ups=1,
        dot_keys=("went_well", "to_improve"),
    ),
)


#: Every text of the built-in agents a member sees (names, questions, choice labels).
BUILT_IN_TEXTS = frozenset(
    text
    for agent in GLOBAL_AGENTS
    for text in (
        agent.name,
        *(q.text for q in agent.questions),
        *(c for q in agent.questions for c in q.choices),
    )
)


def shown(text: str) -> str:
    """A built-in agent's text in the current language; an org's own text as written."""
    return _(text) if text in BUILT_IN_TEXTS else text


def spoken(agent: AgentSpec) -> AgentSpec:
    """`agent` as the member reads it: name and questions in the current language (the
    keys, kinds and canonical choice values stay)."""
    questions = tuple(replace(q, text=shown(q.text)) for q in agent.questions)
    return replace(agent, name=shown(agent.name), questions=questions)


def spoken_input(given: BrainInput) -> BrainInput:
    """What a brain works from, its agent in the current language."""
    return replace(given, agent=spoken(given.agent))
