"""/api/messages with an app id: every activity's JWT is validated by the Agents SDK
(keys from a local JWKS, tests.fakes.bot_tokens); anything refused changes nothing.
Also: 503 without Teams configured, 413 and 400 for bodies Teams never sends."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from core.store.models import InboundEvent, Installation, Member
from tests.fakes.bot_tokens import TokenIssuer, trusting
from tests.fakes.teams_world import OLIVE, TENANT, TeamsWorld, teams_world

APP_ID = "00000000-0000-0000-0000-00000000a99"


@pytest.fixture(scope="module")
def issuer() -> TokenIssuer:
    return TokenIssuer()


@pytest.fixture
async def world(db_url: str, issuer: TokenIssuer) -> AsyncIterator[TeamsWorld]:
    async with trusting(issuer, tenant=TENANT), teams_world(
        db_url, microsoft_app_id=APP_ID, microsoft_app_password="secret",
        microsoft_app_tenant_id=TENANT, teams_emulator=False,
    ) as world:  # fmt: skip
        yield world


def token(world: TeamsWorld, signer: TokenIssuer, **options: object) -> str:
    fields: dict[str, object] = {"audience": APP_ID, "service_url": world.connector.base_url}
    return signer.token(**(fields | options))  # type: ignore[arg-type]


async def nothing_changed(world: TeamsWorld) -> bool:
    return (
        await world.count(InboundEvent) == 0
        and await world.count(Member) == 0
        and await world.count(Installation) == 0
    )


async def test_a_signed_activity_is_stored(world: TeamsWorld, issuer: TokenIssuer) -> None:
    response = await world.activities.post(
        world.activities.personal(OLIVE, "help"), token=token(world, issuer)
    )
    assert response.status_code == 200
    assert await world.count(InboundEvent) == 1
    olive = await world.member("aad-olive")
    assert olive.role == "owner" and olive.teams_conversation_ref is not None


@pytest.mark.parametrize(
    "bad",
    [
        {"audience": "someone-else"},
        {"expires_in": -3600},
        {"issuer": "https://evil.example/"},
        {"issuer": "https://sts.windows.net/11111111-1111-1111-1111-111111111111/"},
        {"service_url": "https://elsewhere.example/"},
        {"key": rsa.generate_private_key(public_exponent=65537, key_size=2048)},
    ],
    ids=["audience", "expired", "foreign-issuer", "other-tenant", "service-url", "other-key"],
)
async def test_a_bad_token_is_refused_and_changes_nothing(
    world: TeamsWorld, issuer: TokenIssuer, bad: dict[str, object]
) -> None:
    response = await world.activities.post(
        world.activities.personal(OLIVE, "help"), token=token(world, issuer, **bad)
    )
    assert response.status_code == 401
    assert await nothing_changed(world)


@pytest.mark.parametrize("header", [None, "Bearer", "Basic abc", "Bearer not.a.jwt"])
async def test_a_missing_or_malformed_header_is_refused(
    world: TeamsWorld, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    response = await world.activities.client.post(
        f"{world.activities.base_url}/api/messages",
        json=world.activities.personal(OLIVE, "help"),
        headers=headers,
    )
    assert response.status_code == 401
    assert await nothing_changed(world)


async def test_bodies_teams_never_sends(world: TeamsWorld, issuer: TokenIssuer) -> None:
    signed = token(world, issuer)
    too_big = b'{"type": "message", "text": "' + b"x" * 1_100_000 + b'"}'
    assert (await world.activities.post(too_big, token=signed)).status_code == 413
    assert (await world.activities.post(b"{not json", token=signed)).status_code == 400
    assert (await world.activities.post(b"[1, 2]", token=signed)).status_code == 400
    no_conversation = b'{"type": "message", "serviceUrl": "https://x.example/"}'
    assert (await world.activities.post(no_conversation, token=signed)).status_code == 400
    assert await nothing_changed(world)


async def test_without_teams_configured_the_endpoint_says_so(db_url: str) -> None:
    from bot.app import create_app
    from bot.bootstrap import build_services
    from bot.settings import load_settings

    services = build_services(load_settings(database_url=db_url), loop_interval=None)
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post("/api/messages", json={"type": "message"})
    await services.close()
    assert response.status_code == 503 and "not configured" in response.json()["error"]
