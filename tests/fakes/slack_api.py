"""A local Slack Web API for tests: real HTTP on 127.0.0.1, as bolt-python's own tests do.

slack_sdk reaches it through `base_url` ("http://127.0.0.1:PORT/api/"), exactly as it
reaches slack.com: POST (or GET) /api/<method>, form-encoded or JSON bodies, query
parameters, `Authorization: Bearer <token>` (Basic client id/secret for oauth.v2.access).

The fake holds one workspace — its team, bot, `users` (Slack user objects; Slackbot and
the bot user are there from the start, as in a real workspace), channel members, the
DM channels opened, messages posted, views published — and records every call in
`calls`, failed attempts included. It answers auth.test, users.list (paged by
`page_size`, small by default so paging is exercised), users.info, users.profile.get,
conversations.open / .members / .history, chat.postMessage / .update / .postEphemeral,
views.publish and oauth.v2.access; any other method gets {"ok": true}.

Block Kit limits are checked the way Slack does (invalid_blocks). `fail_next` makes
the next calls of a method fail: HTTP 429 with Retry-After, a 5xx, or an ok:false error.
`latency` (seconds, 0 by default) delays every answer, as a remote API's round trip
would (the benchmarks use 50 ms). `go_down` makes Slack unreachable (each connection is
closed without an answer; the attempts are still recorded, with status 0) until
`come_back`.

Message metadata (chat.postMessage / chat.update `metadata`, a JSON string or an object)
is kept with the message; conversations.history returns a channel's messages newest
first, with their metadata only when asked (`include_all_metadata`), at most
`history_limit` a page (15: Slack's limit for apps outside the Marketplace).
`on_call(method, hook)` runs `hook(call)` once a call of that method has been answered —
the message is in the workspace — but before the answer is sent, so a test can kill the
caller between Slack's "received" and the caller learning it.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

TEST_TOKEN = "xoxb-test-token"
INSTALLED_TOKEN = "xoxb-test-installed-token"
BOT_SCOPES = "chat:write,im:write,im:history,users:read,users:read.email,commands"
_SERVER_ERRORS = {500: "internal_error", 503: "service_unavailable", 504: "request_timeout"}
_JSON_PARAMS = ("blocks", "view", "attachments", "metadata")
_TRUE = {True, "true", "1"}


@dataclass(frozen=True)
class Call:
    """One request as the fake saw it, with the answer it gave."""

    method: str
    params: dict[str, Any]
    token: str | None
    client_id: str | None
    status: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None


@dataclass(frozen=True)
class Failure:
    status: int
    retry_after: int
    error: str | None


@dataclass
class Posted:
    """A message in the workspace (chat.postMessage; chat.update changes it)."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    edits: int = 0
    #: {"event_type": …, "event_payload": {…}} as chat.postMessage or chat.update set it.
    metadata: dict[str, Any] | None = None


