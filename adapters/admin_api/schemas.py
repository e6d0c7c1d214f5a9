"""Request and response bodies of the admin API (all in the OpenAPI schema)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from core.domain import QuestionKind, Role

#: One line of text without NUL (PostgreSQL refuses it in text).
Line = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")]
Prose = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=r"^[^\x00]+$")]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9_-]{0,30}[a-z0-9])?$")]
Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
Weekday = Annotated[int, Field(ge=0, le=6, description="0 = Monday … 6 = Sunday")]
RowId = Annotated[int, Field(ge=1, le=2**62)]
Item = TypeVar("Item")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PageOut(BaseModel, Generic[Item]):
    items: list[Item]
    next_cursor: int | None = Field(
        description="`cursor` for the next, older page; null at the end"
    )


class OrgOut(Out):
    id: int
    slug: str
    name: str
    plan_status: str
    trial_ends_at: datetime | None
    billed_seats: int
    disabled_agents: list[str]
    store_ai_text: bool
    anonymity_threshold: int
    mood_drop_alert: float
    holiday_region: str | None
    language: str = Field(description="the language of members who have not chosen their own")


class OrgUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Line | None = None
    store_ai_text: bool | None = Field(
        None, description="keep the text of model prompts in ai_logs"
    )
    anonymity_threshold: int | None = Field(
        None, ge=1, le=1000,
        description="groups smaller than this show no per-person data; below 5 needs "
        "`lower_anonymity_threshold` (audited with the old and new value)",
    )  # fmt: skip
    mood_drop_alert: float | None = Field(
        None, gt=0, le=4,
        description="flag a group whose mood average drops this much week over week (audited)",
    )  # fmt: skip
    lower_anonymity_threshold: bool = Field(
        False, description="confirms an anonymity threshold below 5"
    )
    holiday_region: str | None = Field(
        None, max_length=16, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,4})?$|^off$",
        description="country or subdivision whose public holidays skip check-ins "
        "(DE, DE-BY, US-CA); `off` for none. Members may choose their own.",
    )  # fmt: skip
    language: str | None = Field(
        None, max_length=8,
        description="the language VizDots speaks with members who have not chosen their own "
        "(en, de, fr, es, pt); a member's own choice (`language de`) wins.",
    )  # fmt: skip


class TokenOut(Out):
    prefix: str
    name: str
    role: str
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class MemberOut(Out):
    id: int
    display_name: str
    email: str | None
    role: str
    timezone: str
    active: bool
    email_only: bool
    vacation_until: date | None
    deleted_at: datetime | None
    created_at: datetime


class MemberUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role | None = None
    active: bool | None = Field(None, description="false deactivates: no more check-ins")


class QuestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Key
    text: Prose
    kind: QuestionKind = QuestionKind.TEXT
    choices: list[Line] = Field(default_factory=list, max_length=10)


class AgentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: Slug
    name: Line
    persona: Prose
    goal: Prose
    questions: list[QuestionIn] = Field(min_length=1, max_length=12)
    max_follow_ups: int = Field(2, ge=0, le=5)
    dot_keys: list[Key] = Field(
        default_factory=list, max_length=12, description="default: every question key"
    )


class AgentOut(BaseModel):
    slug: str
    name: str
    persona: str
    goal: str
    questions: list[dict[str, Any]]
    max_follow_ups: int
    dot_keys: list[str]
    enabled: bool
    scope: Literal["global", "organization"]


class AgentSwitch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent: Slug
    weekdays: list[Weekday] = Field(min_length=1, max_length=7)
    local_time: time = Field(description="HH:MM in each participant's own time zone")
    member_ids: list[RowId] | None = Field(None, max_length=1000, description="null: everyone")
    active: bool = True
    report_channel: Line | None = Field(None, description="chat channel id for the team digest")


class ScheduleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weekdays: list[Weekday] | None = Field(None, min_length=1, max_length=7)
    local_time: time | None = None
    member_ids: list[RowId] | None = Field(None, max_length=1000, description="null: everyone")
    active: bool | None = None
    report_channel: Line | None = Field(None, description="null: no report channel")


class ScheduleOut(BaseModel):
    id: int
    agent: str
    weekdays: list[int]
    local_time: time
    participants: str
    member_ids: list[int]
    active: bool
    report_channel: str | None
    created_at: datetime


class SessionOut(Out):
    id: int
    schedule_id: int | None
    member_id: int
    agent_id: int
    local_date: date
    due_at: datetime
    state: str
    channel: str | None
    delivered_at: datetime | None
    completed_at: datetime | None
    summary: str | None


class DotOut(Out):
    id: int
    session_id: int
    member_id: int
    agent: str
    local_date: date
    key: str
    num_value: float | None
    text_value: str | None


class DailyAggregateOut(Out):
    agent: str
    local_date: date
    key: str
    answers: int
    average: float
    minimum: float
    maximum: float


class AiLogOut(Out):
    id: int
    session_id: int | None
    purpose: str
    model: str
    tokens_in: int
    tokens_out: int
    latency_ms: int
    outcome: str
    error: str | None
    created_at: datetime


class EmailLogOut(Out):
    id: int
    session_id: int
    member_id: int
    kind: str
    slot: str
    status: str
    error: str | None
    created_at: datetime


class AuditOut(Out):
    id: int
    actor_member_id: int | None
    actor_token_id: int | None
    action: str
    detail: dict[str, Any]
    created_at: datetime


class ErasureOut(BaseModel):
    member_id: int
    removed: dict[str, int]


class MemberExport(BaseModel):
    profile: dict[str, Any]
    sessions: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    dots: list[dict[str, Any]]
    emails: list[dict[str, Any]]
    audit: list[dict[str, Any]]
