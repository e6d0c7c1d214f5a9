"""One member's personal data: exported (GDPR art. 15) or erased (art. 17).

Erasure anonymises the member in place: the row becomes a tombstone with no name,
address or chat ids, their messages, free-text dots, summaries, stored model prompts,
inbox and outbox rows and email logs go, and their numeric dots and check-in sessions
stay — attached to the tombstone, which nothing can link back to the person — so the
org's anonymous aggregates (averages, participation) are unchanged."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select, update

from core.admin.scope import BadInput, OrgScope
from core.domain import Provider
from core.store.models import (
    AiLog,
    AuditEntry,
    CheckinSession,
    Dot,
    EmailLog,
    InboundEvent,
    Member,
    Message,
    OutboxMessage,
    ScheduleParticipant,
)

ERASED_NAME = "Erased member"
_PROFILE = (
    "id", "display_name", "email", "timezone", "role", "slack_user_id",
    "teams_aad_object_id", "active", "paused_until", "vacation_until", "preferred_time",
    "email_only", "email_opt_out", "created_at", "language", "holiday_region", "holidays_off",
    "memory_cleared_at", "role_source", "timezone_chosen", "preferred_chat",
)  # fmt: skip


async def member_by_email(scope: OrgScope, email: str) -> Member | None:
    found: Member | None = await scope.db.scalar(scope.select(Member).where(Member.email == email))
    return found


async def export_member(scope: OrgScope, member_id: int) -> dict[str, Any]:
    """Everything stored about the member, JSON-ready (dates as ISO strings)."""
    member = await scope.get(Member, member_id)
    own = select(CheckinSession.id).where(CheckinSession.member_id == member.id)
    sessions = await scope.db.scalars(
        scope.select(CheckinSession).where(CheckinSession.member_id == member.id)
    )
    messages = await scope.db.scalars(
        select(Message).where(Message.session_id.in_(own)).order_by(Message.id)
    )
    dots = await scope.db.scalars(
        scope.select(Dot).where(Dot.member_id == member.id).order_by(Dot.id)
    )
    emails = await scope.db.scalars(scope.select(EmailLog).where(EmailLog.member_id == member.id))
    actions = await scope.db.scalars(
        scope.select(AuditEntry).where(AuditEntry.actor_member_id == member.id)
    )
    exported: dict[str, Any] = _json({
        "profile": {name: getattr(member, name) for name in _PROFILE},
        "sessions": [_pick(s, "id", "agent_id", "local_date", "state", "delivered_at",
                           "completed_at", "summary") for s in sessions],
        "messages": [_pick(m, "session_id", "speaker", "text", "created_at") for m in messages],
        "dots": [_pick(d, "session_id", "key", "num_value", "text_value", "created_at")
                 for d in dots],
        "emails": [_pick(e, "session_id", "kind", "slot", "status", "created_at") for e in emails],
        "audit": [_pick(a, "action", "detail", "created_at") for a in actions],
    })  # fmt: skip
    return exported


def _pick(row: Any, *names: str) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}


def _json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value.isoformat() if hasattr(value, "isoformat") else value


async def erase_member(scope: OrgScope, member_id: int) -> dict[str, int]:
    """Erase the member's personal data (see the module); counts of what went."""
    member = await scope.get(Member, member_id)
    if member.deleted_at is not None:
        raise BadInput("this member's personal data is erased already")
    own = select(CheckinSession.id).where(CheckinSession.member_id == member.id)
    mine = member.id
    counts = {
        "messages": await _gone(scope, delete(Message).where(Message.session_id.in_(own))),
        "text_dots": await _gone(
            scope, delete(Dot).where(Dot.member_id == mine, Dot.num_value.is_(None))
        ),
        "email_logs": await _gone(scope, delete(EmailLog).where(EmailLog.member_id == mine)),
        "outbox": await _gone(scope, delete(OutboxMessage).where(OutboxMessage.member_id == mine)),
        "inbox": await _gone(scope, delete(InboundEvent).where(_inbox_of(member))),
    }
    await _scrub_sessions(scope, member, own)
    await scope.db.execute(
        delete(ScheduleParticipant).where(ScheduleParticipant.member_id == member.id)
    )
    _tombstone(member, now=scope.clock.now())
    scope.record("member.erase", member_id=member.id, **counts)
    return counts


async def _gone(scope: OrgScope, statement: Any) -> int:
    return int((await scope.db.execute(statement)).rowcount or 0)  # type: ignore[attr-defined]


async def _scrub_sessions(scope: OrgScope, member: Member, own: Any) -> None:
    await scope.db.execute(update(Dot).where(Dot.member_id == member.id).values(text_value=None))
    await scope.db.execute(
        update(CheckinSession).where(CheckinSession.member_id == member.id)
        .values(summary=None, brain_state={}, outcome_note=None)
    )  # fmt: skip
    await scope.db.execute(update(AiLog).where(AiLog.session_id.in_(own)).values(prompt_text=None))


def _inbox_of(member: Member) -> Any:
    """The member's pending chat events, by the ids each chat knows them by."""
    ids = [(Provider.SLACK, member.slack_user_id), (Provider.TEAMS, member.teams_aad_object_id),
           (Provider.DEV, member.email), (Provider.EMAIL, str(member.id))]  # fmt: skip
    pairs = [
        and_(InboundEvent.provider == provider.value, InboundEvent.user_id == user)
        for provider, user in ids
        if user
    ]
    return or_(*pairs)


def _tombstone(member: Member, *, now: datetime) -> None:
    for name in ("email", "slack_user_id", "slack_dm_channel_id", "teams_aad_object_id",
                 "teams_conversation_ref", "paused_until", "vacation_until", "preferred_time",
                 "email_suppressed", "language", "holiday_region"):  # fmt: skip
        setattr(member, name, None)
    member.display_name, member.timezone, member.role = ERASED_NAME, "UTC", "member"
    member.active, member.email_opt_out, member.deleted_at = False, True, now
