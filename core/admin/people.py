"""The organisation's settings and its members, as an admin reads and changes them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func

from core.admin.scope import BadInput, OrgScope
from core.domain import Role
from core.i18n import LANGUAGES
from core.members import RoleSource
from core.public_holidays import UnknownRegion, parse_region
from core.store.models import Member, Organization

#: Settings an admin may change through the API (billing fields follow Stripe only).
SAFE_ORG_FIELDS = (
    "name", "store_ai_text", "anonymity_threshold", "mood_drop_alert", "holiday_region",
    "language",
)  # fmt: skip
#: Settings whose every change is audited with its old and new value.
PRIVACY_FIELDS = ("anonymity_threshold", "mood_drop_alert")
#: DESIGN.md's floor: per-person data of a smaller group is shown only by an explicit choice.
DEFAULT_ANONYMITY_THRESHOLD = 5


async def org_of(scope: OrgScope) -> Organization:
    return await scope.db.get_one(Organization, scope.org_id)


async def update_org(
    scope: OrgScope, changes: dict[str, object], *, lower_anonymity_threshold: bool = False
) -> Organization:
    """Change safe settings. An anonymity threshold below 5 needs
    `lower_anonymity_threshold` (the admin's explicit confirmation)."""
    org = await org_of(scope)
    unsafe = set(changes) - set(SAFE_ORG_FIELDS)
    if unsafe:
        raise BadInput(f"only {', '.join(SAFE_ORG_FIELDS)} can be changed here")
    _check_threshold(changes.get("anonymity_threshold"), confirmed=lower_anonymity_threshold)
    if "holiday_region" in changes:
        changes = changes | {"holiday_region": _region(changes["holiday_region"])}
    if "language" in changes:
        _check_language(changes["language"])
    changed = {k: v for k, v in changes.items() if getattr(org, k) != v}
    for key in sorted(set(changed) & set(PRIVACY_FIELDS)):
        scope.record("org.setting", field=key, old=getattr(org, key), new=changed[key])
    for key, value in changed.items():
        setattr(org, key, value)
    if changed:
        scope.record("org.update", fields=sorted(changed))
    return org


def _region(value: object) -> str | None:
    """A public-holiday region in its canonical form; "off" (or "") for none."""
    text = str(value).strip()
    if text.lower() in ("", "off"):
        return None
    try:
        return parse_region(text)
    except UnknownRegion as unknown:
        raise BadInput(str(unknown)) from None


def _check_language(value: object) -> None:
    if value not in LANGUAGES:
        raise BadInput(f"language must be one of {', '.join(LANGUAGES)}")


def _check_threshold(value: object, *, confirmed: bool) -> None:
    if isinstance(value, int) and value < DEFAULT_ANONYMITY_THRESHOLD and not confirmed:
        raise BadInput(
            f"an anonymity threshold below {DEFAULT_ANONYMITY_THRESHOLD} shows answers of "
            'people in small groups: send "lower_anonymity_threshold": true to confirm'
        )


async def list_members(scope: OrgScope, *, include_deleted: bool = False) -> Sequence[Member]:
    query = scope.select(Member).order_by(func.lower(Member.display_name), Member.id)
    if not include_deleted:
        query = query.where(Member.deleted_at.is_(None))
    return (await scope.db.scalars(query)).all()


@dataclass(frozen=True, slots=True)
class MemberChange:
    role: Role | None = None
    active: bool | None = None


async def change_member(
    scope: OrgScope, member_id: int, change: MemberChange, *, may_touch_owners: bool
) -> Member:
    """A new role, or deactivation (`active=False`; True reactivates). Only an owner's
    token makes or unmakes owners, and the last active owner stays."""
    member = await scope.get(Member, member_id)
    if member.deleted_at is not None:
        raise BadInput("this member's personal data was erased; nothing can change")
    owners_involved = Role.OWNER in {change.role, Role(member.role)}
    if owners_involved and change.role not in (None, Role(member.role)) and not may_touch_owners:
        raise PermissionError("only an owner's token can make or unmake owners")
    if change.role is not None and change.role != Role(member.role):
        await _keep_an_owner(scope, member, leaving=member.role == Role.OWNER)
        scope.record("member.role", member_id=member.id, old=member.role, new=change.role.value)
        member.role = change.role.value
        member.role_source = RoleSource.VIZDOTS.value  # a members sync leaves it alone
    if change.active is not None and change.active != member.active:
        if not change.active:
            await _keep_an_owner(scope, member, leaving=member.role == Role.OWNER)
        member.active = change.active
        scope.record(
            "member.activate" if change.active else "member.deactivate", member_id=member.id
        )
    return member


async def _keep_an_owner(scope: OrgScope, member: Member, *, leaving: bool) -> None:
    if not leaving:
        return
    others = await scope.db.scalar(
        scope.select(Member, func.count()).where(
            Member.role == Role.OWNER.value, Member.active.is_(True), Member.id != member.id
        )
    )
    if not others:
        raise BadInput("an organisation keeps at least one active owner")
