"""POST /api/billing/webhook: Stripe's events, verified, translated, applied once.

The `Stripe-Signature` header is verified by the SDK over the raw body (HMAC-SHA256 of
"t.body" with STRIPE_WEBHOOK_SECRET — tried with each of its values, "current,previous"
during a rotation — at most five minutes old); a request it does not sign is a 401, a
signed body that is no Stripe event a 400, and neither changes anything. A verified
event becomes a core `StripeSaid` and is applied by core (its id recorded in the same
transaction as its effect). A failure answers 500 and the event stays unrecorded, so
Stripe's retry is processed as if it were the first delivery.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import stripe
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from core.billing import Said, StripeSaid

log = logging.getLogger("vizdots.billing.webhook")

#: Stripe's own default: a signature older than this is refused (replays).
TOLERANCE_SECONDS = 300
MAX_BODY = 1_000_000

#: The event types VizDots acts on (the webhook endpoint's selection in Stripe).
HANDLED = {
    "checkout.session.completed": Said.CHECKOUT,
    "customer.subscription.created": Said.SUBSCRIPTION,
    "customer.subscription.updated": Said.SUBSCRIPTION,
    "customer.subscription.deleted": Said.SUBSCRIPTION,
    "customer.subscription.trial_will_end": Said.TRIAL_ENDING,
    "invoice.paid": Said.PAID,
    "invoice.payment_failed": Said.PAYMENT_FAILED,
}

Apply = Callable[[StripeSaid], Awaitable[str]]


def billing_webhook_routes(*, secrets: Sequence[str], apply: Apply) -> APIRouter:
    """`secrets`: STRIPE_WEBHOOK_SECRET's values, current first (two during a rotation)."""
    router = APIRouter(tags=["billing"])

    @router.post("/api/billing/webhook")
    async def webhook(request: Request) -> JSONResponse:
        if not secrets:
            return _answer(503, "billing webhooks are disabled: STRIPE_WEBHOOK_SECRET is unset")
        body = await request.body()
        if len(body) > MAX_BODY:
            return _answer(413, "body too large")
        try:
            verify(body.decode("utf-8"), request.headers.get("stripe-signature"), secrets)
            said = translate(json.loads(body))
        except stripe.SignatureVerificationError:
            log.warning("stripe webhook refused: missing, wrong or expired signature")
            return _answer(401, "missing, wrong or expired Stripe-Signature")
        except (ValueError, KeyError, TypeError):
            log.warning("stripe webhook refused: a signed body that is no Stripe event")
            return _answer(400, "not a Stripe event")
        try:
            result = await apply(said)
        except Exception:  # Stripe retries a 5xx: the event is not recorded as processed
            log.exception(
                "stripe event %s (%s) failed; Stripe will retry", said.event_id, said.type
            )
            return _answer(500, "the event could not be processed; it will be retried")
        return JSONResponse({"received": True, "result": result})

    return router


def verify(payload: str, header: str | None, secrets: Sequence[str]) -> None:
    """Stripe's own check against each secret in turn; the last refusal if none signed it."""
    refusal = stripe.SignatureVerificationError("no webhook secret", header)
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(payload, header, secret, TOLERANCE_SECONDS)
            return
        except stripe.SignatureVerificationError as error:
            refusal = error
    raise refusal


def _answer(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def translate(event: Mapping[str, Any]) -> StripeSaid:
    """A Stripe event (parsed JSON) as core's StripeSaid; KeyError/TypeError if it is none."""
    kind = HANDLED.get(str(event["type"]), Said.OTHER)
    obj: Mapping[str, Any] = event["data"]["object"]
    common = {
        "event_id": str(event["id"]),
        "type": str(event["type"]),
        "said": kind,
        "created": datetime.fromtimestamp(int(event["created"]), UTC),
    }
    if kind is Said.OTHER or not isinstance(obj, Mapping):
        return StripeSaid(**common)  # type: ignore[arg-type]
    return StripeSaid(**common, **_facts(kind, obj))  # type: ignore[arg-type]


def _facts(kind: Said, obj: Mapping[str, Any]) -> dict[str, Any]:
    customer = _id(obj.get("customer"))
    if kind is Said.CHECKOUT:
        return {
            "customer_id": customer,
            "subscription_id": _id(obj.get("subscription")),
            "org_id": _org(obj.get("client_reference_id") or _meta(obj)),
        }
    if kind in {Said.PAID, Said.PAYMENT_FAILED}:
        return {
            "customer_id": customer,
            "subscription_id": _invoice_subscription(obj),
            "period_end": _when(obj.get("period_end")),
        }
    return {  # a subscription
        "customer_id": customer,
        "subscription_id": _id(obj.get("id")),
        "org_id": _org(_meta(obj)),
        "status": obj.get("status"),
        "trial_end": _when(obj.get("trial_end")),
        "period_end": _when(_period_end(obj)),
    }


def _invoice_subscription(invoice: Mapping[str, Any]) -> str | None:
    """Older API versions name it at the top; 2025-03-31 and later under parent."""
    if invoice.get("subscription"):
        return _id(invoice["subscription"])
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    return _id(details.get("subscription"))


def _period_end(subscription: Mapping[str, Any]) -> Any:
    """Per item since API 2025-03-31; on the subscription before."""
    if subscription.get("current_period_end"):
        return subscription["current_period_end"]
    items = (subscription.get("items") or {}).get("data") or []
    ends = [item.get("current_period_end") for item in items if item.get("current_period_end")]
    return min(ends) if ends else None


def _meta(obj: Mapping[str, Any]) -> Any:
    return (obj.get("metadata") or {}).get("vizdots_org_id")


def _id(value: Any) -> str | None:
    """An id, whether Stripe sent it bare or expanded."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return str(value) if value else None


def _org(value: Any) -> int | None:
    return int(value) if isinstance(value, str | int) and str(value).isdigit() else None


def _when(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value is not None else None
