"""Proactive sends with a real app id: the connector token comes from Microsoft Entra ID
through the Agents SDK's MSAL provider (client credentials), unchanged, against a local
token endpoint (tests.fakes.entra); the fake connector sees the bearer token it issued.
A token endpoint that refuses makes the send fail retryably: the message waits in the
outbox and goes out once a token is given."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core.store.models import OutboxMessage
from tests.fakes.bot_tokens import TokenIssuer, trusting
from tests.fakes.clock import FakeClock
from tests.fakes.entra import FakeEntra, entra_reachable
from tests.fakes.http_server import eventually
from tests.fakes.teams_world import BEN, OLIVE, TENANT, TeamsWorld, teams_world

APP_ID = "00000000-0000-0000-0000-0000000a9901"
SECRET = "not-a-real-secret-7Q~x"


@pytest.fixture
async def entra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[FakeEntra]:
    async with entra_reachable(monkeypatch, tmp_path) as entra:
        yield entra


@pytest.fixture
async def world(db_url: str, entra: FakeEntra) -> AsyncIterator[TeamsWorld]:
    issuer = TokenIssuer()
    async with trusting(issuer, tenant=TENANT), teams_world(
        db_url, workers=True, microsoft_app_id=APP_ID, microsoft_app_password=SECRET,
        microsoft_app_tenant_id=TENANT, teams_emulator=False,
    ) as world:  # fmt: skip
        world.activities.token = issuer.token(audience=APP_ID, service_url=world.connector.base_url)
        yield world


async def test_a_proactive_send_carries_the_token_entra_issued_to_the_app(
    world: TeamsWorld, entra: FakeEntra
) -> None:
    response = await world.activities.post(world.activities.personal_install(OLIVE))
    assert response.status_code == 200
    [welcome] = await world.said_to(OLIVE, 1)  # sent by the outbox, proactively
    assert "installed" in welcome
    [asked] = entra.requests
    assert asked["grant_type"] == "client_credentials"
    assert (asked["client_id"], asked["client_secret"]) == (APP_ID, SECRET)
    assert asked["scope"].split() == ["https://api.botframework.com/.default"]
    assert entra.tenants == [TENANT]
    sends = [c for c in world.connector.calls if c[0] == "send"]
    assert [authorization for _, _, authorization in sends] == [f"Bearer {entra.issued[0]}"]


async def test_a_token_endpoint_that_refuses_delays_the_send_and_loses_nothing(
    world: TeamsWorld, entra: FakeEntra, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    entra.refuse = True
    await world.activities.post(world.activities.personal_install(OLIVE))
    await eventually(lambda: _waiting_after_a_try(world))
    assert world.connector.calls == []  # nothing reached the connector without a token
    async with world.services.sessions() as db:
        row = await db.get_one(OutboxMessage, 1)
    assert row.last_error is not None and "token" in row.last_error and SECRET not in row.last_error
    entra.refuse = False
    clock = world.services.clock
    assert isinstance(clock, FakeClock)
    clock.advance(timedelta(minutes=10))  # past the outbox's back-off
    [welcome] = await world.said_to(OLIVE, 1)
    assert "installed" in welcome
    [(_, _, authorization)] = world.connector.calls
    assert authorization == f"Bearer {entra.issued[0]}"
    assert "Entra ID gave no token" in caplog.text
    assert_logs_hold_none_of(caplog, [SECRET, entra.issued[0]])


async def _waiting_after_a_try(world: TeamsWorld) -> bool:
    async with world.services.sessions() as db:
        row = await db.get(OutboxMessage, 1)
    return row is not None and row.status == "pending" and row.attempts >= 1


async def test_logs_at_debug_hold_no_secret_token_or_message_text(
    world: TeamsWorld, entra: FakeEntra, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert logging.getLogger("microsoft_agents").getEffectiveLevel() == logging.WARNING
    said = ["schedule set daily mon-fri 09:30", "Nightingale launch prep", "waiting on Zed"]
    await world.installed(OLIVE, BEN)
    await world.said_to(OLIVE, 1)
    await world.activities.post(world.activities.personal(OLIVE, said[0]))
    await world.said_to(OLIVE, 2)
    await world.plan_and_deliver()
    [question] = await _cards_to(world, BEN)
    await world.activities.post(world.activities.press(BEN, question["actions"][3]))
    for count, text in enumerate(said[1:], start=3):
        await world.said_to(BEN, count - 1)
        await world.activities.post(world.activities.personal(BEN, text))
    await world.said_to(BEN, 4)
    assert entra.issued and world.activities.token
    assert_logs_hold_none_of(caplog, [SECRET, world.activities.token, *entra.issued, *said])


def assert_logs_hold_none_of(caplog: pytest.LogCaptureFixture, secrets: list[str]) -> None:
    logged = "\n".join(_all_of(record) for record in caplog.records)
    assert caplog.records
    for secret in secrets:
        assert secret not in logged, secret


async def _cards_to(world: TeamsWorld, person: tuple[str, str, str]) -> list[dict[str, Any]]:
    await world.said_to(person, 1)
    return [s.card for s in world.connector.sent_to(world.chat(person)) if s.card]


def _all_of(record: logging.LogRecord) -> str:
    """A record's message, arguments and exception, as any handler could write them."""
    parts = [record.getMessage(), repr(record.args), str(record.exc_info or "")]
    if record.exc_info and record.exc_info[1] is not None:
        parts.append(repr(record.exc_info[1]))
    return " ".join(parts)
