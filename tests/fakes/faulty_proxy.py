"""A fault-injecting HTTP proxy for fakes that cannot fail on demand (moto's SES).

Served over real HTTP on 127.0.0.1 (tests.fakes.http_server.serving), it forwards every
request to `upstream` and back, except that `fail_next` makes the next requests (to a
path under a prefix) get a planned answer instead — a 429 with the vendor's error
shape, a 503 — without reaching the upstream. Every exchange is recorded with whether
it was a planned fault, so a test can show the faults really happened.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

#: Headers that describe one hop, not the request: never forwarded.
_HOP = frozenset({"host", "content-length", "connection", "transfer-encoding"})


@dataclass(frozen=True)
class Fault:
    """One planned answer: its status, JSON body and headers."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    #: Only a request whose path starts with this takes the fault.
    path: str = ""


@dataclass(frozen=True)
class Exchange:
    method: str
    path: str
    status: int
    injected: bool


@dataclass
class FaultyProxy:
    upstream: str
    exchanges: list[Exchange] = field(default_factory=list)
    _faults: deque[Fault] = field(default_factory=deque)

    def fail_next(self, times: int, fault: Fault) -> None:
        """The next `times` requests to `fault.path…` get `fault` (after those planned)."""
        self._faults.extend([fault] * times)

    def pending(self) -> int:
        """Planned faults not yet answered."""
        return len(self._faults)

    def injected(self) -> list[Exchange]:
        return [e for e in self.exchanges if e.injected]

    def app(self) -> Starlette:
        async def forward(request: Request) -> Response:
            if (fault := self._take(request.url.path)) is not None:
                self.exchanges.append(
                    Exchange(request.method, request.url.path, fault.status, True)
                )
                return Response(json.dumps(fault.body), fault.status, fault.headers,
                                media_type="application/json")  # fmt: skip
            answer = await self._upstream(request)
            self.exchanges.append(
                Exchange(request.method, request.url.path, answer.status_code, False)
            )
            headers = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP}
            headers.pop("content-encoding", None)  # httpx gave the body decoded
            return Response(answer.content, answer.status_code, headers)

        methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
        return Starlette(routes=[Route("/{path:path}", forward, methods=methods)])

    def _take(self, path: str) -> Fault | None:
        if self._faults and path.startswith(self._faults[0].path):
            return self._faults.popleft()
        return None

    async def _upstream(self, request: Request) -> httpx.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        async with httpx.AsyncClient(base_url=self.upstream, timeout=30) as client:
            return await client.request(
                request.method,
                request.url.path,
                params=request.query_params.multi_items(),
                content=await request.body(),
                headers=headers,
            )
