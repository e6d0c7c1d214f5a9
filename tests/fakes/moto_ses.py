"""moto's SES v2 as a real HTTP server on a free port, with the sender verified."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from adapters.email.ses import SesConfig, SesMailer
from tests.fakes.http_server import free_port

SENDER = "noreply@vizdots.test"
REGION = "us-east-1"


@dataclass(frozen=True)
class MotoSes:
    url: str

    def config(self, **values: Any) -> SesConfig:
        defaults: dict[str, Any] = {
            "region": REGION,
            "access_key_id": "testing",
            "secret_access_key": "testing",
            "sender": SENDER,
            "endpoint_url": self.url,
            "max_send_rate": 1000.0,
        }
        return SesConfig(**(defaults | values))

    def mailer(self, **values: Any) -> SesMailer:
        return SesMailer(self.config(**values))

    def sent(self) -> list[dict[str, Any]]:
        """Every email moto accepted: id, source, destinations, subject, body (the HTML part
        when there is one)."""
        with urllib.request.urlopen(f"{self.url}/moto-api/data.json") as response:
            data = json.load(response)
        return list(data.get("ses", {}).get("Message", []))

    def sent_to(self, address: str) -> list[dict[str, Any]]:
        return [m for m in self.sent() if address in m["destinations"]["ToAddresses"]]


def verify_sender(url: str) -> None:
    client = boto3.session.Session().client(
        "sesv2",
        region_name=REGION,
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_email_identity(EmailIdentity=SENDER)


@pytest.fixture
def moto_ses() -> Iterator[MotoSes]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:  # moto's backends live in this process: what an earlier test left goes first
        urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"))
        verify_sender(url)
        yield MotoSes(url)
    finally:
        server.stop()
