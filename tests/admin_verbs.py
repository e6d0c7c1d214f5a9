"""The verbs only admins may use, each with a line that runs it, and a picture of every
row a command could change. Each channel's refusal test is generated from this table,
which must name every command in core's ADMIN_COMMANDS (tests/unit/test_admin_verbs.py):
a verb taken out of that set by mistake is still tried here, and then not refused."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.commands import types as c
from core.commands.help import COMMAND_WORDS
from core.store.models import Base

ADMIN_VERB_LINES: dict[type[c.Command], str] = {
    c.ScheduleSet: "schedule set daily mon-fri 09:30",
    c.SchedulePause: "schedule pause daily",
    c.ScheduleResume: "schedule resume daily",
    c.AgentsEnable: "agents enable daily",
    c.AgentsDisable: "agents disable daily",
    c.MembersList: "members",
    c.MembersSync: "members sync",
    c.Report: "report",
    c.Billing: "billing",
    c.TokenCreate: "token ci",
    c.TokenRevoke: "token revoke vzd_1a2b3c4d",
    c.Dashboard: "dashboard",
    c.HolidaysOrg: "holidays org DE",
    c.LanguageOrg: "language org de",
}

#: The verbs to try: the table's and any that core declares but the table lacks (their
#: test then fails, asking for a line).
ADMIN_VERBS = sorted(set(ADMIN_VERB_LINES) | set(c.ADMIN_COMMANDS), key=lambda t: t.__name__)

#: Where a request leaves its own traces (the inbox, sends, replay guards): not changes.
_TRANSPORT = {"inbound_events", "outbox", "seen_requests", "messages"}
#: A member's chat address, learnt from any message they send: not a change either.
_ADDRESSES = {"teams_conversation_ref", "slack_dm_channel_id"}


def line_of(verb: type[c.Command]) -> str:
    assert verb in ADMIN_VERB_LINES, f"give {verb.__name__} a line in ADMIN_VERB_LINES"
    return ADMIN_VERB_LINES[verb]


async def all_rows(sessions: async_sessionmaker[AsyncSession]) -> dict[str, list[Any]]:
    """Every row of every table a command could change, in a comparable form."""
    rows: dict[str, list[Any]] = {}
    async with sessions() as db:
        for table in Base.metadata.sorted_tables:
            if table.name not in _TRANSPORT:
                columns = [column for column in table.c if column.name not in _ADDRESSES]
                result = await db.execute(select(*columns))
                rows[table.name] = sorted(map(repr, result.all()))
    return rows


def is_refusal(reply: str, verb: type[c.Command]) -> bool:
    return reply.startswith("Sorry, only admins can use") and COMMAND_WORDS[verb] in reply
