"""A fake SNS for the tests: its own signing certificate (self-signed RSA), served with
a SubscribeURL endpoint on a local port, and messages signed as SNS signs them."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from fastapi import FastAPI, Response

from tests.fakes.http_server import serving

TOPIC = "arn:aws:sns:eu-west-1:123456789012:ses-events"
#: The fields SNS signs, by message type (AWS: "Verifying the signatures of Amazon SNS
#: messages"), written out here independently of the code under test.
SIGNED = {
    "Notification": ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
    "SubscriptionConfirmation": [
        "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type",
    ],
}  # fmt: skip


def make_certificate(now: datetime) -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, certificate.public_bytes(serialization.Encoding.PEM)


@dataclass
class FakeSns:
    url: str
    key: rsa.RSAPrivateKey
    fetched: list[str] = field(default_factory=list)

    @property
    def cert_url(self) -> str:
        return f"{self.url}/SimpleNotificationService-test.pem"

    def sign(self, message: dict[str, Any], *, version: str = "1") -> dict[str, Any]:
        fields = SIGNED[message["Type"]]
        text = "".join(f"{k}\n{message[k]}\n" for k in fields if k in message)
        digest = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = self.key.sign(text.encode(), padding.PKCS1v15(), digest)
        return {
            **message,
            "SignatureVersion": version,
            "Signature": base64.b64encode(signature).decode(),
            "SigningCertURL": message.get("SigningCertURL", self.cert_url),
        }

    def notification(self, event: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "Type": "Notification",
            "MessageId": "b2c1d9f1-0000-4000-8000-000000000001",
            "TopicArn": TOPIC,
            "Message": json.dumps(event),
            "Timestamp": "2026-11-25T11:59:00.000Z",
            **extra,
        }

    def subscription(self, **extra: Any) -> dict[str, Any]:
        return {
            "Type": "SubscriptionConfirmation",
            "MessageId": "b2c1d9f1-0000-4000-8000-000000000002",
            "Token": "2336412f37fb687f5d51e6e2425a8a58",
            "TopicArn": TOPIC,
            "Message": "You have chosen to subscribe to the topic.",
            "SubscribeURL": f"{self.url}/?Action=ConfirmSubscription&Token=2336412f",
            "Timestamp": "2026-11-25T11:59:00.000Z",
            **extra,
        }


@asynccontextmanager
async def fake_sns(now: datetime) -> AsyncIterator[FakeSns]:
    key, pem = make_certificate(now)
    app = FastAPI()
    fetched: list[str] = []

    @app.get("/{path:path}")
    async def anything(path: str) -> Response:
        fetched.append(path)
        if path.endswith(".pem"):
            return Response(pem, media_type="application/x-pem-file")
        return Response("<ConfirmSubscriptionResponse/>", media_type="text/xml")

    async with serving(app) as url:
        yield FakeSns(url=url, key=key, fetched=fetched)


def bounce(
    *addresses: str, kind: str = "Permanent", event_publishing: bool = False
) -> dict[str, Any]:
    recipients = [{"emailAddress": a, "status": "5.1.1"} for a in addresses]
    body = {"bounceType": kind, "bounceSubType": "General", "bouncedRecipients": recipients}
    type_key = "eventType" if event_publishing else "notificationType"
    return {type_key: "Bounce", "bounce": body, "mail": {"messageId": "0100-ses"}}


def complaint(*addresses: str) -> dict[str, Any]:
    recipients = [{"emailAddress": a} for a in addresses]
    body = {"complainedRecipients": recipients, "complaintFeedbackType": "abuse"}
    return {"eventType": "Complaint", "complaint": body, "mail": {"messageId": "0100-ses"}}
