"""`token [name]` and `token revoke <prefix>`: admin API tokens from a chat.

The new token is in the reply only (Slack shows it ephemerally, to the admin alone)."""

from __future__ import annotations

from core.admin.audit import ChangeActor
from core.admin.tokens import PREFIX, TokenRole, create_token, revoke_token
from core.commands import types as c
from core.commands.context import CommandContext
from core.i18n import _


def _actor(ctx: CommandContext) -> ChangeActor:
    return ChangeActor(via="chat", label=ctx.member.display_name, member_id=ctx.member.id)


async def create_api_token(ctx: CommandContext, command: c.TokenCreate) -> str:
    name = command.name or _("made in chat by {name}", name=ctx.member.display_name)
    role = TokenRole.OWNER if ctx.member.role == TokenRole.OWNER.value else TokenRole.ADMIN
    token = await create_token(
        ctx.db, org_id=ctx.org.id, name=name, role=role, actor=_actor(ctx), now=ctx.clock.now()
    )
    return _(
        "Your admin API token **{name}** ({role}), shown only this once:\n"
        "`{token}`\n"
        "Send it as `Authorization: Bearer <token>` to /api/admin/v1. "
        "`token revoke {prefix}` revokes it.",
        name=token.name, role=role.value, token=token.plaintext, prefix=token.prefix,
    )  # fmt: skip


async def revoke_api_token(ctx: CommandContext, command: c.TokenRevoke) -> str:
    row = await revoke_token(
        ctx.db, org_id=ctx.org.id, public_id=command.public_id, actor=_actor(ctx),
        now=ctx.clock.now(),
    )  # fmt: skip
    if row is None:
        return _(
            "There is no token {prefix} in this organisation.", prefix=PREFIX + command.public_id
        )
    return _(
        "Token {prefix} ({name}) is revoked: it no longer works.",
        prefix=PREFIX + row.public_id,
        name=row.name,
    )
