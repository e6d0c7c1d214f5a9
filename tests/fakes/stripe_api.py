"""A local fake of the part of Stripe's API VizDots calls, on a real localhost port, and
webhook events signed exactly as Stripe signs them.

The real stripe SDK reaches it through STRIPE_API_BASE. Every call is recorded with its
Idempotency-Key (`calls`); a key seen before answers the first response again, as Stripe
does. `fail_next(path)` makes the next call to a path answer 500. Subscriptions live
here: `complete_checkout` turns an open Checkout session into one (as a customer paying
would; an expired or completed page cannot be paid) and records the invoice it paid.
Checkout Sessions are listed (filtered by customer and status, paged), retrieved and
expired; a subscription is canceled (DELETE), with `prorate` and `invoice_now` crediting
the unused part of its paid period to the customer's balance by a final invoice, as
Stripe does. `net_paid` is what a customer paid less that credit.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

BASE_PRICE, SEAT_PRICE = "price_base_29", "price_seat_3"
#: Unit amounts in cents: $29 a month, $3 a seat.
AMOUNTS = {BASE_PRICE: 2900, SEAT_PRICE: 300}


class SessionNotOpen(Exception):
    """Checkout shows an expired or completed page: nobody can pay it."""


@dataclass
class Call:
    method: str
    path: str
    idempotency_key: str | None
    params: dict[str, Any]
    replayed: bool = False


@dataclass
class FakeStripe:
    calls: list[Call] = field(default_factory=list)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    #: The status each prefix's planned failures answer (500 unless `fail_next` says).
    failure_status: dict[str, int] = field(default_factory=dict)
    _replies: dict[str, Any] = field(default_factory=dict)
    _refused: list[int] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # --- for tests -------------------------------------------------------------------------
    def made(self, path_prefix: str) -> list[Call]:
        """The calls to paths starting with `path_prefix`, replays of a key excluded."""
        return [c for c in self.calls if c.path.startswith(path_prefix) and not c.replayed]

    def fail_next(self, path_prefix: str, times: int = 1, *, status: int = 500) -> None:
        """The next `times` calls to paths under `path_prefix` answer `status`: 500 (an
        api_error the SDK retries) or 429 (a rate_limit error it does not)."""
        self.failures[path_prefix] = times
        self.failure_status[path_prefix] = status

    def refused(self) -> list[int]:
        """The statuses of the planned failures answered so far."""
        return list(self._refused)

    def complete_checkout(self, session_id: str, *, status: str | None = None) -> dict[str, Any]:
        """The customer pays: a subscription with the session's items (trialing when the
        session carried a trial end) and its first invoice, paid. SessionNotOpen when the
        page is expired or already paid."""
        session = self.sessions[session_id]
        if session["status"] != "open":
            raise SessionNotOpen(f"{session_id} is {session['status']}")
        data = session["params"].get("subscription_data", {})
        trial_end = int(data["trial_end"]) if "trial_end" in data else None
        sub_id, now = self._new("sub"), int(time.time())
        items = [
            {"id": self._new("si"), "object": "subscription_item", "quantity": int(li["quantity"]),
             "price": {"id": li["price"]}, "current_period_start": now,
             "current_period_end": now + 30 * 86400}
            for li in session["params"]["line_items"].values()
        ]  # fmt: skip
        self.subscriptions[sub_id] = {
            "id": sub_id, "object": "subscription", "customer": session["customer"],
            "status": status or ("trialing" if trial_end else "active"), "created": now,
            "trial_end": trial_end, "metadata": data.get("metadata", {}),
            "items": {"object": "list", "data": items}, "canceled_at": None,
            "ended_at": None, "cancellation_details": None,
        }  # fmt: skip
        session.update(status="complete", subscription=sub_id)
        charged = 0 if trial_end else sum(AMOUNTS.get(i["price"]["id"], 0) * i["quantity"]
                                          for i in items)  # fmt: skip
        self._invoice(session["customer"], sub_id, charged)
        return self.subscriptions[sub_id]

    def subscribed(self, customer: str, *, seats: int) -> dict[str, Any]:
        """An active subscription (the base price and `seats` seats) a customer paid for
        through a Checkout this fake made up."""
        cs = self._new("cs")
        items = {"0": {"price": BASE_PRICE, "quantity": "1"},
                 "1": {"price": SEAT_PRICE, "quantity": str(seats)}}  # fmt: skip
        self.sessions[cs] = {"id": cs, "object": "checkout.session", "customer": customer,
                             "status": "open", "params": {"line_items": items}}  # fmt: skip
        return self.complete_checkout(cs, status="active")

    def live(self, customer: str) -> list[str]:
        """The customer's subscriptions not canceled (nor expired unpaid)."""
        return [sid for sid, sub in self.subscriptions.items()
                if sub["customer"] == customer and sub["status"] not in ENDED]  # fmt: skip

    def net_paid(self, customer: str) -> int:
        """Cents the customer paid on invoices, less the credit Stripe holds for them."""
        paid = sum(i["amount_paid"] for i in self.invoices.values() if i["customer"] == customer)
        return paid + int(self.customers.get(customer, {}).get("balance", 0))

    def seat_quantity(self, sub_id: str) -> int:
        item = next(i for i in self.subscriptions[sub_id]["items"]["data"] if _seat(i))
        return int(item["quantity"])

    # --- the server ------------------------------------------------------------------------
    def app(self) -> FastAPI:
        app = FastAPI()

        @app.api_route("/v1/{path:path}", methods=["GET", "POST", "DELETE"])
        async def any_call(path: str, request: Request) -> JSONResponse:
            params = _nested(dict(await request.form())) if request.method == "POST" else {}
            params |= _nested(dict(request.query_params))
            key = request.headers.get("idempotency-key")
            full = f"/v1/{path}"
            replay = key is not None and (request.method, key) in self._replies
            self.calls.append(Call(request.method, full, key, params, replayed=replay))
            if replay:
                return JSONResponse(self._replies[(request.method, key)])
            if failed := self._failure(full):
                return failed
            status, body = self._handle(request.method, full, params)
            if key is not None and status == 200:
                self._replies[(request.method, key)] = body
            return JSONResponse(body, status_code=status)

        return app

    def _failure(self, path: str) -> JSONResponse | None:
        for prefix, left in self.failures.items():
            if left and path.startswith(prefix):
                self.failures[prefix] = left - 1
                status = self.failure_status.get(prefix, 500)
                self._refused.append(status)
                if status == 429:
                    error = {"type": "invalid_request_error", "code": "rate_limit",
                             "message": "Too many requests hit the API too quickly."}  # fmt: skip
                    return JSONResponse({"error": error}, status_code=429)
                error = {"type": "api_error", "message": "Something went wrong on Stripe's end."}
                return JSONResponse({"error": error}, status_code=status)
        return None

    def _handle(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, Any]:
        if method == "POST" and path == "/v1/customers":
            cus = {"id": self._new("cus"), "object": "customer", "name": params.get("name"),
                   "metadata": params.get("metadata", {}), "balance": 0}  # fmt: skip
            self.customers[cus["id"]] = cus
            return 200, cus
        if method == "GET" and path == "/v1/customers/search":
            wanted = re.findall(r"metadata\['(\w+)'\]:'([^']*)'", params.get("query", ""))
            found = [c for c in self.customers.values()
                     if all(c["metadata"].get(k) == v for k, v in wanted)]  # fmt: skip
            return 200, {"object": "search_result", "data": found, "has_more": False}
        if path == "/v1/checkout/sessions" or path.startswith("/v1/checkout/sessions/"):
            return self._checkout(method, path, params)
        if method == "POST" and path == "/v1/billing_portal/sessions":
            bps = self._new("bps")
            return 200, {"id": bps, "object": "billing_portal.session",
                         "customer": params.get("customer"),
                         "url": f"https://billing.stripe.test/p/session/{bps}"}  # fmt: skip
        if method == "GET" and path.startswith("/v1/subscriptions/"):
            sub = self.subscriptions.get(path.rsplit("/", 1)[1])
            return (200, sub) if sub else _missing("subscription")
        if method == "DELETE" and path.startswith("/v1/subscriptions/"):
            return self._cancel(path.rsplit("/", 1)[1], params)
        if method == "POST" and path.startswith("/v1/subscription_items/"):
            return self._update_item(path.rsplit("/", 1)[1], params)
        return _missing(path)

    def _checkout(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, Any]:
        parts = path.split("/")[4:]  # after /v1/checkout/sessions
        if method == "POST" and not parts:
            cs, now = self._new("cs"), int(time.time())
            self.sessions[cs] = {
                "id": cs, "object": "checkout.session", "params": params, "created": now,
                "expires_at": now + 86400, "mode": params.get("mode"),
                "client_reference_id": params.get("client_reference_id"),
                "customer": params.get("customer"), "metadata": params.get("metadata", {}),
                "status": "open", "subscription": None,
                "url": f"https://checkout.stripe.test/c/pay/{cs}",
            }  # fmt: skip
            return 200, _shown(self.sessions[cs])
        if method == "GET" and not parts:
            return 200, self._list_sessions(params)
        session = self.sessions.get(parts[0]) if parts else None
        if session is None:
            return _missing("checkout.session")
        if method == "GET" and len(parts) == 1:
            return 200, _shown(session)
        if method == "POST" and parts[1:] == ["expire"]:
            if session["status"] != "open":
                return _refused(f"This Checkout Session is {session['status']}; only an open "
                                "Checkout Session can be expired.")  # fmt: skip
            session.update(status="expired", url=None)
            return 200, _shown(session)
        return _missing(path)

    def _list_sessions(self, params: dict[str, Any]) -> dict[str, Any]:
        """Newest first, filtered by customer and status, `limit` a page (10 by default)."""
        found = [_shown(s) for s in reversed(self.sessions.values())
                 if params.get("customer") in (None, s["customer"])
                 and params.get("status") in (None, s["status"])]  # fmt: skip
        if after := params.get("starting_after"):
            found = found[[s["id"] for s in found].index(after) + 1 :]
        limit = int(params.get("limit", 10))
        return {"object": "list", "url": "/v1/checkout/sessions", "data": found[:limit],
                "has_more": len(found) > limit}  # fmt: skip

    def _cancel(self, sub_id: str, params: dict[str, Any]) -> tuple[int, Any]:
        sub = self.subscriptions.get(sub_id)
        if sub is None:
            return _missing("subscription")
        if sub["status"] in ENDED:
            return _refused(f"The subscription {sub_id} is already {sub['status']}.")
        now = int(time.time())
        details = params.get("cancellation_details") or {}
        sub.update(status="canceled", canceled_at=now, ended_at=now, cancellation_details={
            "comment": details.get("comment"), "feedback": None,
            "reason": "cancellation_requested"})  # fmt: skip
        if params.get("prorate") == "true" and params.get("invoice_now") == "true":
            self._credit_unused(sub, now)
        return 200, sub

    def _credit_unused(self, sub: dict[str, Any], now: int) -> None:
        """The final invoice: the unused time of the paid period, credited to the balance."""
        paid = sum(
            i["amount_paid"] for i in self.invoices.values() if i["subscription"] == sub["id"]
        )
        item = sub["items"]["data"][0]
        start, end = item["current_period_start"], item["current_period_end"]
        credit = round(paid * max(end - now, 0) / (end - start))
        self._invoice(sub["customer"], sub["id"], 0, total=-credit)
        customer = self.customers.setdefault(
            sub["customer"], {"id": sub["customer"], "object": "customer", "metadata": {}}
        )
        customer["balance"] = int(customer.get("balance", 0)) - credit

    def _invoice(self, customer: str, sub_id: str, paid: int, *, total: int | None = None) -> None:
        inv = self._new("in")
        self.invoices[inv] = {
            "id": inv, "object": "invoice", "customer": customer, "subscription": sub_id,
            "status": "paid", "amount_paid": paid, "total": paid if total is None else total,
        }  # fmt: skip

    def _update_item(self, item_id: str, params: dict[str, Any]) -> tuple[int, Any]:
        for sub in self.subscriptions.values():
            for item in sub["items"]["data"]:
                if item["id"] == item_id:
                    item["quantity"] = int(params["quantity"])
                    return 200, item
        return _missing("subscription_item")

    def _new(self, prefix: str) -> str:
        return f"{prefix}_test{next(self._ids)}"


