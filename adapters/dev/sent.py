"""What the dev chat sent a member outside their check-in's turns, read back from the outbox.

A nudge, a notice to the admins, the apology for a turn that failed: each is an outbox
row, and the dev chat's "transport" is the database. So sending names the message by
its place — `dev-<id>-<random>`, after the member's stored message <id> (0: none) at the
moment it was sent — and the outbox keeps that name with the row (`channel_message_id`).
The web chat and the terminal read the sent rows back and show each once, in place,
whatever process sent it and across restarts. Agent turns are not among them: they are
shown from the messages table (their rows point at it). Command replies are not either:
the outbox forgets their text once sent (core.outbox.FORGOTTEN_ONCE_SENT).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.outbox import FORGOTTEN_ONCE_SENT, Sent
from core.store.models import CheckinSession, Message, OutboxMessage

_PLACED = re.compile(r"^dev-(\d+)-[0-9a-f]+$")

#: How many sent messages a member's timeline shows at most.
SHOWN = 200


@dataclass(frozen=True, slots=True)
class SentNotice:
    """A message sent outside the turns: the outbox row, the stored message it follows."""

    row_id: int
    after: int
    at: datetime
    text: str


def placed_id(after: int) -> str:
    """The dev chat's id of a message sent after the stored message `after`."""
    return f"dev-{after}-{uuid.uuid4().hex[:12]}"


def place_of(message_id: str | None) -> int | None:
    """The stored message a sent message follows (None: an id of another form)."""
    found = _PLACED.match(message_id or "")
    return int(found.group(1)) if found else None


async def last_message_id(db: AsyncSession, member_id: int) -> int:
    """The id of the member's latest stored message (0: none)."""
    found = await db.scalar(
        select(func.max(Message.id))
        .join(CheckinSession, CheckinSession.id == Message.session_id)
        .where(CheckinSession.member_id == member_id)
    )
    return found or 0


async def sent_notices(
    db: AsyncSession, member_id: int, *, since: datetime | None = None, after_row: int = 0
) -> list[SentNotice]:
    """The member's sent messages outside the turns, in the order they were sent:
    recorded at `since` or later, and with an outbox id above `after_row`."""
    query = (
        select(OutboxMessage.id, OutboxMessage.channel_message_id, OutboxMessage.created_at,
               OutboxMessage.payload)
        .where(
            OutboxMessage.member_id == member_id,
            OutboxMessage.status == Sent.SENT.value,
            OutboxMessage.message_row_id.is_(None),
            OutboxMessage.id > after_row,
            *(OutboxMessage.key.not_like(f"{prefix}%") for prefix in FORGOTTEN_ONCE_SENT),
        )
        .order_by(OutboxMessage.id.desc())
        .limit(SHOWN)
    )  # fmt: skip
    if since is not None:
        query = query.where(OutboxMessage.created_at >= since)
    notices = [
        SentNotice(row_id=row.id, after=after, at=row.created_at, text=str(row.payload["text"]))
        for row in await db.execute(query)
        if (after := place_of(row.channel_message_id)) is not None and row.payload.get("text")
    ]
    return sorted(notices, key=lambda notice: (notice.after, notice.row_id))
