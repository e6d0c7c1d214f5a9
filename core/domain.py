"""Plain domain vocabulary shared by every part of VizDots: states, roles, question plans."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class PlanStatus(StrEnum):
    """Which of these deliver check-ins, and until when, is core/plan_policy.py's."""

    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"

    @property
    def is_admin(self) -> bool:
        return self in {Role.OWNER, Role.ADMIN}


class SessionState(StrEnum):
    SCHEDULED = "scheduled"
    DELIVERING = "delivering"
    DELIVERED = "delivered"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    EXPIRED = "expired"
    SKIPPED = "skipped"
    FAILED = "failed"

    @property
    def is_open(self) -> bool:
        """A member can still answer."""
        return self in {SessionState.DELIVERED, SessionState.IN_PROGRESS}


class Provider(StrEnum):
    DEV = "dev"
    SLACK = "slack"
    TEAMS = "teams"
    EMAIL = "email"


class QuestionKind(StrEnum):
    SCALE = "scale"
    TEXT = "text"
    CHOICE = "choice"


class Speaker(StrEnum):
    AGENT = "agent"
    MEMBER = "member"


class ParticipantsKind(StrEnum):
    EVERYONE = "everyone"
    LISTED = "listed"


@dataclass(frozen=True, slots=True)
class Question:
    """One step of an agent's plan; `key` is the dot it fills."""

    key: str
    text: str
    kind: QuestionKind = QuestionKind.TEXT
    choices: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"key": self.key, "text": self.text, "kind": self.kind.value}
        if self.choices:
            data["choices"] = list(self.choices)
        return data

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Question:
        choices = data.get("choices") or ()
        return cls(
            key=str(data["key"]),
            text=str(data["text"]),
            kind=QuestionKind(str(data.get("kind", "text"))),
            choices=tuple(str(c) for c in choices),  # type: ignore[attr-defined]
        )


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """What an agent is, independent of how it is stored."""

    slug: str
    name: str
    persona: str
    goal: str
    questions: tuple[Question, ...]
    max_follow_ups: int = 2
    dot_keys: tuple[str, ...] = field(default=())
