"""`dashboard`: a link that signs the admin in to the dots dashboard.

The link is signed (with its own salt), expires after a few minutes and works once (its
random nonce is recorded when it is used). It is in the reply only: Slack shows the reply
ephemerally, to the admin alone. The audit log records that a link was given, never the
link."""

from __future__ import annotations

import secrets

from core.admin.audit import ChangeActor, record_change
from core.commands import types as c
from core.commands.context import CommandContext
from core.i18n import N_, _

NO_DASHBOARD = N_("The dashboard is not served by this VizDots installation.")


async def dashboard_link(ctx: CommandContext, command: c.Dashboard) -> str:
    if ctx.dashboard_links is None:
        return _(NO_DASHBOARD)
    url = ctx.dashboard_links.dashboard(
        org_id=ctx.org.id, member_id=ctx.member.id, nonce=secrets.token_urlsafe(24)
    )
    actor = ChangeActor(via="chat", label=ctx.member.display_name, member_id=ctx.member.id)
    record_change(ctx.db, org_id=ctx.org.id, actor=actor, action="dashboard.link")
    return _(
        "Your dashboard link, for you only: {url}\n"
        "It works once, within 10 minutes. Type `dashboard` again for a new one.",
        url=url,
    )
