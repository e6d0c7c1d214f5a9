"""Who made a change, and its audit_log row: a member (a chat command), an admin API
token, or the operator's command line."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from core.store.models import AuditEntry


@dataclass(frozen=True, slots=True)
class ChangeActor:
    """`via`: api, cli or chat; `label` names the actor in the entry (never a secret)."""

    via: str
    label: str
    member_id: int | None = None
    token_id: int | None = None


CLI = ChangeActor(via="cli", label="vizdots command line")


def record_change(
    db: AsyncSession, *, org_id: int, actor: ChangeActor, action: str, **detail: object
) -> None:
    """One audit_log row in the caller's transaction (detail must be JSON)."""
    db.add(
        AuditEntry(
            org_id=org_id,
            actor_member_id=actor.member_id,
            actor_token_id=actor.token_id,
            action=action,
            detail={**detail, "via": actor.via, "actor": actor.label},
        )
    )
