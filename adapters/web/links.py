"""Signed, expiring links into the app for one member (core.ports.MemberLinks).

Tokens are itsdangerous URL-safe timed signatures with one salt per purpose, so a
check-in token never opens an unsubscribe and vice versa. Reading a token tells an
expired link (`LinkExpired`, a clear "ask for a new one") from a forged or mangled one
(`LinkInvalid`). The time comes from the Clock, so tests pin it.

An unsubscribe link outlives the check-in link (`unsubscribe_max_age`, 60 days by
default): the law (CAN-SPAM asks for 30 days) and mail clients expect it to keep working
long after the check-in it came with has closed.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from core.admin.dashboard_sessions import LinkGrant
from core.ports import Clock, SystemClock

log = logging.getLogger("vizdots.links")

CHECKIN_SALT = "vizdots.link.checkin"
UNSUBSCRIBE_SALT = "vizdots.link.unsubscribe"
UNSUBSCRIBE_MAX_AGE = timedelta(days=60)
DASHBOARD_SALT = "vizdots.link.dashboard"
#: A dashboard link is for opening now: short-lived, and single use (core.admin).
DASHBOARD_MAX_AGE = timedelta(minutes=10)


class BadLink(Exception):
    """A link that cannot be used; the message says what the member can do."""


class LinkExpired(BadLink):
    """Correctly signed, but older than its maximum age."""


class LinkInvalid(BadLink):
    """Not signed by us, mangled, or made for another purpose."""


@dataclass(frozen=True, slots=True)
class CheckinLink:
    member_id: int
    session_id: int


class SignedLinks:
    """`checkin` / `unsubscribe` / `dashboard` build absolute URLs; `read_*` verify a token."""

    def __init__(
        self,
        *,
        secret: str,
        base_url: str,
        max_age: timedelta,
        unsubscribe_max_age: timedelta = UNSUBSCRIBE_MAX_AGE,
        dashboard_max_age: timedelta = DASHBOARD_MAX_AGE,
        clock: Clock | None = None,
    ) -> None:
        if len(secret) < 16:
            raise ValueError("a link signing secret needs at least 16 characters")
        self._serializer = URLSafeTimedSerializer(secret, signer=_signer_on(clock or SystemClock()))
        self._base = base_url.rstrip("/")
        self._max_age = max_age
        self._unsubscribe_max_age = unsubscribe_max_age
        self._dashboard_max_age = dashboard_max_age

    def checkin(self, *, member_id: int, session_id: int) -> str:
        token = self._serializer.dumps({"m": member_id, "s": session_id}, salt=CHECKIN_SALT)
        return f"{self._base}/checkin/{token}"

    def unsubscribe(self, *, member_id: int) -> str:
        token = self._serializer.dumps({"m": member_id}, salt=UNSUBSCRIBE_SALT)
        return f"{self._base}/email/unsubscribe/{token}"

    def dashboard(self, *, org_id: int, member_id: int, nonce: str) -> str:
        data = {"o": org_id, "m": member_id, "n": nonce}
        return f"{self._base}/dashboard/login/{self._serializer.dumps(data, salt=DASHBOARD_SALT)}"

    def read_checkin(self, token: str) -> CheckinLink:
        data = self._read(token, salt=CHECKIN_SALT, max_age=self._max_age)
        return CheckinLink(member_id=_id(data, "m"), session_id=_id(data, "s"))

    def read_unsubscribe(self, token: str) -> int:
        """The member id the unsubscribe link was made for."""
        data = self._read(token, salt=UNSUBSCRIBE_SALT, max_age=self._unsubscribe_max_age)
        return _id(data, "m")

    def read_dashboard(self, token: str) -> LinkGrant:
        data = self._read(token, salt=DASHBOARD_SALT, max_age=self._dashboard_max_age)
        nonce = data.get("n")
        if not isinstance(nonce, str) or not 16 <= len(nonce) <= 64:
            raise LinkInvalid("This link is not valid.")
        return LinkGrant(org_id=_id(data, "o"), member_id=_id(data, "m"), nonce=nonce)

    def _read(self, token: str, *, salt: str, max_age: timedelta) -> dict[str, Any]:
        try:
            data = self._serializer.loads(token, salt=salt, max_age=max_age.total_seconds())
        except SignatureExpired:
            raise LinkExpired("This link has expired.") from None
        except BadSignature:
            raise LinkInvalid("This link is not valid.") from None
        if not isinstance(data, dict):
            raise LinkInvalid("This link is not valid.")
        return data


#: Where a route gets the links from, on its first request (a per-install secret is then
#: generated only by an app that serves a link).
LinkSource = Callable[[], SignedLinks]


def _id(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise LinkInvalid("This link is not valid.")
    return value


def _signer_on(clock: Clock) -> type[TimestampSigner]:
    """A TimestampSigner that reads the time from `clock` (signing and checking age)."""

    class ClockSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock.now().timestamp())

    return ClockSigner


def secret_from_file(path: Path) -> str:
    """The per-install secret in `path`, generated (32 random bytes, mode 0600) the first
    time. Used when LINK_SIGNING_SECRET is unset: right for one machine (the embedded
    default); several web machines must share LINK_SIGNING_SECRET instead."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_text(encoding="utf-8").strip()
        if len(secret) < 16:
            raise ValueError(f"{path} holds no usable link secret; delete it") from None
        return secret
    secret = secrets.token_urlsafe(32)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(secret + "\n")
    log.info("generated a link signing secret in %s (set LINK_SIGNING_SECRET to share one)", path)
    return secret
