"""An organisation's members as its chat directory lists them (`members sync`, installs,
and one newcomer at a time: `enrol_member`).

Members are matched by the provider's own id (Slack user id, Teams AAD object id, or
the email in the dev chat); a member first known by email is linked on the way.

Roles follow the workspace: a role that came from the directory (`role_source`
'workspace') is set from its admin flag at every sync, so a workspace admin demoted
there loses VizDots admin at the next sync. A role granted in VizDots ('vizdots': the
admin API, the installer's ownership) is never changed by a sync, and owners never are.
A member whose origin is not yet known (NULL: rows older than migration 0016, or made
outside a sync) is never demoted: an admin the directory does not list as one was
granted in VizDots, and is marked so.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import Provider, Role
from core.ports import MemberProfile
from core.seats import seats_changed
from core.store.models import Member

_KEY_ATTRIBUTE = {
    Provider.SLACK: "slack_user_id",
    Provider.TEAMS: "teams_aad_object_id",
    Provider.DEV: "email",
}


def external_id_attribute(provider: Provider) -> str:
    """The Member attribute holding a provider's id for a person (the dev chat uses email)."""
    if provider not in _KEY_ATTRIBUTE:
        raise ValueError(f"{provider.value} does not name members by an id of its own")
    return _KEY_ATTRIBUTE[provider]


class RoleSource(StrEnum):
    """Where a member's role came from (members.role_source)."""

    WORKSPACE = "workspace"
    VIZDOTS = "vizdots"


@dataclass(frozen=True, slots=True)
class SyncResult:
    added: int
    updated: int
    deactivated: int


def known_zone(name: str | None) -> str | None:
    """`name` when it is an IANA zone this system knows, else None."""
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
    return name


def zone_or_default(name: str | None, default: str = "UTC") -> ZoneInfo:
    """The IANA zone `name`, or `default` when it is missing or unknown."""
    return ZoneInfo(known_zone(name) or default)


class _Roster:
    """The org's members indexed by provider id and by email, kept current while syncing."""

    def __init__(self, members: Sequence[Member], key: str) -> None:
        self.key = key
        self.members = list(members)
        self.by_id = {_norm(key, getattr(m, key)): m for m in members if getattr(m, key)}
        self.by_email = {m.email.lower(): m for m in members if m.email}

    def match(self, external_id: str, email: str | None) -> Member | None:
        """By provider id, else an unlinked member with the same email."""
        found = self.by_id.get(_norm(self.key, external_id))
        if found is None and email:
            candidate = self.by_email.get(email.lower())
            if candidate is not None and getattr(candidate, self.key) is None:
                found = candidate
        return found

    def email_free_for(self, email: str | None, member: Member | None) -> bool:
        return bool(email) and self.by_email.get((email or "").lower(), member) is member

    def remember(self, member: Member) -> None:
        self.by_id[_norm(self.key, getattr(member, self.key))] = member
        if member.email:
            self.by_email[member.email.lower()] = member


def _norm(key: str, value: str) -> str:
    """Emails compare case-insensitively; chat ids exactly."""
    return value.lower() if key == "email" else value


def _unique_profiles(profiles: Sequence[MemberProfile], key: str) -> Iterator[MemberProfile]:
    seen: set[str] = set()
    for profile in profiles:
        if profile.external_id and _norm(key, profile.external_id) not in seen:
            seen.add(_norm(key, profile.external_id))
            yield profile


async def sync_members(
    db: AsyncSession,
    *,
    org_id: int,
    provider: Provider,
    profiles: Sequence[MemberProfile],
    default_timezone: str,
    complete: bool = True,
) -> SyncResult:
    """Add, update, reactivate and deactivate the org's `provider` members to match `profiles`.

    A new member without a known timezone gets `default_timezone`; an existing one keeps
    theirs unless the profile brings a valid zone. Only a `complete` listing (a whole
    directory) deactivates whom it does not list: a roster that arrives piece by piece
    (one Teams team, one personal install) adds and updates, and deactivates nobody.
    """
    key = external_id_attribute(provider)
    roster = _Roster(list(await db.scalars(select(Member).where(Member.org_id == org_id))), key)
    added = updated = 0
    listed: set[str] = set()
    for profile in _unique_profiles(profiles, key):
        listed.add(_norm(key, profile.external_id))
        change = _take_in(db, roster, org_id, profile, default_timezone)
        added += change.added
        updated += change.updated
    deactivated = _deactivate_unlisted(roster, listed) if complete else 0
    await db.flush()
    if added or updated or deactivated:
        await seats_changed(db, org_id=org_id)  # billing's seats follow, coalesced
    return SyncResult(added=added, updated=updated, deactivated=deactivated)


