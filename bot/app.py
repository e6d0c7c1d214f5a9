"""The FastAPI application factory: wires routes to the services built in bootstrap."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from bot.admin_api import admin_router
from bot.billing import billing_webhook_router
from bot.bootstrap import Services
from bot.dashboard import mount_dashboard
from bot.docs import serve_docs_offline
from bot.internal import internal_routes
from bot.openapi import document_routes
from bot.teams import teams_routes
from bot.web import checkin_router, ses_events_router, unsubscribe_router
from core.store.health import schema_problem


async def malformed_request(_request: Request, exc: Exception) -> JSONResponse:
    """A body that does not match its schema is a 400 naming the fields, never a change."""
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"field": ".".join(str(p) for p in error["loc"][1:]), "problem": error["msg"]}
        for error in exc.errors()
    ]
    return JSONResponse({"detail": "malformed request", "problems": problems}, status_code=400)


@contextmanager
def startup_heap_frozen() -> Iterator[None]:
    """What start-up built (modules, mappers, the Bolt app) lives as long as the process:
    out of the collector's reach, a full collection scans only newer objects and no longer
    stalls every request for a quarter of a second (bench/slack_events.py saw 240 ms)."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def observe(app: FastAPI, services: Services) -> None:
    """Request ids for the logs, request metrics and GET /metrics (adapters/metrics)."""
    from adapters.metrics.http import RequestMetrics, metrics_routes
    from bot.log_format import RequestIds

    if services.metrics is not None:
        app.add_middleware(RequestMetrics, metrics=services.metrics)
        gauges = services.gauges
        token = services.settings.metrics_token

        async def before_scrape() -> None:
            if gauges is not None:
                await gauges.refresh(now=services.clock.now())

        app.include_router(
            metrics_routes(
                metrics=services.metrics,
                token=token.get_secret_value() if token else None,
                before_scrape=before_scrape,
            )
        )
    app.add_middleware(RequestIds)  # outermost: the metrics' own log lines carry the id


def create_metrics_app(services: Services) -> FastAPI:
    """What a `vizdots worker --metrics-port` serves: GET /metrics and /healthz only."""
    app = FastAPI(title="VizDots worker", docs_url=None, redoc_url=None, openapi_url=None)
    observe(app, services)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def create_app(services: Services) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with services.running():
            with startup_heap_frozen():
                yield
            if services.slack is not None:  # command replies started after their ack
                await services.slack.background.finish()

    app = FastAPI(title="VizDots", lifespan=lifespan, docs_url=None, redoc_url=None)
    serve_docs_offline(app)
    app.state.services = services
    app.add_exception_handler(RequestValidationError, malformed_request)
    observe(app, services)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        problem = await schema_problem(services.engine)
        if problem:
            return JSONResponse({"status": "unavailable", "reason": problem}, status_code=503)
        return JSONResponse({"status": "ready"})

    app.include_router(internal_routes())
    if services.slack is not None:
        app.include_router(services.slack.routes())
    app.include_router(teams_routes(services.teams))
    app.include_router(checkin_router(services))
    app.include_router(unsubscribe_router(services))
    app.include_router(ses_events_router(services))
    app.include_router(billing_webhook_router(services))
    app.include_router(admin_router(services))
    mount_dashboard(app, services)
    if services.dev_chat:
        from adapters.dev.web import dev_chat_routes

        app.include_router(dev_chat_routes(sessions=services.sessions, chat=services.typed_chat))
    document_routes(app)
    return app
