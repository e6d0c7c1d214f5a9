"""The HTTP surface in one place for /openapi.json and /docs: each route's summary, who
may call it (its auth) and what it answers, including the routes whose bodies are a
vendor's (Slack's payloads, Bolt's OAuth pages) and the local dev chat when it is mounted.

The routes are declared where they are served (bot.app, bot.internal, bot.slack,
adapters.dev.web); `document_routes` lays this table over them once the app is built.
A route missing here keeps FastAPI's bare defaults, and tests/integration/test_docs.py
fails, so a new route is documented where the others are.

One exception, one way for its kind: the admin API's routes (under /api/admin/v1, some
25 of them, adapters/admin_api) carry their own `summary=` and docstring where they are
declared; `document_routes` adds the **Auth:** line (the token role the route's
dependency demands) and the refusals every admin route shares. An admin route without a
summary or docstring stops the app from building.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

SLACK_SIGNED = (
    "Slack's request signature: `X-Slack-Signature` (HMAC-SHA256 of the body with "
    "SLACK_SIGNING_SECRET) over an `X-Slack-Request-Timestamp` at most five minutes old."
)
BEARER = (
    "`Authorization: Bearer <SCHEDULER_SECRET>`, compared in constant time; "
    "the endpoint is disabled (503) while the secret is unset."
)
PROBE = "None: a probe for load balancers and orchestrators; it reveals no data."
OAUTH = (
    "None to start; the `state` Slack hands back must be the one /slack/install issued "
    "(kept in the database, tied to a browser cookie, valid ten minutes)."
)
DEV = (
    "None: the local dev chat is mounted only while no Slack or Teams integration is "
    "configured, and only on a loopback address unless DEV_CHAT=true. Not for production."
)
MALFORMED = "Malformed request: the body or a parameter does not match its schema."


@dataclass(frozen=True)
class RouteDoc:
    summary: str
    about: str
    auth: str
    responses: dict[int, str]
    #: Deep-merged into the operation (a vendor's request body, examples).
    extra: dict[str, Any] = field(default_factory=dict)

    def apply(self, route: APIRoute) -> None:
        route.summary = self.summary
        route.description = f"{self.about}\n\n**Auth:** {self.auth}"
        route.responses = {
            **route.responses,
            **{code: {"description": text} for code, text in self.responses.items()},
        }
        route.openapi_extra = {**(route.openapi_extra or {}), **self.extra}
        route.include_in_schema = True


def vendor_body(description: str, **content: str) -> dict[str, Any]:
    """A request body that is someone else's format, described rather than modelled."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {
                media: {"schema": {"type": "object", "description": text}}
                for media, text in content.items()
            },
        }
    }


def document_routes(app: FastAPI) -> None:
    """Lay ROUTES over the app's routes (those it knows; see the module's docstring), and
    say 400 where FastAPI would say 422: the app answers a malformed request with 400."""
    for route in api_routes(app.routes):
        if route.path.startswith(ADMIN_PREFIX):
            document_admin_route(route)
            continue
        for method in route.methods:
            if doc := ROUTES.get((method, route.path)):
                doc.apply(route)
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _malformed_is_400(build())
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]


ADMIN_PREFIX = "/api/admin/v1"
ADMIN_AUTH = (
    "`Authorization: Bearer vzd_…`, a per-org admin API token (`vizdots admin-token create`, "
    "or `/vizdots token` in a chat) of role **{role}** or above (viewer < admin < owner). "
    "It reaches only its own organisation's data."
)
ADMIN_REFUSALS = {
    400: MALFORMED + " Or a value core refuses (the reason says what to change); nothing changed.",
    401: "No token, or an unknown or revoked one.",
    403: "The token's role is below what this route needs.",
    404: "No such object in the token's organisation (whether or not it exists elsewhere).",
}


def document_admin_route(route: APIRoute) -> None:
    """An admin route's own summary and docstring, plus its auth line and refusals."""
    role = next(
        (
            d.call.needed_role
            for d in route.dependant.dependencies
            if hasattr(d.call, "needed_role")
        ),
        None,
    )
    if not route.summary or not route.description or role is None:
        raise RuntimeError(f"admin route {route.path} needs a summary, a docstring and a scope")
    if "**Auth:**" not in route.description:
        route.description = f"{route.description}\n\n**Auth:** {ADMIN_AUTH.format(role=role.value)}"
    refusals = {code: {"description": text} for code, text in ADMIN_REFUSALS.items()}
    route.responses = {**refusals, **route.responses}


