"""Cron endpoints: POST /api/internal/scheduler and POST /api/internal/reminders, and
GET /api/internal/status (the runbook's "did the scheduler run today" check).

The scheduler call plans (one set-based statement per org) and delivers at most
SCHEDULER_BATCH sessions, so it ends in bounded time however many orgs there are; its
answer says whether more is due (`more_due`), which the worker loops then deliver.
The reminders call takes at most REMINDER_BATCH steps (nudges, emails) the same way.
Each call is recorded in job_runs (bot.worker.recorded)."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request
from pydantic import SecretStr

from bot.bootstrap import Services
from bot.settings import secret_values
from bot.worker import plan_and_deliver, post_digests, recorded, remind
from core.ops_status import ops_status


def require_bearer(secret: SecretStr | None, authorization: str | None) -> None:
    """401 unless `Authorization: Bearer <one of the secret's values>` (during a rotation
    "current,previous"; each compared in constant time); 503 when unconfigured."""
    values = secret_values(secret)
    if not values:
        raise HTTPException(503, "this endpoint is disabled: its secret is not configured")
    given = (authorization or "").encode()
    matches = [hmac.compare_digest(given, f"Bearer {value}".encode()) for value in values]
    if not any(matches):
        raise HTTPException(401, "missing or wrong bearer token")


def internal_routes() -> APIRouter:
    router = APIRouter(prefix="/api/internal", tags=["cron"])

    @router.post("/scheduler")
    async def scheduler(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> dict[str, Any]:
        services: Services = request.app.state.services
        require_bearer(services.settings.scheduler_secret, authorization)
        now = services.clock.now()
        work = plan_and_deliver(services, now=now, limit=services.settings.scheduler_batch)
        done = await recorded(services, "scheduler", trigger="cron", work=work)
        return {**done, "digests": await post_digests(services)}

    @router.post("/reminders")
    async def reminders(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> dict[str, Any]:
        services: Services = request.app.state.services
        require_bearer(services.settings.scheduler_reminders_secret, authorization)
        if services.reminders is None:
            raise HTTPException(503, "email reminders need the email extra (vizdots[email])")
        now = services.clock.now()
        work = remind(services, now=now, limit=services.settings.reminder_batch)
        return await recorded(services, "reminders", trigger="cron", work=work)

    @router.get("/status")
    async def status(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> dict[str, Any]:
        services: Services = request.app.state.services
        require_bearer(services.settings.scheduler_secret, authorization)
        now = services.clock.now()
        return (await ops_status(services.sessions, runs=services.runs, now=now)).as_dict()

    return router
