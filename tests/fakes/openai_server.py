"""A local OpenAI-compatible server for tests and the token bench: real HTTP on 127.0.0.1.

The openai SDK reaches it through `base_url`, as it would reach vLLM or Ollama (respx
cannot intercept the SDK's httpx2). It records every request and answers
POST /v1/chat/completions from a queue the test fills (`push`, `fail_next`, `delay_next`)
or, when the queue is empty, with `policy_content`: a deterministic stand-in for a model
that reads the request —
  * a turn (its schema has `ask`): a follow-up on the current question when the member's
    latest words are vague (fewer than 6) and the status line leaves follow-ups, else the
    `next` plan question (its text from the plan lines), else "none" with a thank-you;
  * an extraction: a value for each property of the schema — numbers from `key=N` in the
    prompt, strings from the first words of the last answer on a `key: …` line;
  * plain text (no schema, an acknowledgement): one short sentence.
Usage numbers come from `request_tokens` with `count_tokens` (default `approx_tokens`).
Latency: every answer waits `delay` seconds (settable; `delay_next` overrides it for the
next answers), and `hang()` holds every request unanswered — as a model that stopped
responding — until `release()` (`held` counts the requests waiting; `stop` releases them).
tests/fakes/checkin_driver.py plays the engine's part, to drive whole check-ins.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

TokenCounter = Callable[[str], int]
STATUS = re.compile(r"current=(\S+) next=(\S+) follow_ups_left=(\d+)")
VAGUE_WORDS = 6
ACK = "Thanks for sharing that."


def approx_tokens(text: str) -> int:
    """About four characters a token: OpenAI's rule of thumb for English text."""
    return math.ceil(len(text) / 4)


def request_tokens(body: Mapping[str, Any], count: TokenCounter = approx_tokens) -> int:
    """Prompt tokens of a chat request: each message (+3 framing), the reply primer, the schema."""
    messages = body.get("messages", [])
    tokens = sum(count(str(m.get("content") or "")) + 3 for m in messages) + 3
    if fmt := body.get("response_format"):
        tokens += count(json.dumps(fmt, separators=(",", ":")))
    return tokens


def schema_properties(body: Mapping[str, Any]) -> dict[str, Any]:
    fmt = body.get("response_format") or {}
    return dict(fmt.get("json_schema", {}).get("schema", {}).get("properties", {}))


@dataclass(frozen=True)
class Planned:
    """One queued answer: a status, content (None: the policy answers), a delay, usage."""

    status: int = 200
    content: str | None = None
    delay: float = 0.0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int = 0


@dataclass(frozen=True)
class Exchange:
    body: dict[str, Any]
    status: int
    content: str | None


