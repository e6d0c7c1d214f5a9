"""Admin API tokens: stored only as a hash, recognisable by their prefix, last use
recorded at most once a minute, revocable — from core, a chat command and the CLI."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.admin.audit import CLI
from core.admin.dots import DotFilter, stream_dots
from core.admin.scope import OrgScope
from core.admin.tokens import TokenRole, create_token, revoke_token, verify_token
from core.commands.service import run_command
from core.domain import Provider
from core.inbound import CommandRequest, Sender
from core.store.engine import make_sessionmaker
from core.store.models import AdminToken, AuditEntry
from tests.fakes.admin_world import NOW, build_org
from tests.fakes.clock import FakeClock
from tests.integration.test_cli import vizdots


async def test_only_the_hash_is_stored_and_use_is_recorded_once_a_minute(
    engine: AsyncEngine,
) -> None:
    sessions = make_sessionmaker(engine)
    acme = await build_org(sessions, "acme")
    async with sessions.begin() as db:
        made = await create_token(
            db, org_id=acme.org_id, name="ci", role=TokenRole.VIEWER, actor=CLI, now=NOW
        )
    assert made.plaintext.startswith(made.prefix + "_") and len(made.plaintext) == 56
    async with engine.connect() as connection:
        dump = " ".join(
            str(row) for row in await connection.execute(text("SELECT * FROM admin_tokens"))
        )
    assert made.plaintext not in dump and made.plaintext[len(made.prefix) + 1 :] not in dump
    assert hashlib.sha256(made.plaintext.encode()).hexdigest() in dump
    for at, recorded in [
        (NOW, NOW),
        (NOW + timedelta(seconds=30), NOW),
        (NOW + timedelta(minutes=2), NOW + timedelta(minutes=2)),
    ]:
        async with sessions.begin() as db:
            assert await verify_token(db, made.plaintext, now=at) is not None
            row = await db.get_one(AdminToken, made.id, populate_existing=True)
        assert row.last_used_at == recorded
    async with sessions.begin() as db:
        other_last = "B" if made.plaintext.endswith("A") else "A"  # never the token itself
        assert await verify_token(db, made.plaintext[:-1] + other_last, now=NOW) is None
        await revoke_token(db, org_id=acme.org_id, public_id=made.prefix, actor=CLI, now=NOW)
    async with sessions.begin() as db:
        assert await verify_token(db, made.plaintext, now=NOW) is None


async def test_admins_get_a_token_in_chat_and_members_do_not(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    acme = await build_org(sessions, "acme")

    async def say(who: str, words: str) -> str:
        request = CommandRequest(sender=Sender(Provider.SLACK, "T1", who), text=words)
        reply = await run_command(
            sessions=sessions, request=request, directory=None, clock=FakeClock(NOW)
        )
        return reply.text

    async with sessions.begin() as db:  # the members speak from Slack workspace T1
        from core.store.models import Installation

        db.add(Installation(org_id=acme.org_id, provider="slack", external_id="T1"))
    refused = await say("Uacmebo", "token")
    assert "only admins" in refused
    reply = await say("Uacmeana", "token reporting")
    plaintext = next(word.strip("`") for word in reply.split() if word.startswith("`vzd_"))
    async with sessions.begin() as db:
        token = await verify_token(db, plaintext, now=NOW)
        assert token is not None and token.role is TokenRole.OWNER and token.name == "reporting"
        audit = (
            await db.scalars(select(AuditEntry).where(AuditEntry.action == "admin_token.create"))
        ).all()
    assert [a.detail["via"] for a in audit][-1] == "chat" and plaintext not in str(audit[-1].detail)
    assert "revoked" in await say("Uacmeana", f"token revoke vzd_{token.public_id}")


async def test_dots_stream_from_the_database_a_chunk_at_a_time(
    engine: AsyncEngine, monkeypatch
) -> None:
    import core.admin.dots as dots_module

    sessions = make_sessionmaker(engine)
    acme = await build_org(sessions, "acme")
    monkeypatch.setattr(dots_module, "STREAM_CHUNK", 5)
    async with sessions.begin() as db:
        scope = OrgScope(
            db=db, org_id=acme.org_id, actor=CLI, clock=FakeClock(NOW), sessions=sessions
        )
        chunks = [len(chunk) async for chunk in stream_dots(scope, DotFilter())]
    assert chunks == [5, 5, 2]  # 3 members × 2 days × 2 dots


def test_the_cli_makes_lists_and_revokes_tokens_and_erases_a_member(db_url: str) -> None:
    assert vizdots(db_url, "demo", "--now", "2026-11-25T12:00:00+00:00").returncode == 0
    made = vizdots(
        db_url, "admin-token", "create", "--org", "demo", "--name", "reports", "--role", "viewer"
    )
    assert made.returncode == 0, made.stderr
    plaintext = made.stdout.strip()
    listed = json.loads(vizdots(db_url, "admin-token", "list", "--org", "demo").stdout)
    assert [(t["name"], t["role"]) for t in listed] == [("reports", "viewer")]
    assert plaintext not in json.dumps(listed)
    revoked = vizdots(db_url, "admin-token", "revoke", listed[0]["prefix"], "--org", "demo")
    assert revoked.returncode == 0 and "revoked vzd_" in revoked.stdout
    unknown = vizdots(db_url, "admin-token", "list", "--org", "nope")
    assert unknown.returncode == 1 and unknown.stderr.count("\n") == 1 and "nope" in unknown.stderr
    exported = json.loads(
        vizdots(
            db_url, "member", "export", "--org", "demo", "--email", "ben@demo.vizdots.dev"
        ).stdout
    )
    assert exported["profile"]["email"] == "ben@demo.vizdots.dev"
    erased = vizdots(db_url, "member", "delete", "--org", "demo", "--email", "ben@demo.vizdots.dev")
    assert erased.returncode == 0, erased.stderr
    gone = vizdots(db_url, "member", "export", "--org", "demo", "--email", "ben@demo.vizdots.dev")
    assert gone.returncode == 1 and "no member" in gone.stderr
