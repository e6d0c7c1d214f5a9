"""POST /api/email/ses-events: SES bounce and complaint events, delivered by SNS.

Every message's SNS signature is checked first (adapters/web/sns.py): a bad one gets 403
and changes nothing, a body that is no SNS message 400. A SubscriptionConfirmation is
confirmed by fetching its SubscribeURL (only on an SNS host). In a Notification, a
permanent bounce or a complaint suppresses each address it names (core.email_prefs);
transient bounces and other events (delivery, send…) are acknowledged and ignored. Both
SES notification formats are read: identity notifications (`notificationType`) and
configuration-set event publishing (`eventType`). No address is ever logged.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.web.sns import (
    SIGNED_FIELDS,
    SnsMalformed,
    SnsRejected,
    SnsUnavailable,
    SnsVerifier,
)
from core.email_prefs import SuppressionReason, suppress_address
from core.ports import Clock

log = logging.getLogger("vizdots.ses_events")

MAX_BODY_BYTES = 300_000  # SNS messages are at most 256 KB
Suppression = tuple[str, SuppressionReason]


def ses_event_routes(
    *,
    sessions: async_sessionmaker[AsyncSession],
    verifier: SnsVerifier,
    clock: Clock,
    topic_arn: str | None = None,
) -> APIRouter:
    """`topic_arn`: when set, messages from any other SNS topic are refused (403)."""
    router = APIRouter(tags=["email"])

    @router.post("/api/email/ses-events")  # documented in bot.openapi
    async def ses_events(request: Request) -> JSONResponse:
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return _answer(413, "body too large")
        try:
            message = _sns_message(body)
            if topic_arn and message.get("TopicArn") != topic_arn:
                raise SnsRejected("a message from another topic")
            await verifier.verify(message)
            return await _act_on(message)
        except SnsMalformed as problem:
            log.warning("ses-events: malformed body (%s)", problem)
            return _answer(400, str(problem))
        except SnsRejected as problem:
            log.warning("ses-events: refused (%s)", problem)
            return _answer(403, str(problem))
        except SnsUnavailable as problem:
            log.warning("ses-events: cannot verify now (%s)", problem)
            return _answer(503, str(problem))

    async def _act_on(message: dict[str, Any]) -> JSONResponse:
        kind = message["Type"]
        if kind == "SubscriptionConfirmation":
            return await _confirm(str(message.get("SubscribeURL")))
        if kind != "Notification":
            return _answer(200, "ignored")
        found = suppressions_in(message.get("Message"))
        for address, reason in found:
            await suppress_address(sessions=sessions, address=address, reason=reason, clock=clock)
        log.info("ses-events: %d address(es) suppressed", len(found))
        return _answer(200, "processed", suppressed=len(found))

    async def _confirm(url: str) -> JSONResponse:
        if not verifier.is_sns_url(url):
            raise SnsRejected("the SubscribeURL is not on an SNS host")
        try:
            (await verifier.get(url)).raise_for_status()
        except httpx.HTTPError as error:
            raise SnsUnavailable(f"subscription confirmation: {type(error).__name__}") from None
        log.info("ses-events: SNS subscription confirmed")
        return _answer(200, "subscription confirmed")

    return router


def _sns_message(body: bytes) -> dict[str, Any]:
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise SnsMalformed("the body is not JSON") from None
    if not isinstance(message, dict) or message.get("Type") not in SIGNED_FIELDS:
        raise SnsMalformed("the body is not an SNS message")
    return message


def suppressions_in(text: object) -> list[Suppression]:
    """(address, reason) for each recipient of a permanent bounce or a complaint."""
    try:
        event = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        event = None
    if not isinstance(event, dict):
        raise SnsMalformed("the SNS Message is not an SES event")
    kind = event.get("eventType") or event.get("notificationType")
    if kind == "Bounce":
        bounce = _part(event, "bounce")
        if bounce.get("bounceType") != "Permanent":
            return []
        return _recipients(bounce, "bouncedRecipients", SuppressionReason.BOUNCE)
    if kind == "Complaint":
        complaint = _part(event, "complaint")
        return _recipients(complaint, "complainedRecipients", SuppressionReason.COMPLAINT)
    return []


def _part(event: dict[str, Any], key: str) -> dict[str, Any]:
    part = event.get(key)
    if not isinstance(part, dict):
        raise SnsMalformed(f"an SES event without {key}")
    return part


def _recipients(part: dict[str, Any], key: str, reason: SuppressionReason) -> list[Suppression]:
    recipients = part.get(key)
    if not isinstance(recipients, list):
        raise SnsMalformed(f"an SES event without {key}")
    found: list[Suppression] = []
    for recipient in recipients:
        address = recipient.get("emailAddress") if isinstance(recipient, dict) else None
        if isinstance(address, str) and "@" in address and len(address) <= 320:
            found.append((address.strip().lower(), reason))
    return found


def _answer(status: int, detail: str, **extra: object) -> JSONResponse:
    return JSONResponse({"detail": detail, **extra}, status_code=status)
