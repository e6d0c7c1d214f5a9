"""Who gets no reminder email: members who opted out (the one-click unsubscribe link, or
`email off`), and addresses SES reported as a permanent bounce or a complaint.

A suppression is kept by address in `email_suppressions`, so the same address in another
organisation, or a member added later with it, is suppressed too; the members holding the
address have `email_suppressed` set as well.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import Table, func, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.ports import Clock
from core.store.models import AuditEntry, EmailSuppression, Member
from core.store.seed import dialect_insert


class SuppressionReason(StrEnum):
    BOUNCE = "bounce"
    COMPLAINT = "complaint"


async def opt_out_by_link(
    *, sessions: async_sessionmaker[AsyncSession], member_id: int, clock: Clock
) -> bool | None:
    """Turn the member's reminder emails off (audited once); False when they were off
    already, None when there is no such member."""
    async with sessions.begin() as db:
        member = await db.get(Member, member_id, with_for_update=True)
        if member is None:
            return None
        if member.email_opt_out:
            return False
        member.email_opt_out = True
        detail = {"enabled": False, "via": "unsubscribe link", "at": clock.now().isoformat()}
        entry = AuditEntry(org_id=member.org_id, actor_member_id=member.id, action="member.email")
        entry.detail = detail
        db.add(entry)
    return True


async def suppress_address(
    *,
    sessions: async_sessionmaker[AsyncSession],
    address: str,
    reason: SuppressionReason,
    clock: Clock,
) -> int:
    """Suppress `address` (compared lower-cased) for good; the first reason stands.
    Returns how many members hold the address (any organisation)."""
    address = address.strip().lower()
    async with sessions.begin() as db:
        await db.execute(_insert_once(db, address, reason, clock))
        result = await db.execute(
            update(Member)
            .where(func.lower(Member.email) == address)
            .values(email_suppressed=func.coalesce(Member.email_suppressed, reason.value))
        )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _insert_once(db: AsyncSession, address: str, reason: SuppressionReason, clock: Clock) -> Any:
    table = EmailSuppression.__table__
    assert isinstance(table, Table)
    statement = dialect_insert(db.get_bind(), table).values(
        address=address, reason=reason.value, created_at=clock.now()
    )
    return statement.on_conflict_do_nothing(index_elements=["address"])
