"""Log lines: one JSON object a line (LOG_FORMAT=json: time, level, logger, message,
request_id, org_id) or human-readable text; and the middleware that gives each HTTP
request its id (a sane X-Request-ID from a proxy, else a new one), echoed back."""

from __future__ import annotations

import json
import logging
import re
import uuid
from datetime import UTC, datetime

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.metrics.http import route_template
from core.log_context import org_id, request_id

log = logging.getLogger("vizdots.http")
TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s%(context)s"
#: A proxy's request id is kept only when it is short and plain (no log injection).
SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
#: Paths whose last segment is a credential (a signed check-in, unsubscribe or dashboard
#: link): uvicorn's access log shows them as …/<redacted>.
TOKEN_PATH = re.compile(r"^(/checkin/|/email/unsubscribe/|/dashboard/login/)[^/?\s]+")


def redacted_path(path: str) -> str:
    return TOKEN_PATH.sub(r"\1<redacted>", path)


class ContextFilter(logging.Filter):
    """Copies the request id and org id of the running task onto every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            record.args = tuple(redacted_path(a) if isinstance(a, str) else a for a in record.args)
        record.request_id = request_id.get()
        record.org_id = org_id.get()
        shown = [f"{k}={v}" for k, v in (("request", record.request_id), ("org", record.org_id))]
        record.context = f" [{' '.join(s for s in shown if not s.endswith('=None'))}]"
        if record.context == " []":
            record.context = ""
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "org_id": getattr(record, "org_id", None),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def log_handler(log_format: str) -> logging.Handler:
    """A stderr handler in `log_format` ("json" or "text"), with the context filter."""
    handler = logging.StreamHandler()
    handler.addFilter(ContextFilter())
    json_lines = log_format == "json"
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
    return handler


class RequestIds:
    """Pure ASGI middleware: each request's log lines carry its id (X-Request-ID)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = given if SANE_ID.fullmatch(given) else uuid.uuid4().hex
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [*message.get("headers", []), (b"x-request-id", rid.encode())]
                message = {**message, "headers": headers}
            await send(message)

        tokens = (request_id.set(rid), org_id.set(None))  # the org: set once it is known
        try:
            await self.app(scope, receive, sending)
        finally:  # the route's template, never its path (a signed link's token)
            log.debug("%s %s %d", scope.get("method"), route_template(scope), status)
            org_id.reset(tokens[1])
            request_id.reset(tokens[0])
