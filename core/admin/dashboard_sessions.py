"""Dashboard sign-in: a single-use link exchanged for a browser session.

A link carries (org, member, nonce); exchanging it stores the nonce in a UNIQUE column,
so a second use fails in the database whichever process serves it. The session's cookie
value is 32 random bytes of which only the SHA-256 is stored; the session ends at its
expiry, at logout, or as soon as the member is no longer an active admin. No secret
(link, cookie) is ever logged or put in the audit log.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.admin.audit import ChangeActor, record_change
from core.admin.tokens import TokenRole
from core.domain import Role
from core.store.models import DashboardLinkUse, DashboardSession, Member, Organization

SESSION_LIFETIME = timedelta(hours=8)


class LinkUsed(Exception):
    """The link was already exchanged: each one works once."""


@dataclass(frozen=True, slots=True)
class LinkGrant:
    """What a verified dashboard link says."""

    org_id: int
    member_id: int
    nonce: str


@dataclass(frozen=True, slots=True)
class NewSession:
    """`cookie` is the plaintext, set once in the browser and never stored."""

    cookie: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class DashboardLogin:
    session_id: int
    org_id: int
    org_name: str
    member_id: int
    member_name: str
    role: TokenRole
    csrf_token: str

    @property
    def actor(self) -> ChangeActor:
        return ChangeActor(via="dashboard", label=self.member_name, member_id=self.member_id)


def cookie_hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


async def exchange_link(
    db: AsyncSession, *, grant: LinkGrant, now: datetime, lifetime: timedelta = SESSION_LIFETIME
) -> NewSession:
    """Record the link's use (LinkUsed the second time) and open a session for its admin
    (PermissionError when they are no longer an active admin of the org)."""
    if await db.scalar(select(DashboardLinkUse.id).where(DashboardLinkUse.nonce == grant.nonce)):
        raise LinkUsed("This dashboard link was already used.")
    member = await _admin(db, org_id=grant.org_id, member_id=grant.member_id)
    db.add(DashboardLinkUse(org_id=grant.org_id, member_id=member.id, nonce=grant.nonce,
                            used_at=now))  # fmt: skip
    try:
        await db.flush()
    except IntegrityError:  # used at the same moment by another request
        raise LinkUsed("This dashboard link was already used.") from None
    cookie = secrets.token_urlsafe(32)
    db.add(DashboardSession(
        org_id=grant.org_id, member_id=member.id, id_hash=cookie_hash(cookie),
        csrf_token=secrets.token_urlsafe(32), created_at=now, expires_at=now + lifetime,
    ))  # fmt: skip
    actor = ChangeActor(via="dashboard", label=member.display_name, member_id=member.id)
    record_change(db, org_id=grant.org_id, actor=actor, action="dashboard.login")
    return NewSession(cookie=cookie, expires_at=now + lifetime)


async def _admin(db: AsyncSession, *, org_id: int, member_id: int) -> Member:
    member = await db.scalar(select(Member).where(Member.id == member_id, Member.org_id == org_id))
    if member is None or not member.active or not Role(member.role).is_admin:
        raise PermissionError("Only an organisation's admins can open its dashboard.")
    return member


async def login_for(db: AsyncSession, cookie: str, *, now: datetime) -> DashboardLogin | None:
    """The live session behind `cookie`, or None (unknown, ended, expired, not an admin)."""
    row = (
        await db.execute(
            select(DashboardSession, Member, Organization.name)
            .join(Member, Member.id == DashboardSession.member_id)
            .join(Organization, Organization.id == DashboardSession.org_id)
            .where(DashboardSession.id_hash == cookie_hash(cookie))
            .where(DashboardSession.ended_at.is_(None), DashboardSession.expires_at > now)
        )
    ).first()
    if row is None:
        return None
    session, member, org_name = row
    if not member.active or not Role(member.role).is_admin:
        return None
    return DashboardLogin(
        session_id=session.id, org_id=session.org_id, org_name=org_name, member_id=member.id,
        member_name=member.display_name, role=TokenRole(member.role),
        csrf_token=session.csrf_token,
    )  # fmt: skip


async def end_session(db: AsyncSession, *, login: DashboardLogin, now: datetime) -> None:
    session = await db.get_one(DashboardSession, login.session_id)
    if session.ended_at is None:
        session.ended_at = now
        record_change(db, org_id=login.org_id, actor=login.actor, action="dashboard.logout")
