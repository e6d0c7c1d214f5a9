"""A workspace installs VizDots: its org, installation, members and owner, idempotently.

Slack OAuth, a single-workspace bot token and (later) a Teams bot being added all
arrive here. A second install of the same workspace reactivates and refreshes; it
never creates a second org, restarts the trial or demotes anyone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import PlanStatus, Provider, Role
from core.members import SyncResult, external_id_attribute, sync_members
from core.ports import MemberProfile
from core.store.models import AuditEntry, Installation, Member, Organization

#: The trial's length unless the caller says otherwise (TRIAL_DAYS).
TRIAL = timedelta(days=14)


@dataclass(frozen=True, slots=True)
class Workspace:
    provider: Provider
    external_id: str
    name: str
    bot_user_id: str | None
    credentials_ref: str
    installer: str | None


@dataclass(frozen=True, slots=True)
class InstallResult:
    org_id: int
    new_org: bool
    owner_id: int | None
    trial_ends_at: datetime | None
    synced: SyncResult


@dataclass(frozen=True, slots=True)
class Registration:
    org_id: int
    new_org: bool


async def register_installation(
    db: AsyncSession, *, workspace: Workspace, now: datetime, trial: timedelta = TRIAL
) -> Registration:
    """Create the org and installation, or reactivate them; the trial starts once."""
    installation = await _installation(db, workspace)
    if installation is None:
        org = await _new_org(db, workspace, now + trial)
        return Registration(org.id, new_org=True)
    await _reactivate(db, installation, workspace)
    return Registration(installation.org_id, new_org=False)


async def finish_install(
    db: AsyncSession,
    *,
    registration: Registration,
    workspace: Workspace,
    profiles: Sequence[MemberProfile],
    default_timezone: str,
    complete: bool = True,
) -> InstallResult:
    """Sync the workspace's people, make the installer owner, record it in the audit log.

    `complete=False`: `profiles` is only part of the workspace (a Teams team's roster, one
    person's install), so nobody it leaves out is deactivated."""
    org = await db.get_one(Organization, registration.org_id)
    synced = await sync_members(
        db,
        org_id=org.id,
        provider=workspace.provider,
        profiles=profiles,
        default_timezone=default_timezone,
        complete=complete,
    )
    owner = await _make_owner(db, org, workspace)
    db.add(AuditEntry(org_id=org.id, actor_member_id=owner, action="install", detail={
        "provider": workspace.provider.value, "workspace": workspace.external_id,
        "added": synced.added, "new_org": registration.new_org,
    }))  # fmt: skip
    return InstallResult(org.id, registration.new_org, owner, org.trial_ends_at, synced)


async def deactivate_installation(
    db: AsyncSession, *, provider: Provider, external_id: str
) -> bool:
    """The app was uninstalled or its tokens revoked: stop delivering to that workspace."""
    installation = await db.scalar(
        select(Installation).where(
            Installation.provider == provider.value, Installation.external_id == external_id
        )
    )
    if installation is None or not installation.active:
        return False
    installation.active = False
    db.add(AuditEntry(org_id=installation.org_id, action="uninstall", detail={
        "provider": provider.value, "workspace": external_id,
    }))  # fmt: skip
    return True


async def _installation(db: AsyncSession, workspace: Workspace) -> Installation | None:
    return await db.scalar(
        select(Installation).where(
            Installation.provider == workspace.provider.value,
            Installation.external_id == workspace.external_id,
        )
    )


async def _new_org(db: AsyncSession, workspace: Workspace, trial_end: datetime) -> Organization:
    org = Organization(
        slug=await _free_slug(db, workspace.name),
        name=workspace.name[:200],
        plan_status=PlanStatus.TRIALING.value,
        trial_ends_at=trial_end,
    )
    db.add(org)
    await db.flush()
    db.add(
        Installation(
            org_id=org.id,
            provider=workspace.provider.value,
            external_id=workspace.external_id,
            bot_user_id=workspace.bot_user_id,
            credentials_ref=workspace.credentials_ref,
            installed_by=workspace.installer,
        )
    )
    return org


async def _reactivate(db: AsyncSession, installation: Installation, workspace: Workspace) -> None:
    installation.active = True
    installation.bot_user_id = workspace.bot_user_id
    installation.credentials_ref = workspace.credentials_ref


async def _make_owner(db: AsyncSession, org: Organization, workspace: Workspace) -> int | None:
    """The installer owns the org (unless it already has an owner)."""
    if workspace.installer is None:
        return None
    key = getattr(Member, external_id_attribute(workspace.provider))
    installer = await db.scalar(
        select(Member).where(Member.org_id == org.id, key == workspace.installer)
    )
    if installer is None:
        return None
    has_owner = await db.scalar(
        select(Member.id).where(Member.org_id == org.id, Member.role == Role.OWNER.value)
    )
    if has_owner is None:
        installer.role = Role.OWNER.value
    return installer.id


async def _free_slug(db: AsyncSession, name: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:48] or "org"
    taken = set(
        await db.scalars(select(Organization.slug).where(Organization.slug.like(f"{base}%")))
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug
