"""How an agent turn becomes an OutgoingMessage: question buttons and their values.

Button labels are in the current language (core/i18n.py); a choice button's value keeps
the canonical choice, so what is stored does not depend on the member's language.

A button's value carries the session and question it answers, so a late or second
press on an old message is recognised and cannot answer twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.catalog import shown
from core.domain import Question, QuestionKind
from core.i18n import N_, _
from core.ports import Button, OutgoingMessage

SKIP = "__skip__"
SCALE_LABELS = ("1 😫", "2 😕", "3 😐", "4 🙂", "5 😄")
SKIP_TODAY = N_("Skip today")


@dataclass(frozen=True, slots=True)
class Choice:
    session_id: int
    question_key: str
    value: str

    @property
    def is_skip(self) -> bool:
        return self.question_key == SKIP


def encode_choice(session_id: int, question_key: str, value: str) -> str:
    return f"{session_id}:{question_key}:{value}"


def decode_choice(raw: str) -> Choice | None:
    parts = raw.split(":", 2)
    if len(parts) != 3 or not parts[0].isdigit():
        return None
    return Choice(session_id=int(parts[0]), question_key=parts[1], value=parts[2])


def question_buttons(session_id: int, question: Question | None) -> tuple[Button, ...]:
    if question is None:
        return ()
    if question.kind is QuestionKind.SCALE:
        options = [(label, str(n)) for n, label in enumerate(SCALE_LABELS, start=1)]
    elif question.kind is QuestionKind.CHOICE:
        options = [(shown(choice), choice) for choice in question.choices]
    else:
        options = []
    buttons = [Button(label, encode_choice(session_id, question.key, v)) for label, v in options]
    buttons.append(Button(_(SKIP_TODAY), encode_choice(session_id, SKIP, "skip")))
    return tuple(buttons)


def agent_message(session_id: int, text: str, question: Question | None) -> OutgoingMessage:
    return OutgoingMessage(
        text=text, buttons=question_buttons(session_id, question), session_id=session_id
    )


def answered(text: str, shown_answer: str) -> OutgoingMessage:
    """The question as it reads once answered: buttons gone, the choice shown."""
    return OutgoingMessage(text=f"{text}\n✅ {shown_answer}")