class FakeSlackApi:
    def __init__(
        self,
        *,
        team_id: str = "T0TEST",
        team_name: str = "VizDots Test",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        app_id: str = "A0TEST",
        page_size: int = 2,
        history_limit: int = 15,
        latency: float = 0.0,
    ) -> None:
        self.team_id, self.team_name = team_id, team_name
        self.bot_user_id, self.bot_id, self.app_id = bot_user_id, bot_id, app_id
        self.page_size = page_size
        self.history_limit = history_limit
        #: Seconds each answer waits before it is sent (a remote API's round trip).
        self.latency = latency
        #: While True, every connection is closed without an answer (Slack unreachable).
        self.down = False
        #: Who installs in oauth.v2.access; None: the first owner or admin added, else U0OWNER.
        self.installer_id: str | None = None
        self.install_token = INSTALLED_TOKEN
        self.calls: list[Call] = []
        self.users: list[dict[str, Any]] = []
        self.channels: dict[str, list[str]] = {}
        self.dm_channels: dict[str, str] = {}
        self.messages: list[Posted] = []
        self.ephemeral: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.revoked_tokens: set[str] = set()
        self._failures: dict[str, deque[Failure]] = {}
        self._hooks: dict[str, list[Callable[[Call], None]]] = {}
        self._ts = itertools.count(1)
        self._lock = threading.RLock()
        self._http = _Server(("127.0.0.1", 0), _Handler)
        self._http.fake = self
        self.base_url = f"http://127.0.0.1:{self._http.server_address[1]}/api/"
        self.add_user("USLACKBOT", "Slackbot", None, "America/Los_Angeles")
        self.add_user(bot_user_id, "VizDots", None, "America/Los_Angeles", is_bot=True)

    # --- the workspace ---------------------------------------------------------------------------
    def add_user(
        self,
        id: str,
        name: str,
        email: str | None,
        tz: str = "UTC",
        *,
        is_admin: bool = False,
        is_owner: bool = False,
        is_bot: bool = False,
        deleted: bool = False,
        restricted: bool = False,
        status_text: str = "",
        status_emoji: str = "",
        status_expiration: int = 0,
        display_name: str = "",
        locale: str | None = None,
    ) -> dict[str, Any]:
        """Add a Slack user object (`name` is the real name) and return it. Its `locale`
        ("de-DE"; none unless given) is answered only to users.info / users.list with
        include_locale=true, as Slack does."""
        handle = (email or name).split("@")[0].lower().replace(" ", ".")
        locales = {"locale": locale} if locale else {}
        user = {
            "id": id,
            "team_id": self.team_id,
            "name": handle,
            "deleted": deleted,
            "real_name": name,
            "tz": tz,
            "tz_label": tz,
            **locales,
            "is_admin": is_admin,
            "is_owner": is_owner,
            "is_primary_owner": False,
            "is_restricted": restricted,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": 1_700_000_000,
            "profile": {
                "real_name": name,
                "real_name_normalized": name,
                "display_name": display_name,
                "display_name_normalized": display_name,
                "status_text": status_text,
                "status_emoji": status_emoji,
                "status_expiration": status_expiration,
                "team": self.team_id,
                **({"email": email} if email else {}),
                **({"bot_id": self.bot_id} if is_bot else {}),
            },
        }
        with self._lock:
            self.users.append(user)
        return user

    def set_status(self, user_id: str, text: str, emoji: str = "", expiration: int = 0) -> None:
        profile = self.user(user_id)["profile"]
        profile.update(status_text=text, status_emoji=emoji, status_expiration=expiration)

    def user(self, user_id: str) -> dict[str, Any]:
        with self._lock:
            return next(u for u in self.users if u["id"] == user_id)

    def add_channel(self, channel_id: str, members: list[str]) -> None:
        with self._lock:
            self.channels[channel_id] = list(members)

    def dm_channel_of(self, user_id: str) -> str:
        """The DM channel id conversations.open gives for a user (D-prefixed)."""
        return "D" + user_id.removeprefix("U").removeprefix("W")

    def revoke(self, token: str) -> None:
        with self._lock:
            self.revoked_tokens.add(token)

    # --- failures and what happened --------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        times: int = 1,
        *,
        status: int = 429,
        retry_after: int = 1,
        error: str | None = None,
    ) -> None:
        """The next `times` calls of `method` fail: with `error` (HTTP 200, ok false) when
        given, else HTTP `status` (429 with Retry-After: `retry_after` seconds)."""
        with self._lock:
            queue = self._failures.setdefault(method, deque())
            queue.extend([Failure(200 if error else status, retry_after, error)] * times)

    def go_down(self) -> None:
        """Slack unreachable: connections are closed without an answer until `come_back`."""
        self.down = True

    def come_back(self) -> None:
        self.down = False

    def on_call(self, method: str, hook: Callable[[Call], None]) -> Callable[[], None]:
        """Run `hook(call)` after each call of `method` was answered (its effect is in the
        workspace) and before the answer is sent. Returns a function removing the hook."""
        with self._lock:
            self._hooks.setdefault(method, []).append(hook)

        def remove() -> None:
            with self._lock:
                self._hooks[method].remove(hook)

        return remove

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def messages_in(self, channel: str) -> list[Posted]:
        with self._lock:
            return [message for message in self.messages if message.channel == channel]

    # --- life cycle ------------------------------------------------------------------------------
    def start(self) -> FakeSlackApi:
        threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def __enter__(self) -> FakeSlackApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- answering (on the server's threads) -----------------------------------------------------
    def answer(
        self, method: str, params: dict[str, Any], token: str | None, client_id: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            status, body, headers = self._answer(method, params, token)
            error = None if body.get("ok") else str(body.get("error"))
            call = Call(method, params, token, client_id, status, error)
            self.calls.append(call)
            hooks = list(self._hooks.get(method, ()))
        for hook in hooks:  # outside the lock: a hook may take its time (kill a process)
            hook(call)
        return status, body, headers

    def unreachable(
        self, method: str, params: dict[str, Any], token: str | None, client_id: str | None
    ) -> None:
        """Record a call that got no answer (`down`)."""
        with self._lock:
            self.calls.append(Call(method, params, token, client_id, 0, "unreachable"))

    def _answer(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        failures = self._failures.get(method)
        if failures:
            return _failure(failures.popleft())
        if method != "oauth.v2.access":
            if not token:
                return 200, _error("not_authed"), {}
            if token in self.revoked_tokens:
                return 200, _error("token_revoked"), {}
        route = _ROUTES.get(method)
        return 200, (route(self, params) if route else {"ok": True}), {}

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://vizdots-test.slack.com/",
            "team": self.team_name,
            "user": "vizdots",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        page = self._page(self.users, params)
        members = [_with_locale(user, params) for user in page.pop("items")]
        return {"ok": True, "members": members, **page}

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self._find_user(params.get("user"))
        if user is None:
            return _error("user_not_found")
        shown = _with_locale(user, params)
        return {"ok": True, "user": {**shown, "tz_offset": _offset(user["tz"])}}

    def _users_profile_get(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self._find_user(params.get("user") or self.bot_user_id)
        if user is None:
            return _error("user_not_found")
        return {"ok": True, "profile": copy.deepcopy(user["profile"])}

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        users = [u for u in str(params.get("users") or "").split(",") if u]
        if len(users) != 1:
            return _error("invalid_arguments" if not users else "not_implemented")
        user = self._find_user(users[0])
        if user is None:
            return _error("user_not_found")
        if user["is_bot"]:
            return _error("cannot_dm_bot")
        if user["deleted"]:
            return _error("user_disabled")
        channel = self.dm_channel_of(user["id"])
        known = self.dm_channels.get(user["id"]) == channel
        self.dm_channels[user["id"]] = channel
        return {"ok": True, "channel": {"id": channel}, **({"already_open": True} if known else {})}

    def _conversations_members(self, params: dict[str, Any]) -> dict[str, Any]:
        members = self.channels.get(str(params.get("channel")))
        if members is None:
            return _error("channel_not_found")
        page = self._page(members, params)
        return {"ok": True, "members": list(page.pop("items")), **page}

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(str(params.get("channel") or ""))
        if channel is None:
            return _error("channel_not_found")
        if problem := _content_problem(params, block_limit=50):
            return _error(problem)
        posted = Posted(channel, self._next_ts(), str(params.get("text") or ""))
        posted.blocks = list(params.get("blocks") or [])
        posted.metadata = _metadata(params.get("metadata"))
        self.messages.append(posted)
        return {"ok": True, "channel": channel, "ts": posted.ts, "message": self._shown(posted)}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(params.get("channel") or ""), str(params.get("ts") or "")
        if self._resolve_channel(channel) is None:
            return _error("channel_not_found")
        posted = next((m for m in self.messages if (m.channel, m.ts) == (channel, ts)), None)
        if posted is None:
            return _error("message_not_found")
        if problem := _content_problem(params, block_limit=50):
            return _error(problem)
        posted.text, posted.blocks = str(params.get("text") or ""), list(params.get("blocks") or [])
        if params.get("metadata") is not None:
            posted.metadata = _metadata(params.get("metadata"))
        posted.edits += 1
        shown = self._shown(posted)
        return {"ok": True, "channel": channel, "ts": ts, "text": posted.text, "message": shown}

    def _conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        """Newest first, between `oldest` and `latest` (exclusive, as Slack's default)."""
        channel = self._resolve_channel(str(params.get("channel") or ""))
        if channel is None:
            return _error("channel_not_found")
        oldest, latest = float(params.get("oldest") or 0), float(params.get("latest") or "inf")
        found = [m for m in self.messages_in(channel) if oldest < float(m.ts) < latest]
        found.sort(key=lambda m: float(m.ts), reverse=True)
        limit = min(int(params.get("limit") or 100), self.history_limit)
        with_metadata = params.get("include_all_metadata") in _TRUE
        shown = [self._shown(m, with_metadata=with_metadata) for m in found[:limit]]
        return {
            "ok": True,
            "messages": shown,
            "has_more": len(found) > limit,
            "pin_count": 0,
            "response_metadata": {"next_cursor": ""},
        }

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        if self._resolve_channel(str(params.get("channel") or "")) is None:
            return _error("channel_not_found")
        if self._find_user(params.get("user")) is None:
            return _error("user_not_found")
        if problem := _content_problem(params, block_limit=50):
            return _error(problem)
        ts = self._next_ts()
        self.ephemeral.append({**params, "message_ts": ts})
        return {"ok": True, "message_ts": ts}

    def _views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        if self._find_user(params.get("user_id")) is None:
            return _error("user_not_found")
        if not isinstance(view, dict) or view.get("type") != "home":
            return _error("invalid_arguments")
        if _blocks_problem(view.get("blocks"), limit=100):
            return _error("invalid_blocks")
        self.views[str(params["user_id"])] = view
        stored = {"id": f"V{next(self._ts):08d}", "team_id": self.team_id, **view}
        return {"ok": True, "view": stored}

    def _oauth_v2_access(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("code"):
            return _error("invalid_code")
        return {
            "ok": True,
            "access_token": self.install_token,
            "token_type": "bot",
            "scope": BOT_SCOPES,
            "bot_user_id": self.bot_user_id,
            "app_id": self.app_id,
            "team": {"id": self.team_id, "name": self.team_name},
            "enterprise": None,
            "authed_user": {"id": self._installer()},
            "is_enterprise_install": False,
        }

    # --- helpers ---------------------------------------------------------------------------------
    def _installer(self) -> str:
        admins = [u["id"] for u in self.users if u["is_owner"] or u["is_admin"]]
        return self.installer_id or next(iter(admins), "U0OWNER")

    def _find_user(self, user_id: object) -> dict[str, Any] | None:
        return next((u for u in self.users if u["id"] == user_id), None)

    def _resolve_channel(self, channel: str) -> str | None:
        """A channel id the bot can post to: a DM it opened, a known channel, or a user's DM."""
        if channel in self.channels:
            return channel
        if any(channel == self.dm_channel_of(u["id"]) for u in self.users if not u["is_bot"]):
            return channel  # a DM opened before (the id a member row stored)
        user = self._find_user(channel)
        if user is not None and not user["is_bot"]:
            return self.dm_channels.setdefault(channel, self.dm_channel_of(channel))
        return None

    def _page(self, items: list[Any], params: Mapping[str, Any]) -> dict[str, Any]:
        """One cursor page: Slack may return fewer than `limit`; the cursor is opaque."""
        start = int(base64.b64decode(params.get("cursor") or "MA==").decode())
        size = min(int(params.get("limit") or self.page_size), self.page_size)
        end = start + size
        more = base64.b64encode(str(end).encode()).decode() if end < len(items) else ""
        return {"items": items[start:end], "response_metadata": {"next_cursor": more}}

    def _next_ts(self) -> str:
        n = next(self._ts)
        return f"{1_700_000_000 + n}.{n * 100:06d}"

    def _shown(self, posted: Posted, *, with_metadata: bool = False) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "text": posted.text,
            "blocks": posted.blocks,
            "ts": posted.ts,
        }
        if with_metadata and posted.metadata is not None:
            shown["metadata"] = copy.deepcopy(posted.metadata)
        return shown


_ROUTES = {
    "auth.test": FakeSlackApi._auth_test,
    "users.list": FakeSlackApi._users_list,
    "users.info": FakeSlackApi._users_info,
    "users.profile.get": FakeSlackApi._users_profile_get,
    "conversations.open": FakeSlackApi._conversations_open,
    "conversations.members": FakeSlackApi._conversations_members,
    "conversations.history": FakeSlackApi._conversations_history,
    "chat.postMessage": FakeSlackApi._chat_post_message,
    "chat.update": FakeSlackApi._chat_update,
    "chat.postEphemeral": FakeSlackApi._chat_post_ephemeral,
    "views.publish": FakeSlackApi._views_publish,
    "oauth.v2.access": FakeSlackApi._oauth_v2_access,
}


def _error(code: str) -> dict[str, Any]:
    return {"ok": False, "error": code}


def _metadata(value: object) -> dict[str, Any] | None:
    """Message metadata as Slack keeps it: an event type and a payload object."""
    if isinstance(value, str):
        value = _json_or_text(value)
    if not isinstance(value, dict) or not value.get("event_type"):
        return None
    payload = value.get("event_payload") or {}
    return {"event_type": str(value["event_type"]), "event_payload": payload}


def _failure(failure: Failure) -> tuple[int, dict[str, Any], dict[str, str]]:
    if failure.error is not None:
        return 200, _error(failure.error), {}
    if failure.status == 429:
        return 429, _error("ratelimited"), {"Retry-After": str(failure.retry_after)}
    return failure.status, _error(_SERVER_ERRORS.get(failure.status, "fatal_error")), {}


#: users.info's tz_offset is the zone's standard offset, read at a fixed instant (nothing
#: in VizDots uses it; the zone name is what counts).
_OFFSET_AT = datetime(2026, 1, 15, 12, tzinfo=UTC)


def _offset(zone: str) -> int:
    offset = _OFFSET_AT.astimezone(ZoneInfo(zone)).utcoffset()
    return int(offset.total_seconds()) if offset else 0


# --- Block Kit checks, as Slack makes them ----------------------------------------------------
def _content_problem(params: Mapping[str, Any], *, block_limit: int) -> str | None:
    blocks = params.get("blocks")
    if not params.get("text") and not blocks:
        return "no_text"
    if len(str(params.get("text") or "")) > 40_000:
        return "msg_too_long"
    if blocks is not None and _blocks_problem(blocks, limit=block_limit):
        return "invalid_blocks"
    return None


def _blocks_problem(blocks: object, *, limit: int) -> str | None:
    """Why Slack would refuse these blocks, or None."""
    if not isinstance(blocks, list) or len(blocks) > limit:
        return f"not a list of at most {limit} blocks"
    block_ids = [b.get("block_id") for b in blocks if isinstance(b, dict) and b.get("block_id")]
    if len(block_ids) != len(set(block_ids)):
        return "duplicate block_id"
    for block in blocks:
        if problem := _block_problem(block):
            return problem
    return None


def _block_problem(block: object) -> str | None:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        return "a block without a type"
    text = block.get("text") or {}
    if block["type"] == "section" and not 1 <= len(text.get("text", "")) <= 3000:
        return "section text must be 1 to 3000 characters"
    if block["type"] == "header" and not 1 <= len(text.get("text", "")) <= 150:
        return "header text must be 1 to 150 characters"
    elements = list(block.get("elements") or [])
    if "accessory" in block:
        elements.append(block["accessory"])
    if block["type"] == "actions" and not 1 <= len(elements) <= 25:
        return "actions need 1 to 25 elements"
    action_ids = [e.get("action_id") for e in elements if e.get("action_id")]
    if len(action_ids) != len(set(action_ids)):
        return "duplicate action_id"
    return next(filter(None, map(_element_problem, elements)), None)


def _element_problem(element: dict[str, Any]) -> str | None:
    if element.get("type") != "button":
        return None
    label = element.get("text") or {}
    if label.get("type") != "plain_text" or not 1 <= len(label.get("text", "")) <= 75:
        return "button text must be plain_text of 1 to 75 characters"
    if len(str(element.get("value", ""))) > 2000:
        return "button value longer than 2000 characters"
    if element.get("style") not in {None, "primary", "danger"}:
        return "unknown button style"
    return None


# --- HTTP ----------------------------------------------------------------------------------------
class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeSlackApi

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client killed mid-request (the crash tests) resets its connection: not news."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self._handle(b"")

    def do_POST(self) -> None:
        self._handle(self.rfile.read(int(self.headers.get("Content-Length", 0))))

    def _handle(self, body: bytes) -> None:
        url = urlsplit(self.path)
        if not url.path.startswith("/api/"):
            self._send(404, _error("unknown_method"), {})
            return
        params = _form(url.query) | self._body_params(body)
        for key in _JSON_PARAMS:
            if isinstance(params.get(key), str):
                params[key] = _json_or_text(params[key])
        token, client_id = self._credentials()
        method, fake = url.path.removeprefix("/api/"), self.server.fake
        if fake.down:  # no answer at all: the client sees the connection dropped
            fake.unreachable(method, params, token, client_id)
            self.close_connection = True
            return
        status, payload, headers = fake.answer(method, params, token, client_id)
        if fake.latency:
            time.sleep(fake.latency)  # on this connection's thread, outside the fake's lock
        self._send(status, payload, headers)

    def _body_params(self, body: bytes) -> dict[str, Any]:
        if not body:
            return {}
        if "json" in self.headers.get("Content-Type", ""):
            return dict(json.loads(body))
        return _form(body.decode())

    def _credentials(self) -> tuple[str | None, str | None]:
        scheme, _, value = self.headers.get("Authorization", "").partition(" ")
        if scheme == "Bearer":
            return value.strip() or None, None
        if scheme == "Basic":
            return None, base64.b64decode(value).decode().partition(":")[0]
        return None, None

    def _send(self, status: int, payload: Mapping[str, Any], headers: Mapping[str, str]) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the calls are recorded instead."""


def _form(text: str) -> dict[str, Any]:
    return {key: values[-1] for key, values in parse_qs(text, keep_blank_values=True).items()}


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


@pytest.fixture
def slack_api() -> Iterator[FakeSlackApi]:
    """A started fake Slack workspace; `base_url` is like http://127.0.0.1:PORT/api/."""
    with FakeSlackApi() as server:
        yield server


def _with_locale(user: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """A copy of the user object, its locale only when the caller asked for it."""
    shown = copy.deepcopy(user)
    if str(params.get("include_locale", "")).lower() not in ("true", "1"):
        shown.pop("locale", None)
    return shown
