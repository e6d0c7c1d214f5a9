"""SQLAlchemy tables: the facts of DESIGN.md's domain section.

Every multi-process guarantee rests on a constraint here: one session per
(schedule, member, local date), one message per inbound event, one email per
(session, kind, slot), one row per Stripe event.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core.store.types import Id, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


def _created() -> Mapped[datetime]:
    return mapped_column(server_default=func.now())


def _org_fk() -> Mapped[int]:
    return mapped_column(Id, ForeignKey("organizations.id", ondelete="CASCADE"), index=True)


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    plan_status: Mapped[str] = mapped_column(String(16), default="trialing")
    trial_ends_at: Mapped[datetime | None]
    stripe_customer_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(64))
    billing_state_at: Mapped[datetime | None] = mapped_column(
        doc="created time of the Stripe event that last set plan_status (out-of-order guard)"
    )
    billed_seats: Mapped[int] = mapped_column(Integer, default=0)
    grace_ends_at: Mapped[datetime | None] = mapped_column(
        doc="past_due: check-ins go on until then (BILLING_GRACE_DAYS after the failed payment)"
    )
    current_period_end: Mapped[datetime | None] = mapped_column(
        doc="the subscription's current period end: when the next invoice comes"
    )
    disabled_agents: Mapped[list[Any]] = mapped_column(default=list)
    store_ai_text: Mapped[bool] = mapped_column(Boolean, default=False)
    anonymity_threshold: Mapped[int] = mapped_column(
        Integer,
        default=5,
        server_default="5",
        doc="groups smaller than this show no per-person data (below 5 only by an audited choice)",
    )
    mood_drop_alert: Mapped[float] = mapped_column(
        Float,
        default=1.0,
        server_default="1.0",
        doc="a group's mood average falling this much week over week is flagged",
    )
    holiday_region: Mapped[str | None] = mapped_column(
        String(16), doc="country or subdivision (DE, DE-BY, US-CA) whose public holidays skip"
    )
    language: Mapped[str] = mapped_column(
        String(8),
        default="en",
        server_default="en",
        doc="the org's default language (core.i18n.LANGUAGES) for members who have none",
    )
    plan_generation: Mapped[int] = mapped_column(
        Integer,
        default=0,
        server_default="0",
        doc="bumped by database triggers (migration 0020) whenever what planning reads "
        "changes: the org's plan, its members, schedules, participants, deleted sessions",
    )
    created_at: Mapped[datetime] = _created()


class Installation(Base):
    __tablename__ = "installations"
    __table_args__ = (UniqueConstraint("provider", "external_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    org_id: Mapped[int] = _org_fk()
    provider: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    bot_user_id: Mapped[str | None] = mapped_column(String(64))
    credentials_ref: Mapped[str | None] = mapped_column(
        String(200),
        doc="where the token lives (env var name or installation-store key), never the token",
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    installed_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = _created()


class TeamsTeam(Base):
    """A Microsoft Teams team the bot was added to: whose roster `members sync` reads."""

    __tablename__ = "teams_teams"
    __table_args__ = (UniqueConstraint("tenant_id", "team_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    org_id: Mapped[int] = _org_fk()
    tenant_id: Mapped[str] = mapped_column(String(128))
    team_id: Mapped[str] = mapped_column(String(255))
    service_url: Mapped[str] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = _created()


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("org_id", "email"),
        UniqueConstraint("org_id", "slack_user_id"),
        UniqueConstraint("org_id", "teams_aad_object_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    org_id: Mapped[int] = _org_fk()
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    timezone_chosen: Mapped[bool] = mapped_column(
        Boolean,
        default=False,
        server_default="0",
        doc="set by the member (`timezone`): chat clients and directories leave it alone",
    )
    role: Mapped[str] = mapped_column(String(16), default="member")
    role_source: Mapped[str | None] = mapped_column(
        String(16),
        doc="where the role came from: 'workspace' (the chat directory's admin flag, "
        "followed at every sync) or 'vizdots' (granted in VizDots: sync leaves it); "
        "NULL until a sync tells (core.members.RoleSource)",
    )
    slack_user_id: Mapped[str | None] = mapped_column(String(32))
    slack_dm_channel_id: Mapped[str | None] = mapped_column(String(32))
    teams_aad_object_id: Mapped[str | None] = mapped_column(String(64))
    teams_conversation_ref: Mapped[dict[str, Any] | None]
    teams_unreachable: Mapped[bool] = mapped_column(
        Boolean,
        default=False,
        server_default="0",
        doc="the member blocked or removed the bot in Teams (403, or the chat is gone)",
    )
    preferred_chat: Mapped[str | None] = mapped_column(
        String(16), doc="slack or teams (`reach me in …`): tried first when both reach them"
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    paused_until: Mapped[date | None] = mapped_column(Date)
    vacation_until: Mapped[date | None] = mapped_column(Date)
    preferred_time: Mapped[time | None] = mapped_column(Time)
    email_only: Mapped[bool] = mapped_column(
        Boolean,
        default=False,
        server_default="0",
        doc="the member has no chat account: check-ins and reminders reach them by email",
    )
    email_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    email_suppressed: Mapped[str | None] = mapped_column(String(16), doc="bounce or complaint")
    deleted_at: Mapped[datetime | None] = mapped_column(
        doc="personal data erased (GDPR art. 17): the row is an anonymous tombstone that "
        "keeps the numeric dots and session counts of the org's aggregates"
    )
    holiday_region: Mapped[str | None] = mapped_column(
        String(16), doc="the member's own public-holiday region (`holidays DE-BY`)"
    )
    holidays_off: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="0", doc="`holidays off`: no public holidays"
    )
    memory_cleared_at: Mapped[datetime | None] = mapped_column(
        doc="`forget`: check-ins completed before then are not recalled in the next one"
    )
    language: Mapped[str | None] = mapped_column(
        String(8), doc="the member's language (`language de`, or the chat's locale when first seen)"
    )
    created_at: Mapped[datetime] = _created()


class Agent(Base):
    __tablename__ = "agents"
    __table_args__ = (
        UniqueConstraint("org_id", "slug"),
        Index(
            "uq_agents_global_slug",
            "slug",
            unique=True,
            sqlite_where=text("org_id IS NULL"),
            postgresql_where=text("org_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    org_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    slug: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    persona: Mapped[str] = mapped_column(Text)
    goal: Mapped[str] = mapped_column(Text)
    questions: Mapped[list[Any]]
    max_follow_ups: Mapped[int] = mapped_column(Integer, default=2)
    dot_keys: Mapped[list[Any]]
    created_at: Mapped[datetime] = _created()


class Schedule(Base):
    __tablename__ = "schedules"
    __table_args__ = (UniqueConstraint("org_id", "agent_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    org_id: Mapped[int] = _org_fk()
    agent_id: Mapped[int] = mapped_column(Id, ForeignKey("agents.id", ondelete="CASCADE"))
    weekdays: Mapped[int] = mapped_column(Integer, doc="bit i set = weekday i (Monday = 0)")
    local_time: Mapped[time] = mapped_column(Time)
    participants: Mapped[str] = mapped_column(String(16), default="everyone")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    report_channel: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = _created()


class ScheduleParticipant(Base):
    """Members of a schedule whose participants are a list (or a channel, resolved)."""

    __tablename__ = "schedule_participants"

    schedule_id: Mapped[int] = mapped_column(
        Id, ForeignKey("schedules.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        Id, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )


class PlanWatermark(Base):
    """What planning already covered for a schedule (core/plan_watermark.py): every slot
    due from `planned_from` (as a run at that instant saw it) up to `planned_until` was
    planned while the org's plan_generation was `generation`, and none of the schedule's
    slots falls due between `planned_until` and `next_due_at`."""

    __tablename__ = "plan_watermarks"

    schedule_id: Mapped[int] = mapped_column(
        Id, ForeignKey("schedules.id", ondelete="CASCADE"), primary_key=True
    )
    generation: Mapped[int] = mapped_column(Integer)
    planned_from: Mapped[datetime]
    planned_until: Mapped[datetime]
    next_due_at: Mapped[datetime]
    grace_seconds: Mapped[int] = mapped_column(Integer)


class CheckinSession(Base):
    __tablename__ = "checkin_sessions"
    __table_args__ = (
        UniqueConstraint("schedule_id", "member_id", "local_date"),
        Index("ix_checkin_sessions_state_due_at", "state", "due_at"),
        Index("ix_checkin_sessions_member_state", "member_id", "state"),
        Index(
            "uq_checkin_sessions_on_demand",
            "member_id",
            "agent_id",
            "local_date",
            unique=True,
            sqlite_where=text("schedule_id IS NULL"),
            postgresql_where=text("schedule_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    org_id: Mapped[int] = _org_fk()
    schedule_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("schedules.id", ondelete="CASCADE")
    )
    member_id: Mapped[int] = mapped_column(Id, ForeignKey("members.id", ondelete="CASCADE"))
    agent_id: Mapped[int] = mapped_column(Id, ForeignKey("agents.id", ondelete="CASCADE"))
    local_date: Mapped[date] = mapped_column(Date)
    due_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default="scheduled")
    channel: Mapped[str | None] = mapped_column(String(16))
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None] = mapped_column(
        doc="when a worker took the session for delivery (state delivering)"
    )
    version: Mapped[int] = mapped_column(
        Integer, default=0, doc="bumped by every agent turn: concurrent turns retry, never clash"
    )
    delivered_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    nudged_at: Mapped[datetime | None]
    reminded_version: Mapped[int | None] = mapped_column(
        Integer,
        doc="`version` when the first reminder was recorded: a later version means the "
        "member answered since, and no further reminder goes",
    )
    summary: Mapped[str | None] = mapped_column(Text)
    brain_state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    outcome_note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = _created()


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        Id, ForeignKey("checkin_sessions.id", ondelete="CASCADE"), index=True
    )
    speaker: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    question_key: Mapped[str | None] = mapped_column(String(32))
    channel_message_id: Mapped[str | None] = mapped_column(String(255))
    inbound_event_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    reply_to_id: Mapped[int | None] = mapped_column(
        Id,
        ForeignKey("messages.id", ondelete="SET NULL"),
        unique=True,
        doc="an agent turn: the member turn it answers (each is answered once)",
    )
    edited_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = _created()


class Dot(Base):
    __tablename__ = "dots"
    __table_args__ = (UniqueConstraint("session_id", "key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        Id, ForeignKey("checkin_sessions.id", ondelete="CASCADE")
    )
    org_id: Mapped[int] = _org_fk()
    member_id: Mapped[int] = mapped_column(Id, ForeignKey("members.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(32))
    num_value: Mapped[float | None] = mapped_column(Float)
    text_value: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()


class AiLog(Base):
    __tablename__ = "ai_logs"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    org_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("checkin_sessions.id", ondelete="SET NULL")
    )
    purpose: Mapped[str] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(64))
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    cached_tokens: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(String(200))
    request_id: Mapped[str | None] = mapped_column(String(128))
    prompt_text: Mapped[str | None] = mapped_column(Text, doc="only when the org opted in")
    created_at: Mapped[datetime] = _created()


class EmailLog(Base):
    __tablename__ = "email_logs"
    __table_args__ = (UniqueConstraint("session_id", "kind", "slot"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    org_id: Mapped[int] = _org_fk()
    session_id: Mapped[int] = mapped_column(
        Id, ForeignKey("checkin_sessions.id", ondelete="CASCADE")
    )
    member_id: Mapped[int] = mapped_column(Id, ForeignKey("members.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    slot: Mapped[str] = mapped_column(String(32))
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(String(200))
    attempted_at: Mapped[datetime | None] = mapped_column(
        doc="when the row was recorded, before the send (the clock's time, for in-doubt age)"
    )
    created_at: Mapped[datetime] = _created()


class EmailSuppression(Base):
    """An address no email goes to: a permanent bounce or a complaint (SES events).

    Keyed by the lower-cased address, not by member: the same address in another
    organisation is suppressed too."""

    __tablename__ = "email_suppressions"

    address: Mapped[str] = mapped_column(String(320), primary_key=True, doc="lower-cased")
    reason: Mapped[str] = mapped_column(String(16), doc="bounce or complaint")
    created_at: Mapped[datetime] = _created()


class BillingEvent(Base):
    __tablename__ = "billing_events"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    stripe_event_id: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    org_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("organizations.id", ondelete="SET NULL")
    )
    event_created_at: Mapped[datetime]
    result: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = _created()


class BillingNotice(Base):
    """A billing notice told to an org's admins (payment failed, paused, trial ending):
    its key is recorded with the outbox intents, so each is told once, also after the
    outbox rows are purged."""

    __tablename__ = "billing_notices"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    org_id: Mapped[int] = _org_fk()
    created_at: Mapped[datetime]


class BillingCall(Base):
    """The intent of a Stripe create call (a customer, a Checkout session), recorded
    before the call under the idempotency key it carries, and its result after: a retry
    or a double click reads the result instead of calling again."""

    __tablename__ = "billing_calls"

    key: Mapped[str] = mapped_column(String(200), primary_key=True, doc="the idempotency key")
    org_id: Mapped[int] = _org_fk()
    kind: Mapped[str] = mapped_column(String(16), doc="customer, checkout or portal")
    result: Mapped[str | None] = mapped_column(String(500), doc="the object's id or URL")
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class SeatSync(Base):
    """The seats of an org's subscription must follow its active members: one pending row
    per org, staged in the transaction that changed the members, however many changes.

    The worker gives a new row a due time a few seconds ahead (coalescing), sets the
    quantity in Stripe and deletes the row, unless `version` moved meanwhile."""

    __tablename__ = "seat_syncs"

    org_id: Mapped[int] = mapped_column(
        Id, ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1, doc="bumped by every change")
    due_at: Mapped[datetime | None] = mapped_column(doc="NULL: not yet seen by a worker")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    claimed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(200), doc="no secret, no body")


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    org_id: Mapped[int] = _org_fk()
    actor_member_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("members.id", ondelete="SET NULL")
    )
    actor_token_id: Mapped[int | None] = mapped_column(
        Id,
        ForeignKey("admin_tokens.id", ondelete="SET NULL"),
        doc="the admin API token that made the change",
    )
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = _created()


class AdminToken(Base):
    """A per-org admin API token. Only its SHA-256 is stored: the token is shown once.

    `public_id` is the recognisable part (`vzd_<public_id>_…`), safe to show and log."""

    __tablename__ = "admin_tokens"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    org_id: Mapped[int] = _org_fk()
    public_id: Mapped[str] = mapped_column(String(16), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, doc="SHA-256, hex")
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(
        String(16), doc="owner, admin (every change but owners') or viewer (reads only)"
    )
    created_by: Mapped[str] = mapped_column(String(200), doc="`cli`, or the member who asked")
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class InboundEvent(Base):
    """A member's message, edit or button press, stored when the chat hands it over.

    The web process only inserts (one row, deduplicated by `event_id`); workers claim
    pending rows and run the turns, so an acknowledged event survives a crash.
    """

    __tablename__ = "inbound_events"
    __table_args__ = (
        Index("ix_inbound_events_pending", "processed_at", "received_at"),
        Index("ix_inbound_events_sender", "provider", "workspace", "user_id", "processed_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(8), doc="message or edit")
    workspace: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(320))
    text: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(255))
    choice: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
    claimed_at: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(String(64), doc="an exception class, no text")
    next_attempt_at: Mapped[datetime | None] = mapped_column(
        doc="a failed event waits (back-off) until then; NULL: claimable at once"
    )
    given_up: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class OutboxMessage(Base):
    """A message to a member, recorded before it is sent (the intent), then its outcome.

    `key` is unique: the same decision (a turn's reply, a session's opening, a notice for
    one inbound event) is recorded once however often the work is retried. A row left in
    'sending' by a dead worker is taken again with `in_doubt` set: the channel is asked
    whether the message arrived (Slack message metadata) before it is sent again.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    org_id: Mapped[int] = _org_fk()
    member_id: Mapped[int] = mapped_column(Id, ForeignKey("members.id", ondelete="CASCADE"))
    session_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("checkin_sessions.id", ondelete="SET NULL")
    )
    message_row_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("messages.id", ondelete="SET NULL"), doc="the messages row to give its id"
    )
    kind: Mapped[str] = mapped_column(String(16), doc="opening, reply or notice")
    payload: Mapped[dict[str, Any]] = mapped_column(doc="the OutgoingMessage: text, buttons")
    status: Mapped[str] = mapped_column(
        String(16), default="pending", doc="pending, sending, sent, failed"
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    in_doubt: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    channel_message_id: Mapped[str | None] = mapped_column(String(255))
    last_error: Mapped[str | None] = mapped_column(String(200), doc="no message text")
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class SeenRequest(Base):
    """A slash command or button press already handled: replays of it are ignored.

    Slack gives these no event id; their `trigger_id` (or action_ts) is the key."""

    __tablename__ = "seen_requests"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(index=True)


class DashboardLinkUse(Base):
    """A dashboard link exchanged for a session: its nonce is UNIQUE, so a link replayed
    (forwarded, re-opened from history) is refused by the database, not by memory."""

    __tablename__ = "dashboard_link_uses"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    org_id: Mapped[int] = _org_fk()
    member_id: Mapped[int] = mapped_column(Id, ForeignKey("members.id", ondelete="CASCADE"))
    nonce: Mapped[str] = mapped_column(String(64), unique=True, doc="random, from the link")
    used_at: Mapped[datetime]


class DashboardSession(Base):
    """A browser signed in to the dashboard. Only the SHA-256 of the cookie is stored;
    `csrf_token` is the per-session token every form posts back."""

    __tablename__ = "dashboard_sessions"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    org_id: Mapped[int] = _org_fk()
    member_id: Mapped[int] = mapped_column(Id, ForeignKey("members.id", ondelete="CASCADE"))
    id_hash: Mapped[str] = mapped_column(String(64), unique=True, doc="SHA-256 of the cookie")
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(doc="logged out")


class Digest(Base):
    """A schedule's team digest for one local date: the intent, recorded before the post.

    UNIQUE (schedule_id, local_date): each window's digest is posted once however many
    workers look. States: pending → posting → posted, or failed; a row left in 'posting'
    by a dead worker is claimed again after the claim timeout and the chat is asked
    (`key`, in the message's metadata) before it is posted again."""

    __tablename__ = "digests"
    __table_args__ = (
        UniqueConstraint("schedule_id", "local_date"),
        Index("ix_digests_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    org_id: Mapped[int] = _org_fk()
    schedule_id: Mapped[int] = mapped_column(Id, ForeignKey("schedules.id", ondelete="CASCADE"))
    local_date: Mapped[date] = mapped_column(Date)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    channel: Mapped[str] = mapped_column(String(64), doc="the report channel when staged")
    state: Mapped[str] = mapped_column(
        String(16), default="pending", doc="pending, posting, posted, failed"
    )
    text: Mapped[str | None] = mapped_column(Text, doc="the digest, composed once, then posted")
    provider: Mapped[str | None] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    in_doubt: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    message_id: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(String(200), doc="no message text")
    created_at: Mapped[datetime]
    posted_at: Mapped[datetime | None]


class JobRun(Base):
    """One run of a periodic job (planning/delivery "scheduler", "reminders"): inserted
    when it starts, finished with its counts or its error. A row never finished is a run
    whose process died. Not org-owned: runs span every organisation."""

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job_started_at", "job", "started_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    job: Mapped[str] = mapped_column(String(32))
    trigger: Mapped[str] = mapped_column(String(16), doc="cron (the endpoint), loop or cli")
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(200), doc="an exception class, no text")