class FakeOpenAIServer:
    def __init__(self, *, count_tokens: TokenCounter = approx_tokens, delay: float = 0.0) -> None:
        self.count_tokens = count_tokens
        #: Seconds each answer waits (a slow model), unless `delay_next` planned another.
        self.delay = delay
        self.exchanges: list[Exchange] = []
        self._queue: deque[Planned] = deque()
        self._lock = threading.Lock()
        self._hanging = False
        self._held = 0
        self._release = threading.Condition(self._lock)
        self._ids = itertools.count(1)
        self._http = _Server(("127.0.0.1", 0), _Handler)
        self._http.fake = self
        self.base_url = f"http://127.0.0.1:{self._http.server_address[1]}/v1"

    # --- what the test controls ------------------------------------------------------------------
    def push(
        self,
        content: str | Mapping[str, Any],
        *,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        cached_tokens: int = 0,
    ) -> None:
        """Answer the next request with this content (a mapping is sent as JSON)."""
        text = content if isinstance(content, str) else json.dumps(content)
        self._plan(Planned(200, text, 0.0, prompt_tokens, completion_tokens, cached_tokens))

    def fail_next(self, count: int = 1, *, status: int = 500) -> None:
        for _ in range(count):
            self._plan(Planned(status=status))

    def delay_next(self, count: int = 1, *, seconds: float) -> None:
        for _ in range(count):
            self._plan(Planned(delay=seconds))

    def hang(self) -> None:
        """From now on, hold every request unanswered until `release`."""
        with self._lock:
            self._hanging = True

    def release(self) -> None:
        """Answer the held requests (and the next ones) again."""
        with self._lock:
            self._hanging = False
            self._release.notify_all()

    @property
    def held(self) -> int:
        """Requests waiting, unanswered, for `release`."""
        with self._lock:
            return self._held

    def wait_held(self, count: int = 1, *, within: float = 10.0) -> None:
        """Block until `count` requests are held (a caller is stuck in its model call)."""
        with self._lock:
            if not self._release.wait_for(lambda: self._held >= count, timeout=within):
                raise AssertionError(f"{self._held} requests held after {within} s, not {count}")

    @property
    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [exchange.body for exchange in self.exchanges]

    # --- life cycle ------------------------------------------------------------------------------
    def start(self) -> FakeOpenAIServer:
        threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self.release()
        self._http.shutdown()
        self._http.server_close()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- answering (on the server's threads) -----------------------------------------------------
    def _plan(self, planned: Planned) -> None:
        with self._lock:
            self._queue.append(planned)

    def hold(self) -> None:
        """While hanging, wait (on the server's thread) until released."""
        with self._lock:
            if not self._hanging:
                return
            self._held += 1
            self._release.notify_all()
            self._release.wait_for(lambda: not self._hanging)
            self._held -= 1

    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], float]:
        with self._lock:
            planned = self._queue.popleft() if self._queue else Planned()
            delay = planned.delay or self.delay
        if planned.status != 200:
            self._record(Exchange(body, planned.status, None))
            error = {"message": f"fake failure {planned.status}", "type": "server_error"}
            return planned.status, {"error": error}, delay
        content = planned.content if planned.content is not None else policy_content(body)
        self._record(Exchange(body, 200, content))
        return 200, self._completion(body, content, planned), delay

    def _record(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)

    def _completion(self, body: dict[str, Any], content: str, planned: Planned) -> dict[str, Any]:
        prompt = planned.prompt_tokens
        prompt = request_tokens(body, self.count_tokens) if prompt is None else prompt
        completion = planned.completion_tokens
        completion = self.count_tokens(content) if completion is None else completion
        message = {"role": "assistant", "content": content, "refusal": None}
        return {
            "id": f"chatcmpl-fake-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": planned.cached_tokens},
            },
        }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeOpenAIServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client killed mid-request (the crash tests) resets its connection: not news."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "invalid"}})
            return
        self.server.fake.hold()
        status, payload, delay = self.server.fake.answer(body)
        time.sleep(delay)
        self._send(status, payload)

    def _send(self, status: int, payload: Mapping[str, Any]) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-request-id", f"req_fake_{time.monotonic_ns()}")
            self.send_header("retry-after-ms", "10")  # keeps the SDK's retries fast
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up (a timeout test): nothing to answer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the exchanges are recorded instead."""


# --- the model stand-in --------------------------------------------------------------------------
def policy_content(body: Mapping[str, Any]) -> str:
    properties = schema_properties(body)
    text = "\n".join(str(m.get("content") or "") for m in body.get("messages", []))
    if "ask" in properties:
        return json.dumps(_turn(text, _latest_member_words(body)))
    if properties:
        return json.dumps(_extraction(text, properties))
    return ACK


def _turn(text: str, latest: str | None) -> dict[str, Any]:
    found = STATUS.search(text)
    current, upcoming, left = found.groups() if found else ("none", "none", "0")
    vague = latest is not None and len(latest.split()) < VAGUE_WORDS
    if vague and current != "none" and int(left) > 0:
        return {"reply": "Thanks! Could you say a little more about that?", "ask": current}
    if upcoming != "none":
        opener = "Thanks, got it. " if latest else "Hi there! "
        return {"reply": opener + _question_text(text, upcoming), "ask": upcoming}
    return {"reply": "Thanks for checking in, have a great day!", "ask": "none"}


def _extraction(text: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, spec in properties.items():
        if key == "summary":
            continue
        if spec.get("type") in {"integer", "number"}:
            found = re.search(rf"\b{re.escape(key)}=(\d+)", text)
            values[key] = int(found.group(1)) if found else 3
        elif spec.get("enum"):
            values[key] = spec["enum"][0]
        else:
            found = re.search(rf"(?m)^{re.escape(key)}: (.+)$", text)
            values[key] = _first_words(found.group(1).split(" | ")[-1], 8) if found else "n/a"
    if "summary" in properties:
        values["summary"] = "Checked in: " + "; ".join(f"{k} {v}" for k, v in values.items())
    return values


def _latest_member_words(body: Mapping[str, Any]) -> str | None:
    """The last 'Member:' line, else the last user message (a brain sending raw turns)."""
    messages = body.get("messages", [])
    text = "\n".join(str(m.get("content") or "") for m in messages)
    if lines := re.findall(r"(?m)^Member: (.*)$", text):
        return str(lines[-1])
    users = [str(m.get("content") or "") for m in messages if m.get("role") == "user"]
    return users[-1] if users else None


def _question_text(text: str, key: str) -> str:
    found = re.search(rf"(?m)^- {re.escape(key)} \[[^\]]*\]: (.+)$", text)
    return found.group(1) if found else f"What about {key}?"


def _first_words(text: str, count: int) -> str:
    return " ".join(text.split()[:count]).rstrip(",.;:!")


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    """A started fake; `base_url` is like http://127.0.0.1:PORT/v1."""
    with FakeOpenAIServer() as server:
        yield server
