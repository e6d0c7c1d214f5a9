"""Per-org admin API tokens: made, checked and revoked.

A token is `vzd_<public id>_<secret>`: 32 random bytes behind a recognisable prefix.
Only its SHA-256 is stored, and a token is checked by looking its hash up (a unique
index), so no stored secret is ever compared character by character. The plaintext
exists once, in what `create_token` returns; no log line carries it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.admin.audit import ChangeActor, record_change
from core.store.models import AdminToken

PREFIX = "vzd_"
_SHAPE = re.compile(r"vzd_([0-9a-f]{8})_[A-Za-z0-9_-]{43}", re.ASCII)
#: last_used_at is written at most this often per token: a busy script costs no write a call.
LAST_USED_GRAIN = timedelta(minutes=1)
MAX_NAME = 100


class TokenRole(StrEnum):
    """What a token may do: owners' changes too, every other change, or only read."""

    OWNER = "owner"
    ADMIN = "admin"
    VIEWER = "viewer"

    def allows(self, needed: TokenRole) -> bool:
        order = (TokenRole.VIEWER, TokenRole.ADMIN, TokenRole.OWNER)
        return order.index(self) >= order.index(needed)


@dataclass(frozen=True, slots=True)
class NewToken:
    """A token just made: `plaintext` is shown once and never stored."""

    id: int
    public_id: str
    name: str
    plaintext: str

    @property
    def prefix(self) -> str:
        return f"{PREFIX}{self.public_id}"


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    id: int
    org_id: int
    name: str
    public_id: str
    role: TokenRole

    @property
    def actor(self) -> ChangeActor:
        return ChangeActor(via="api", label=f"token {PREFIX}{self.public_id} ({self.name})",
                           token_id=self.id)  # fmt: skip


def token_hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def clean_name(name: str) -> str:
    """A token's name: one line, 1–100 characters (ValueError says what is wrong)."""
    flat = " ".join(name.split())
    if not flat or len(flat) > MAX_NAME:
        raise ValueError(f"a token name takes 1 to {MAX_NAME} characters")
    return flat


async def create_token(
    db: AsyncSession,
    *,
    org_id: int,
    name: str,
    role: TokenRole,
    actor: ChangeActor,
    now: datetime,
) -> NewToken:
    """Store a new token's hash for the org, audited in the caller's transaction."""
    public_id, secret = secrets.token_hex(4), secrets.token_urlsafe(32)
    plaintext = f"{PREFIX}{public_id}_{secret}"
    row = AdminToken(
        org_id=org_id, public_id=public_id, token_hash=token_hash(plaintext),
        name=clean_name(name), role=role.value, created_by=actor.label[:200], created_at=now,
    )  # fmt: skip
    db.add(row)
    await db.flush()
    record_change(db, org_id=org_id, actor=actor, action="admin_token.create", **_about(row))
    return NewToken(id=row.id, public_id=public_id, name=row.name, plaintext=plaintext)


async def verify_token(db: AsyncSession, plaintext: str, *, now: datetime) -> VerifiedToken | None:
    """The live token `plaintext` is, or None; records its use (at most once a minute)."""
    if _SHAPE.fullmatch(plaintext) is None:
        return None
    row = await db.scalar(
        select(AdminToken).where(
            AdminToken.token_hash == token_hash(plaintext), AdminToken.revoked_at.is_(None)
        )
    )
    if row is None:
        return None
    await db.execute(
        update(AdminToken)
        .where(AdminToken.id == row.id)
        .where(
            or_(AdminToken.last_used_at.is_(None), AdminToken.last_used_at < now - LAST_USED_GRAIN)
        )
        .values(last_used_at=now)
    )
    return VerifiedToken(
        id=row.id, org_id=row.org_id, name=row.name, public_id=row.public_id,
        role=TokenRole(row.role),
    )  # fmt: skip


async def list_tokens(db: AsyncSession, *, org_id: int) -> Sequence[AdminToken]:
    return (
        await db.scalars(
            select(AdminToken).where(AdminToken.org_id == org_id).order_by(AdminToken.id)
        )
    ).all()


def public_id_of(prefix_or_id: str) -> str:
    """`vzd_1a2b3c4d` or `1a2b3c4d` (what an admin copies from a list) → `1a2b3c4d`."""
    text = prefix_or_id.strip().lower()
    return text[len(PREFIX) :] if text.startswith(PREFIX) else text


async def revoke_token(
    db: AsyncSession, *, org_id: int, public_id: str, actor: ChangeActor, now: datetime
) -> AdminToken | None:
    """Revoke the org's token (idempotent); None when the org has no such token."""
    row = await db.scalar(
        select(AdminToken).where(
            AdminToken.org_id == org_id, AdminToken.public_id == public_id_of(public_id)
        )
    )
    if row is not None and row.revoked_at is None:
        row.revoked_at = now
        record_change(db, org_id=org_id, actor=actor, action="admin_token.revoke", **_about(row))
    return row


def _about(row: AdminToken) -> dict[str, object]:
    return {"token": f"{PREFIX}{row.public_id}", "name": row.name, "role": row.role}
