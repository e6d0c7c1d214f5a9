"""The HTTP edge of /slack/events, before Bolt: size cap, signature, payload shape.

Bolt's own adapter reads any body into memory, turns a non-numeric timestamp or a body
that is not JSON into a 500 with a traceback, and logs the whole body of a request
whose signature fails (members' words). Here each refusal is one log line naming the
reason, never the body:
  * 413 above `max_bytes` — a declared Content-Length is checked before reading, and
    streamed bytes are counted, so an unbounded body is never held;
  * 401 without a valid signature over a fresh (5-minute) timestamp (slack_sdk's
    SignatureVerifier decides, one per signing secret: the current and, during a
    rotation, the previous one);
  * 400 for a signed body that is no Slack payload (adapters.slack.shapes.payload_of).
Only then is the request handed to Bolt, its payload parsed once.

`TokenBuckets` rate-limits a page per client (the OAuth install page).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass

from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from starlette.requests import Request
from starlette.responses import Response

from adapters.slack.shapes import MalformedPayload, payload_of

log = logging.getLogger("vizdots.slack")

MAX_AGE_SECONDS = 5 * 60
_CONTEXT_ERRORS = (KeyError, TypeError, AttributeError, IndexError, ValueError)


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class SlackIngress:
    app: AsyncApp
    verifiers: tuple[SignatureVerifier, ...]
    max_bytes: int

    async def events(self, request: Request) -> Response:
        try:
            body = await capped_body(request, self.max_bytes)
            text = check_signature(self.verifiers, request, body)
            bolt_request = to_bolt_request(request, text)
        except Refused as refused:
            log.info("slack request refused (%d): %s", refused.status, refused.reason)
            return Response(refused.reason, status_code=refused.status, media_type="text/plain")
        return to_starlette_response(await self.app.async_dispatch(bolt_request))


async def capped_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise Refused(413 if declared.isdigit() else 400, "request body too large or unsized")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, "request body too large")
        chunks.append(chunk)
    return b"".join(chunks)


def check_signature(verifiers: tuple[SignatureVerifier, ...], request: Request, body: bytes) -> str:
    """The body as text once one of slack_sdk's verifiers accepts its v0 signature and 5-minute
    timestamp. What the verifier would raise on (a timestamp that is not a number, a body
    that is not UTF-8) is refused here first."""
    timestamp = request.headers.get("x-slack-request-timestamp", "")
    signature = request.headers.get("x-slack-signature", "")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) < 16 and signature):
        raise Refused(401, "missing or malformed signature headers")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:  # Slack signs UTF-8 text: this cannot be Slack's
        raise Refused(401, "body is not UTF-8") from None
    if not any(v.is_valid(body=text, timestamp=timestamp, signature=signature) for v in verifiers):
        raise Refused(401, "invalid signature or stale timestamp")
    return text


def to_bolt_request(request: Request, text: str) -> AsyncBoltRequest:
    """Bolt's request, with the payload we parsed and checked (Bolt's own parsing
    raises on some bodies, and mistakes a command whose text says "payload" for {})."""
    try:
        payload = payload_of(text, _content_type(request))
    except MalformedPayload as error:
        raise Refused(400, str(error)) from None
    bolt = AsyncBoltRequest(body="", query=str(request.url.query), headers=dict(request.headers))
    bolt.raw_body, bolt.body = text, payload
    try:
        bolt.context = build_async_context(AsyncBoltContext(), payload)
    except _CONTEXT_ERRORS:
        raise Refused(400, "payload fields of unexpected types") from None
    return bolt


def _content_type(request: Request) -> str | None:
    value = request.headers.get("content-type")
    return value.split(";")[0].strip() if value else None


class TokenBuckets:
    """A small token bucket per client key, in this process: `burst` requests at once,
    refilled at `per_minute`. The least recently seen clients are forgotten beyond
    `clients`, so the buckets themselves stay bounded."""

    def __init__(self, *, burst: int = 10, per_minute: float = 10.0, clients: int = 10_000) -> None:
        self.burst = burst
        self.rate = per_minute / 60.0
        self.clients = clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, client: str, *, now: float | None = None) -> bool:
        """Spend one token of `client`'s bucket; False when it is empty."""
        now = time.monotonic() if now is None else now
        tokens, then = self._buckets.pop(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[client] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > self.clients:
            self._buckets.popitem(last=False)
        return allowed
