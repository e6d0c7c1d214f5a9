"""HTTP requests counted by route template and status, refusals counted per inbound
path, and GET /metrics in Prometheus' text format.

/metrics answers a `Authorization: Bearer <METRICS_TOKEN>` when that token is set, and
otherwise only loopback clients (a sidecar or a node agent scraping 127.0.0.1); anyone
else gets 403 (401 for a wrong token). Each process serves its own counters."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from ipaddress import ip_address
from time import perf_counter
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.metrics.signals import AppMetrics

#: Where each inbound path refuses a caller (route template prefix → counter label).
INBOUND = (
    ("/slack/", "slack_signature"),
    ("/api/messages", "teams_jwt"),
    ("/api/billing/webhook", "stripe_signature"),
    ("/api/email/ses-events", "sns_signature"),
    ("/api/internal/", "scheduler_bearer"),
    ("/api/admin/", "admin_token"),
    ("/dashboard", "dashboard_session"),
    ("/checkin/", "signed_link"),
    ("/metrics", "metrics_token"),
)
#: Stripe's webhook refuses a bad signature with 400 (a signed body is always an event).
REFUSALS = {401, 403}


def refused_inbound(route: str, status: int) -> str | None:
    """The inbound path whose credentials a response with `status` refused, if any."""
    if status not in REFUSALS:
        return None
    return next((name for prefix, name in INBOUND if route.startswith(prefix)), None)


def route_template(scope: Scope) -> str:
    """The matched route's template (/api/admin/members/{member_id}/export), never the raw
    path: one time series per route, not per id. Unmatched paths share one label."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class RequestMetrics:
    """Pure ASGI middleware (no body buffering): counts each response and its time."""

    def __init__(self, app: ASGIApp, *, metrics: AppMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        started = perf_counter()
        try:
            await self.app(scope, receive, sending)
        finally:
            self._count(scope, status, perf_counter() - started)

    def _count(self, scope: Scope, status: int, seconds: float) -> None:
        route = route_template(scope)
        method = str(scope.get("method", ""))
        self.metrics.http_requests.labels(method=method, route=route, status=str(status)).inc()
        self.metrics.http_duration.labels(route=route).observe(seconds)
        if inbound := refused_inbound(route, status):
            self.metrics.auth_failed(inbound=inbound)


def scrape_allowed(request: Request, token: str | None) -> int | None:
    """None when the caller may scrape, else the status that refuses it."""
    if token is not None:
        given = request.headers.get("authorization", "").encode()
        return None if hmac.compare_digest(given, f"Bearer {token}".encode()) else 401
    host = request.client.host if request.client else ""
    try:
        return None if ip_address(host).is_loopback else 403
    except ValueError:
        return 403


def metrics_routes(
    *,
    metrics: AppMetrics,
    token: str | None,
    before_scrape: Callable[[], Awaitable[Any]],
) -> APIRouter:
    """GET /metrics; `before_scrape` refreshes the gauges read from the database."""
    router = APIRouter(tags=["operations"])

    @router.get("/metrics", response_class=Response)
    async def scrape(request: Request) -> Response:
        if refusal := scrape_allowed(request, token):
            detail = "a METRICS_TOKEN bearer is required" if refusal == 401 else (
                "/metrics is served to loopback clients only (set METRICS_TOKEN)"
            )  # fmt: skip
            return Response(detail, status_code=refusal, media_type="text/plain")
        await before_scrape()
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router