def _seat(item: dict[str, Any]) -> bool:
    return bool(item["price"]["id"] == SEAT_PRICE)


ENDED = {"canceled", "incomplete_expired"}


def _shown(session: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in session.items() if k != "params"}


def _refused(message: str) -> tuple[int, Any]:
    return 400, {"error": {"type": "invalid_request_error", "message": message}}


def _missing(what: str) -> tuple[int, Any]:
    return 404, {"error": {"type": "invalid_request_error", "message": f"No such {what}"}}


def _nested(form: dict[str, Any]) -> dict[str, Any]:
    """`a[b][0][c]=v` (Stripe's form encoding) as nested dicts (list indexes as keys)."""
    out: dict[str, Any] = {}
    for name, value in form.items():
        parts = re.findall(r"[^\[\]]+", name)
        here = out
        for part in parts[:-1]:
            here = here.setdefault(part, {})
        here[parts[-1]] = value
    return out


# --- webhook events ------------------------------------------------------------------------
_event_ids = itertools.count(1)


def event(kind: str, obj: dict[str, Any], *, created: int) -> dict[str, Any]:
    return {"id": f"evt_test{next(_event_ids)}_{int(time.time() * 1000)}", "object": "event",
            "type": kind, "created": created, "api_version": "2026-10-28.clover",
            "data": {"object": obj}, "livemode": False}  # fmt: skip


def signed(payload: bytes, secret: str, *, at: int | None = None) -> dict[str, str]:
    """Headers Stripe sends: `Stripe-Signature: t=<unix>,v1=<HMAC-SHA256 of "t.body">`."""
    t = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={t},v1={mac}", "Content-Type": "application/json"}


def body_of(evt: dict[str, Any]) -> bytes:
    return json.dumps(evt).encode()