async def enrol_member(
    db: AsyncSession,
    *,
    org_id: int,
    provider: Provider,
    profile: MemberProfile,
    default_timezone: str,
) -> Member:
    """One person the directory describes, taken in by the rules of a sync (added, or
    linked by email, refreshed and reactivated); nobody else is touched."""
    key = external_id_attribute(provider)
    roster = _Roster(await _candidates(db, org_id, key, profile), key)
    change = _take_in(db, roster, org_id, profile, default_timezone)
    await db.flush()
    if change.added or change.updated:
        await seats_changed(db, org_id=org_id)
    return change.member


async def _candidates(
    db: AsyncSession, org_id: int, key: str, profile: MemberProfile
) -> list[Member]:
    """The members `profile` could match, or whose email it could take."""
    column = getattr(Member, key)
    same: list[ColumnElement[bool]] = [
        func.lower(column) == profile.external_id.lower()
        if key == "email"
        else column == profile.external_id
    ]
    if profile.email:
        same.append(func.lower(Member.email) == profile.email.lower())
    return list(await db.scalars(select(Member).where(Member.org_id == org_id, or_(*same))))


@dataclass(frozen=True, slots=True)
class _Change:
    member: Member
    added: bool = False
    updated: bool = False


def _take_in(
    db: AsyncSession, roster: _Roster, org_id: int, profile: MemberProfile, default_timezone: str
) -> _Change:
    """Add the person `profile` describes, or bring their member up to date."""
    member = roster.match(profile.external_id, profile.email)
    if member is None:
        member = _new_member(roster, org_id, profile, default_timezone)
        db.add(member)
        change = _Change(member, added=True)
    else:
        change = _Change(member, updated=_refresh(roster, member, profile))
    roster.remember(member)
    return change


def _new_member(
    roster: _Roster, org_id: int, profile: MemberProfile, default_timezone: str
) -> Member:
    member = Member(
        org_id=org_id,
        display_name=_display_name(profile),
        email=_email(profile) if roster.email_free_for(_email(profile), None) else None,
        timezone=known_zone(profile.timezone) or default_timezone,
        role=(Role.ADMIN if profile.is_admin else Role.MEMBER).value,
        role_source=RoleSource.WORKSPACE.value,
        active=True,
        language=profile.language,
    )
    setattr(member, roster.key, profile.external_id)
    return member


def _refresh(roster: _Roster, member: Member, profile: MemberProfile) -> bool:
    """Bring `member` up to date with `profile`; whether anything changed."""
    wanted: dict[str, object] = {
        roster.key: getattr(member, roster.key) or profile.external_id,
        "display_name": _display_name(profile),
        "timezone": _zone_for(member, profile.timezone),
        "active": True,
    }
    email = _email(profile)
    if email and roster.email_free_for(email, member) and roster.key != "email":
        wanted["email"] = email
    wanted |= _role_from_directory(member, is_admin=profile.is_admin)
    if member.language is None and profile.language:  # never over the member's own
        wanted["language"] = profile.language
    changed = {name: value for name, value in wanted.items() if getattr(member, name) != value}
    for name, value in changed.items():
        setattr(member, name, value)
    return bool(changed)


def _role_from_directory(member: Member, *, is_admin: bool) -> dict[str, object]:
    """The role (and its origin) a sync gives `member` whose directory says `is_admin`."""
    if member.role == Role.OWNER.value or member.role_source == RoleSource.VIZDOTS.value:
        return {}
    if member.role_source is None and member.role == Role.ADMIN.value and not is_admin:
        return {"role_source": RoleSource.VIZDOTS.value}
    role = Role.ADMIN if is_admin else Role.MEMBER
    return {"role": role.value, "role_source": RoleSource.WORKSPACE.value}


def _zone_for(member: Member, reported: str | None) -> str:
    """The zone a directory reports, unless the member chose theirs (`timezone`)."""
    if member.timezone_chosen:
        return member.timezone
    return known_zone(reported) or member.timezone


def _deactivate_unlisted(roster: _Roster, listed: set[str]) -> int:
    gone = [
        member
        for member in roster.members
        if member.active
        and getattr(member, roster.key)
        and _norm(roster.key, getattr(member, roster.key)) not in listed
    ]
    for member in gone:
        member.active = False
    return len(gone)


def _display_name(profile: MemberProfile) -> str:
    return (profile.display_name or profile.external_id)[:200]


def _email(profile: MemberProfile) -> str | None:
    email = profile.email or None
    return email if email is None or len(email) <= 320 else None
