"""POST /api/email/ses-events: SES bounces and complaints through SNS, signatures checked
against a certificate the test makes and serves (SNS_TRUSTED_URL_PREFIX names the fake)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.app import create_app
from bot.bootstrap import Services, build_services
from bot.settings import load_settings
from core.store.models import EmailSuppression, Member, Organization
from tests.fakes.clock import FakeClock
from tests.fakes.sns import TOPIC, FakeSns, bounce, complaint, fake_sns

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
ROUTE = "/api/email/ses-events"


@dataclass
class World:
    client: httpx.AsyncClient
    services: Services
    sns: FakeSns

    async def post(self, message: dict[str, Any]) -> httpx.Response:
        headers = {"x-amz-sns-message-type": str(message.get("Type")), "content-type": "text/plain"}
        return await self.client.post(ROUTE, content=json.dumps(message), headers=headers)

    async def suppressed(self) -> dict[str, str]:
        async with self.services.sessions() as db:
            rows = await db.execute(select(EmailSuppression.address, EmailSuppression.reason))
            return {address: reason for address, reason in rows}

    async def members(self) -> dict[tuple[str, str], str | None]:
        """(org slug, email) → email_suppressed."""
        async with self.services.sessions() as db:
            rows = await db.execute(
                select(Organization.slug, Member.email, Member.email_suppressed).join(
                    Organization, Organization.id == Member.org_id
                )
            )
            return {(slug, email): suppressed for slug, email, suppressed in rows}


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[World]:
    async with fake_sns(NOW) as sns:
        settings = load_settings(
            database_url=db_url,
            sns_trusted_url_prefix=sns.url + "/",
            ses_sns_topic_arn=TOPIC,
            link_signing_secret="link-secret-for-the-tests-0123456789",
        )
        services = build_services(settings, clock=FakeClock(NOW), loop_interval=None)
        app = create_app(services)
        async with app.router.lifespan_context(app):
            await _two_orgs_sharing_an_address(services)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield World(client=client, services=services, sns=sns)


async def _two_orgs_sharing_an_address(services: Services) -> None:
    async with services.sessions.begin() as db:
        for slug in ("acme", "globex"):
            org = Organization(slug=slug, name=slug.title())
            db.add(org)
            await db.flush()
            db.add(Member(org_id=org.id, display_name="Pat", email="pat@shared.io"))
            db.add(Member(org_id=org.id, display_name="Kim", email=f"kim@{slug}.io"))


async def test_a_signed_permanent_bounce_suppresses_the_address_in_every_org(
    world: World,
) -> None:
    message = world.sns.sign(world.sns.notification(bounce("Pat@Shared.io")), version="1")
    response = await world.post(message)
    assert response.status_code == 200 and response.json()["suppressed"] == 1
    assert await world.suppressed() == {"pat@shared.io": "bounce"}
    members = await world.members()
    assert members[("acme", "pat@shared.io")] == members[("globex", "pat@shared.io")] == "bounce"
    assert members[("acme", "kim@acme.io")] is None
    assert (await world.post(message)).status_code == 200  # a redelivery: the same rows
    assert await world.suppressed() == {"pat@shared.io": "bounce"}


async def test_a_complaint_suppresses_too_signature_version_2(world: World) -> None:
    event = complaint("kim@globex.io")
    response = await world.post(world.sns.sign(world.sns.notification(event), version="2"))
    assert response.status_code == 200
    assert await world.suppressed() == {"kim@globex.io": "complaint"}
    assert (await world.members())[("globex", "kim@globex.io")] == "complaint"


async def test_a_transient_bounce_suppresses_nothing(world: World) -> None:
    event = bounce("pat@shared.io", kind="Transient", event_publishing=True)
    response = await world.post(world.sns.sign(world.sns.notification(event, Subject="x")))
    assert response.status_code == 200
    assert await world.suppressed() == {}
    assert set((await world.members()).values()) == {None}


async def test_a_bad_signature_is_403_and_changes_nothing(world: World) -> None:
    signed = world.sns.sign(world.sns.notification(bounce("kim@acme.io")))
    forged = {**signed, "Message": json.dumps(bounce("pat@shared.io"))}
    unsigned = {k: v for k, v in signed.items() if k != "Signature"}
    garbled = {**signed, "Signature": "not base64!"}
    unknown_version = {**signed, "SignatureVersion": "3"}
    for message in (forged, unsigned, garbled, unknown_version):
        assert (await world.post(message)).status_code == 403
    assert await world.suppressed() == {}
    assert set((await world.members()).values()) == {None}


async def test_a_subscription_confirmation_fetches_the_subscribe_url(world: World) -> None:
    response = await world.post(world.sns.sign(world.sns.subscription(), version="2"))
    assert response.status_code == 200 and response.json()["detail"] == "subscription confirmed"
    assert "" in world.sns.fetched  # the SubscribeURL (the fake's root) was fetched


async def test_a_foreign_certificate_or_subscribe_host_is_refused(world: World) -> None:
    foreign = [
        "https://sns.eu-west-1.amazonaws.com.evil.io/cert.pem",
        "https://evil.io/sns.eu-west-1.amazonaws.com/cert.pem",
        "http://sns.eu-west-1.amazonaws.com/cert.pem",
    ]
    for cert_url in foreign:
        message = world.sns.notification(bounce("pat@shared.io"), SigningCertURL=cert_url)
        assert (await world.post(world.sns.sign(message))).status_code == 403
    subscription = world.sns.subscription(SubscribeURL="https://evil.io/?Action=Confirm")
    assert (await world.post(world.sns.sign(subscription))).status_code == 403
    assert all(path.endswith(".pem") for path in world.sns.fetched)  # nothing confirmed
    assert await world.suppressed() == {}


async def test_another_topic_is_refused(world: World) -> None:
    message = world.sns.notification(bounce("pat@shared.io"), TopicArn=TOPIC + "-other")
    assert (await world.post(world.sns.sign(message))).status_code == 403
    assert await world.suppressed() == {}


async def test_a_malformed_body_is_400(world: World) -> None:
    signed_nonsense = world.sns.sign(world.sns.notification({}) | {"Message": "not json"})
    for body in (b"not json", b"[]", b'{"Type": "Nonsense"}', json.dumps(signed_nonsense).encode()):
        assert (await world.client.post(ROUTE, content=body)).status_code == 400, body
    assert await world.suppressed() == {}
