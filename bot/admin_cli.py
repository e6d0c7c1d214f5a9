"""The work behind `vizdots admin-token …` and `vizdots member …` (bot/cli.py parses
the flags): an org-scoped transaction acting as the operator (audited as the CLI)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import select

from bot.bootstrap import Services
from core.admin.audit import CLI
from core.admin.privacy import erase_member, export_member, member_by_email
from core.admin.scope import OrgScope
from core.admin.tokens import PREFIX, TokenRole, create_token, list_tokens, revoke_token
from core.store.models import Organization

T = TypeVar("T")


class NotThere(LookupError):
    """An unknown --org, --email or token: the CLI prints it as one line."""


async def in_org(services: Services, slug: str, work: Callable[[OrgScope], Awaitable[T]]) -> T:
    async with services.sessions.begin() as db:
        org_id = await db.scalar(select(Organization.id).where(Organization.slug == slug))
        if org_id is None:
            raise NotThere(f"no organisation with slug {slug!r} (`vizdots report` lists them)")
        scope = OrgScope(db=db, org_id=org_id, actor=CLI, clock=services.clock,
                         sessions=services.sessions)  # fmt: skip
        return await work(scope)


async def token_create(services: Services, *, org: str, name: str, role: TokenRole) -> str:
    async def work(scope: OrgScope) -> str:
        made = await create_token(scope.db, org_id=scope.org_id, name=name, role=role,
                                  actor=CLI, now=scope.clock.now())  # fmt: skip
        return made.plaintext

    return await in_org(services, org, work)


async def token_list(services: Services, *, org: str) -> list[dict[str, Any]]:
    async def work(scope: OrgScope) -> list[dict[str, Any]]:
        return [
            {"prefix": f"{PREFIX}{row.public_id}", "name": row.name, "role": row.role,
             "created_by": row.created_by, "created_at": row.created_at,
             "last_used_at": row.last_used_at, "revoked_at": row.revoked_at}
            for row in await list_tokens(scope.db, org_id=scope.org_id)
        ]  # fmt: skip

    return await in_org(services, org, work)


async def token_revoke(services: Services, *, org: str, prefix: str) -> str:
    async def work(scope: OrgScope) -> str:
        row = await revoke_token(scope.db, org_id=scope.org_id, public_id=prefix, actor=CLI,
                                 now=scope.clock.now())  # fmt: skip
        if row is None:
            raise NotThere(f"no token {prefix!r} in {org} (`vizdots admin-token list --org {org}`)")
        return f"{PREFIX}{row.public_id}"

    return await in_org(services, org, work)


async def member_export(services: Services, *, org: str, email: str) -> dict[str, Any]:
    async def work(scope: OrgScope) -> dict[str, Any]:
        member = await _member(scope, email, org)
        exported = await export_member(scope, member)
        scope.record("member.export", member_id=member)
        return exported

    return await in_org(services, org, work)


async def member_delete(services: Services, *, org: str, email: str) -> dict[str, int]:
    async def work(scope: OrgScope) -> dict[str, int]:
        return await erase_member(scope, await _member(scope, email, org))

    return await in_org(services, org, work)


async def _member(scope: OrgScope, email: str, org: str) -> int:
    member = await member_by_email(scope, email)
    if member is None:
        raise NotThere(f"no member with email {email!r} in {org}")
    return member.id
