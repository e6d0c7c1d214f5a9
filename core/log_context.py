"""What a log line is about: the request or job being handled and the organisation, when
known. Set by the request middleware (bot/log_format.py), the inbox per event and the
admin API per token; read by the log formatter. Context variables follow each asyncio
task, so concurrent requests never see each other's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("vizdots_request_id", default=None)
org_id: ContextVar[int | None] = ContextVar("vizdots_org_id", default=None)


@contextmanager
def log_context(*, request: str | None = None, org: int | None = None) -> Iterator[None]:
    """Within the block, log lines carry `request` (a request or job id) and `org`."""
    request_token = request_id.set(request) if request is not None else None
    org_token = org_id.set(org) if org is not None else None
    try:
        yield
    finally:
        if org_token is not None:
            org_id.reset(org_token)
        if request_token is not None:
            request_id.reset(request_token)