def api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    """Every APIRoute, also those of included routers (which FastAPI ≥ 0.160 keeps whole
    in `app.routes`, each behind an `original_router`, rather than copying their routes)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (router := getattr(route, "original_router", None)) is not None:
            yield from api_routes(router.routes)


def _malformed_is_400(schema: dict[str, Any]) -> None:
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if responses.pop("422", None) is not None:
                responses.setdefault("400", {"description": MALFORMED})


SLACK_EVENTS_BODY = vendor_body(
    "Slack's own payload, passed to Bolt once its signature and shape are checked.",
    **{
        "application/json": "An Events API envelope (`event_callback`, `url_verification`).",
        "application/x-www-form-urlencoded": (
            "A slash command's fields, or `payload`: the JSON of a button press or App Home "
            "action (interactivity)."
        ),
    },
)

TEAMS_JWT = (
    "A Bot Framework JWT in `Authorization: Bearer …`, validated by the Microsoft 365 "
    "Agents SDK: signed by a key from Microsoft's OpenID metadata, audience "
    "MICROSOFT_APP_ID, issuer Bot Framework or the bot's tenant (MICROSOFT_APP_TENANT_ID), "
    "not expired, and its `serviceurl` claim equal to the activity's. Only in emulator "
    "mode (TEAMS_EMULATOR=true, no app id) are anonymous activities accepted."
)
TEAMS_ACTIVITY_BODY = vendor_body(
    "A Bot Framework activity, as Teams and the Emulator send it.",
    **{
        "application/json": (
            "An Activity: `message` (typed text, or a card submit's `value`), "
            "`conversationUpdate`, `installationUpdate`."
        )
    },
)

LINK = (
    "The signed, expiring token in the path (LINK_SIGNING_SECRET), sent only to the "
    "member's address; no login, no cookie."
)
LINK_PAGES = {
    200: "The page (HTML).",
    403: "The link is not valid (tampered, cut off, or made for another purpose).",
    410: "The link has expired, or what it points to is gone.",
}
SNS_SIGNED = (
    "The SNS message signature (versions 1 and 2), verified with the certificate from an "
    "`sns.<region>.amazonaws.com` https URL; the topic must be SES_SNS_TOPIC_ARN when set."
)

DASHBOARD_LINK = (
    "The signed dashboard link from `/vizdots dashboard` (LINK_SIGNING_SECRET, a salt of "
    "its own), valid 10 minutes, used once."
)
DASHBOARD_SESSION = (
    "The `vizdots_dashboard` session cookie (HttpOnly, SameSite=Lax, Secure behind HTTPS; "
    "only its SHA-256 is stored) of an active admin; every read is scoped to their org."
)
DASHBOARD_PAGES = {
    200: "The page (HTML).",
    401: "No session, or it has ended: a page saying how to get a new link.",
}
DASHBOARD_LINKS = {
    403: "The link is not valid (tampered, cut off, or made for another purpose).",
    410: "The link has expired, or was already used.",
}

ROUTES: dict[tuple[str, str], RouteDoc] = {
    ("GET", "/dashboard/login/{token}"): RouteDoc(
        summary="Dashboard sign-in page",
        about="Asks to confirm opening the dashboard; uses nothing up by itself (previews).",
        auth=DASHBOARD_LINK,
        responses={200: "The page (HTML).", **DASHBOARD_LINKS},
    ),
    ("POST", "/dashboard/login/{token}"): RouteDoc(
        summary="Sign in to the dashboard",
        about=(
            "Exchanges the link, once, for a session cookie (8 hours) and answers 303 to "
            "/dashboard. A replayed link is refused."
        ),
        auth=DASHBOARD_LINK,
        responses={
            303: "Signed in: on to /dashboard.",
            403: "Not valid, or the member is no longer an admin.",
            410: "The link has expired, or was already used.",
        },
    ),
    ("GET", "/dashboard"): RouteDoc(
        summary="Dots dashboard",
        about=(
            "Per group (schedule) and agent over `since`..`until` (default: the last 30 days "
            "in the viewer's zone; at most 92 days): one dot per member and day, participation, "
            "mood trend with its 7-day average, repeated blockers, alerts, latest summaries. "
            "Groups under the org's anonymity threshold show anonymous aggregates only."
        ),
        auth=DASHBOARD_SESSION,
        responses={
            **DASHBOARD_PAGES,
            400: "Bad dates, or a period over 92 days: a page saying why.",
        },
    ),
    ("GET", "/dashboard/dots.csv"): RouteDoc(
        summary="Dashboard CSV of dots",
        about=(
            "The period's daily averages per agent and dot (anonymous), as CSV; the same "
            "`since`/`until` as the page. Audited."
        ),
        auth=DASHBOARD_SESSION,
        responses={200: "The CSV.", 400: "Bad dates.", 401: DASHBOARD_PAGES[401]},
    ),
    ("POST", "/dashboard/logout"): RouteDoc(
        summary="Sign out of the dashboard",
        about="Ends the session (form: `csrf`, the page's token) and clears the cookie.",
        auth=DASHBOARD_SESSION + " Plus the session's CSRF token in the form.",
        responses={**DASHBOARD_PAGES, 403: "No or a wrong CSRF token: nothing changed."},
    ),
    ("GET", "/checkin/{token}"): RouteDoc(
        summary="Browser check-in page",
        about="Where a member reached by email answers their check-in, one question at a time.",
        auth=LINK,
        responses=LINK_PAGES,
    ),
    ("POST", "/checkin/{token}/say"): RouteDoc(
        summary="Answer on the browser check-in page",
        about=(
            "A button or typed text (form: nonce from the page, and choice or text), stored "
            "in the inbox like a chat message; a double submit is one turn. Answers 303 to "
            "the page once the turn is taken, or after a few seconds."
        ),
        auth=LINK,
        responses={303: "Back to the page.", 409: "The check-in has ended.", **LINK_PAGES},
    ),
    ("GET", "/email/unsubscribe/{token}"): RouteDoc(
        summary="Unsubscribe page",
        about="Asks to confirm turning reminder emails off; changes nothing by itself.",
        auth=LINK,
        responses=LINK_PAGES,
    ),
    ("POST", "/email/unsubscribe/{token}"): RouteDoc(
        summary="Unsubscribe (RFC 8058 one-click)",
        about=(
            "Turns the member's reminder emails off; idempotent. Mail clients post "
            "`List-Unsubscribe=One-Click`; any body is accepted."
        ),
        auth=LINK,
        responses=LINK_PAGES,
    ),
    ("POST", "/api/email/ses-events"): RouteDoc(
        summary="SES bounces and complaints (SNS)",
        about=(
            "SES event notifications through SNS: a SubscriptionConfirmation is confirmed; a "
            "permanent bounce or a complaint suppresses the address in every organisation."
        ),
        auth=SNS_SIGNED,
        responses={
            200: "Taken (or nothing to do).",
            400: "Not an SNS message.",
            403: "A bad signature, an untrusted certificate URL, or another topic.",
            413: "The body is too large.",
            503: "The signing certificate could not be fetched: SNS retries.",
        },
    ),
    ("POST", "/api/billing/webhook"): RouteDoc(
        summary="Stripe billing events",
        about=(
            "Stripe's webhook events (checkout.session.completed, customer.subscription.created"
            " / updated / deleted / trial_will_end, invoice.paid, invoice.payment_failed) "
            "update the organisation's plan. Each event id is processed once; an event older "
            "than the organisation's billing state changes nothing; other types are "
            "acknowledged and ignored."
        ),
        auth=(
            "Stripe's signature: `Stripe-Signature: t=…,v1=…`, HMAC-SHA256 of `t.body` with "
            "STRIPE_WEBHOOK_SECRET, at most five minutes old (checked by the stripe SDK)."
        ),
        responses={
            200: "Processed, a duplicate, or ignored (`result` says which).",
            400: "A signed body that is no Stripe event: nothing changed.",
            401: "A missing, wrong or expired signature: nothing changed.",
            413: "The body is too large.",
            500: "Processing failed: nothing recorded, Stripe retries the event.",
            503: "STRIPE_WEBHOOK_SECRET is unset.",
        },
        extra=vendor_body(
            "A Stripe Event, verified against its signature over the raw bytes.",
            **{"application/json": "A Stripe Event object (`id`, `type`, `created`, `data`)."},
        ),
    ),
    ("POST", "/api/messages"): RouteDoc(
        summary="Microsoft Teams activities",
        about=(
            "Teams (and the Bot Framework Emulator) post every activity here. A message is "
            "stored in the inbox (its activity is processed once) before the 200; installs "
            "match or create the organisation by tenant id."
        ),
        auth=TEAMS_JWT,
        responses={
            200: "Stored (or nothing to do).",
            401: "A missing or invalid token: nothing is stored.",
            413: "The body is larger than MAX_REQUEST_BYTES.",
            503: "Teams is not configured (no MICROSOFT_APP_ID and not in emulator mode).",
        },
        extra=TEAMS_ACTIVITY_BODY,
    ),
    ("GET", "/healthz"): RouteDoc(
        summary="Liveness",
        about="The process answers. Touches nothing else, not even the database.",
        auth=PROBE,
        responses={200: 'Alive: `{"status": "ok"}`.'},
    ),
    ("GET", "/readyz"): RouteDoc(
        summary="Readiness",
        about=(
            "Ready to serve: the database answers and its schema is at head. Otherwise "
            "`reason` says why, e.g. `database unreachable: OperationalError: …` or "
            "`schema at 0004, expected 0005: run \\`vizdots migrate\\``; never a secret."
        ),
        auth=PROBE,
        responses={
            200: 'Ready: `{"status": "ready"}`.',
            503: 'Not ready: `{"status": "unavailable", "reason": "…"}`.',
        },
    ),
    ("POST", "/api/internal/scheduler"): RouteDoc(
        summary="Plan and deliver (cron)",
        about=(
            "Plans the sessions due in the next 36 hours and delivers at most "
            "SCHEDULER_BATCH of those due; `more_due` says whether some were left for the "
            "worker loops. Then posts the team digests of windows that closed (each once). "
            "Idempotent: calling it more often is harmless. Takes no body."
        ),
        auth=BEARER,
        responses={
            200: "Counts: planned, delivered, skipped, failed, expired, more_due; `digests`: "
            "staged, posted, retrying, failed.",
            401: "Missing or wrong bearer token.",
            503: "Disabled: SCHEDULER_SECRET is not set.",
        },
    ),
    ("POST", "/api/internal/reminders"): RouteDoc(
        summary="Remind (cron)",
        about=(
            "Works on the latest reminder slot (REMINDER_SLOTS on REMINDER_WEEKDAYS, UTC): "
            "one chat nudge per unfinished check-in, then at most one email per check-in and "
            "slot; at most REMINDER_BATCH steps a call, `more_due` saying whether some were "
            "left for the worker loop. Idempotent within a slot. Takes no body."
        ),
        auth=BEARER.replace("SCHEDULER_SECRET", "SCHEDULER_REMINDERS_SECRET"),
        responses={
            200: "Counts of nudges and emails sent, failed and skipped, and more_due.",
            401: "Missing or wrong bearer token.",
            503: "Disabled: SCHEDULER_REMINDERS_SECRET is not set, or no email extra.",
        },
    ),
    ("GET", "/api/internal/status"): RouteDoc(
        summary="Operations status",
        about=(
            'The runbook\'s "did the scheduler run today" check: the last scheduler and '
            "reminders runs (start, end, counts, error class; `finished_at` null: the run's "
            "process died), today's (UTC) sessions by state and the inbox's depth with its "
            "oldest pending event's age. `vizdots status` prints the same."
        ),
        auth=BEARER,
        responses={
            200: "`runs`, `sessions_today`, `inbox`.",
            401: "Missing or wrong bearer token.",
            503: "Disabled: SCHEDULER_SECRET is not set.",
        },
    ),
    ("GET", "/metrics"): RouteDoc(
        summary="Prometheus metrics",
        about=(
            "This process's counters and histograms (HTTP requests by route and status, "
            "refusals per inbound path, AI call latency and outcomes, emails by outcome, job "
            "runs, delivery lag) and gauges read from the database at scrape time (inbox "
            "depth, today's sessions by state, each job's last success), in Prometheus' "
            "text format. Each process serves its own: scrape every web process and worker."
        ),
        auth=(
            "`Authorization: Bearer <METRICS_TOKEN>` when METRICS_TOKEN is set; otherwise "
            "only loopback clients (a sidecar or node agent on 127.0.0.1)."
        ),
        responses={
            200: "Prometheus text exposition format 0.0.4.",
            401: "METRICS_TOKEN is set and the bearer is missing or wrong.",
            403: "No METRICS_TOKEN and the client is not on loopback.",
        },
    ),
    ("POST", "/slack/events"): RouteDoc(
        summary="Slack events, slash commands and interactivity",
        about=(
            "Every Slack request arrives here: events (DMs, App Home opened, uninstall), "
            "the `/vizdots` command and button presses. A member's message or press is "
            "stored in the durable inbox before Slack gets its 200; the turn runs later. "
            "A redelivery (`X-Slack-Retry-Num`) counts once."
        ),
        auth=SLACK_SIGNED,
        responses={
            200: "Acknowledged (the body is Bolt's: empty, a challenge, or a command reply).",
            400: "Signed, but no Slack payload (or fields of unexpected types).",
            401: "Unsigned, wrongly signed or older than five minutes.",
            413: "Body larger than MAX_REQUEST_BYTES (1 MB by default).",
            500: "Could not be stored (e.g. the database is down): Slack redelivers it.",
        },
        extra=SLACK_EVENTS_BODY,
    ),
    ("GET", "/slack/install"): RouteDoc(
        summary="Add to Slack (OAuth start)",
        about=(
            "The install page for a workspace admin (multi-workspace mode: SLACK_CLIENT_ID "
            "and SLACK_CLIENT_SECRET); its link starts Slack's OAuth flow."
        ),
        auth=OAUTH,
        responses={
            200: "An HTML page with the *Add to Slack* link (or a 302 to Slack).",
            404: "OAuth is not configured (a single-workspace install by SLACK_BOT_TOKEN).",
            429: "More than 10 loads in a row from one client: once every 6 s after that.",
        },
    ),
    ("GET", "/slack/oauth_redirect"): RouteDoc(
        summary="Slack OAuth redirect",
        about=(
            "Where Slack sends the admin back with `code` and `state`: the installation is "
            "stored, the organisation created or updated and the installer welcomed."
        ),
        auth=OAUTH,
        responses={
            200: "An HTML page: installed, or the admin cancelled (Slack's `error`).",
            400: "`state` was issued to another browser (its cookie does not match).",
            401: "`state` unknown or expired, `code` missing, or refused by Slack.",
            404: "OAuth is not configured.",
            500: "The installation could not be stored.",
        },
    ),
    ("GET", "/dev"): RouteDoc(
        summary="Local dev chat (page)",
        about="A web page to answer check-ins and type commands as any member.",
        auth=DEV,
        responses={200: "The chat page (HTML)."},
    ),
    ("GET", "/dev/digests"): RouteDoc(
        summary="Local dev chat: team digests (page)",
        about="The team digests posted to schedules' report channels, newest first.",
        auth=DEV,
        responses={200: "The digests page (HTML)."},
    ),
    ("GET", "/dev/dashboard"): RouteDoc(
        summary="Local dev chat: the demo org's dashboard",
        about="A fresh single-use dashboard link for the demo org's owner (audited), followed.",
        auth=DEV,
        responses={303: "On to the link's sign-in page.", 404: "No demo team yet."},
    ),
    ("GET", "/dev/api/members"): RouteDoc(
        summary="Local dev chat: members",
        about="Active members with an email, by organisation and name.",
        auth=DEV,
        responses={200: "The members: id, name, email, org, timezone, role."},
    ),
    ("GET", "/dev/api/members/{member_id}/chat"): RouteDoc(
        summary="Local dev chat: a member's conversation",
        about="The member's recent check-ins, oldest first, with buttons on an open question.",
        auth=DEV,
        responses={200: "The conversation.", 400: MALFORMED},
    ),
    ("POST", "/dev/api/members/{member_id}/say"): RouteDoc(
        summary="Local dev chat: say something as a member",
        about=(
            "A typed line (an answer, or a command such as `help` or `skip`) or a pressed "
            "button's `choice`, taken as the member's turn; the replies come back."
        ),
        auth=DEV,
        responses={
            200: "`replies` (a turn) or `command_reply` (a command).",
            400: MALFORMED,
            404: "No such member, or the member has no email.",
        },
    ),
}
