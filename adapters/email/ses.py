"""AWS SES v2 as the Mailer: `sesv2.send_email` with Simple content and custom headers.

boto3 is synchronous: each send runs in a worker thread (asyncio.to_thread), so the
event loop never blocks. botocore's standard retry mode retries throttling
("Maximum sending rate exceeded", TooManyRequests, LimitExceeded) and transient
errors with back-off; on top, a token bucket keeps sends under the account's
MaxSendRate (SES_MAX_SEND_RATE, else read once with `get_account`).

Errors become DeliveryError with SES's error code only: SES messages can name the
address, which never reaches a log or email_logs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from adapters.email.headers import list_unsubscribe
from core.ports import DeliveryError, Email

log = logging.getLogger("vizdots.email")

#: SES error codes worth a later try (after botocore's own retries gave up).
RETRYABLE = frozenset(
    {"Throttling", "ThrottlingException", "TooManyRequestsException", "LimitExceededException"}
    | {"ServiceUnavailable", "InternalFailure", "RequestTimeout"}
)
#: The sandbox's rate, used when the account's cannot be read and none is configured.
SANDBOX_RATE = 1.0


@dataclass(frozen=True, slots=True)
class SesConfig:
    region: str
    access_key_id: str
    secret_access_key: str
    sender: str
    endpoint_url: str | None = None
    configuration_set: str | None = None
    #: Emails a second; None: read the account's MaxSendRate at start-up.
    max_send_rate: float | None = None
    max_attempts: int = 5
    timeout_seconds: float = 10.0
    #: Threads sending at once (boto3 clients are thread-safe).
    max_connections: int = 10


class TokenBucket:
    """At most `rate` takes a second on average, bursts up to `capacity`."""

    def __init__(self, rate: float, *, capacity: float | None = None) -> None:
        self.rate = rate
        self.capacity = capacity if capacity is not None else max(1.0, rate)
        self._tokens = self.capacity
        self._at = time.monotonic()
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
                self._at = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)


class SesMailer:
    def __init__(self, config: SesConfig) -> None:
        self.config = config
        self._client: Any = boto3.session.Session().client(
            "sesv2",
            region_name=config.region,
            aws_access_key_id=config.access_key_id,
            aws_secret_access_key=config.secret_access_key,
            endpoint_url=config.endpoint_url,
            config=Config(
                retries={"mode": "standard", "max_attempts": config.max_attempts},
                connect_timeout=config.timeout_seconds,
                read_timeout=config.timeout_seconds,
                max_pool_connections=config.max_connections,
            ),
        )
        self._bucket: TokenBucket | None = None
        self._threads = asyncio.Semaphore(config.max_connections)

    async def start(self) -> float:
        """The sending rate: configured, else the account's (`get_account`), else the
        sandbox's; called once (the first send calls it otherwise)."""
        rate = self.config.max_send_rate or await self._account_rate() or SANDBOX_RATE
        self._bucket = TokenBucket(rate)
        log.info("SES mailer ready: at most %.1f emails a second", rate)
        return rate

    async def _account_rate(self) -> float | None:
        try:
            account = await asyncio.to_thread(self._client.get_account)
        except (BotoCoreError, ClientError) as error:
            log.warning("SES get_account failed (%s): using SES_MAX_SEND_RATE or 1/s",
                        _code(error))  # fmt: skip
            return None
        rate = (account.get("SendQuota") or {}).get("MaxSendRate")
        return float(rate) if rate else None

    async def send(self, email: Email) -> str:
        if self._bucket is None:
            await self.start()
        assert self._bucket is not None
        await self._bucket.take()
        async with self._threads:
            try:
                sent = await asyncio.to_thread(self._client.send_email, **self.request(email))
            except (BotoCoreError, ClientError) as error:
                code = _code(error)
                log.warning("SES send_email failed: %s", code)
                raise DeliveryError(f"SES {code}", retryable=code in RETRYABLE) from error
        return str(sent["MessageId"])

    def request(self, email: Email) -> dict[str, Any]:
        """The send_email arguments for `email`."""
        body: dict[str, Any] = {"Text": {"Data": email.text, "Charset": "UTF-8"}}
        if email.html:
            body["Html"] = {"Data": email.html, "Charset": "UTF-8"}
        simple: dict[str, Any] = {
            "Subject": {"Data": email.subject, "Charset": "UTF-8"},
            "Body": body,
        }
        headers = list_unsubscribe(email)
        if headers:
            simple["Headers"] = [{"Name": k, "Value": v} for k, v in headers.items()]
        request: dict[str, Any] = {
            "FromEmailAddress": self.config.sender,
            "Destination": {"ToAddresses": [email.to]},
            "Content": {"Simple": simple},
        }
        if email.tags:
            request["EmailTags"] = [{"Name": k, "Value": v} for k, v in email.tags.items()]
        if self.config.configuration_set:
            request["ConfigurationSetName"] = self.config.configuration_set
        return request


def _code(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code") or "ClientError")
    return type(error).__name__
