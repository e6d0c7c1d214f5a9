"""Calls to the Bot Framework connector (the activity's serviceUrl), through the Agents
SDK's ConnectorClient, and its failures as core's DeliveryError.

A token for the connector comes from the SDK's MSAL provider (client credentials of
MICROSOFT_APP_ID in MICROSOFT_APP_TENANT_ID; MSAL caches it until it expires); the
emulator takes none. Retryable answers — 412, 429, 502, 503, 504, a timeout, a
connection refused — become DeliveryError(retryable=True) and the outbox tries again
after its exponential back-off with jitter, never before the connector's Retry-After
(seconds or an HTTP date: `DeliveryError.retry_after`); 403 (the member blocked or uninstalled the
bot) and 404 (the chat no longer exists) are permanent and mark the member unreachable
in Teams. Logs name the operation, the status and the member id, never a token or text.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Protocol

import aiohttp
from microsoft_agents.hosting.core.connector.client import ConnectorClient

from adapters.teams.config import CONNECTOR_RESOURCE, CONNECTOR_SCOPES, TeamsSettings
from adapters.teams.timeouts import CALL_TIMEOUT_SECONDS, CONNECT_TIMEOUT_SECONDS
from core.ports import DeliveryError

log = logging.getLogger("vizdots.teams")

RETRYABLE = frozenset({408, 412, 429, 500, 502, 503, 504})
UNREACHABLE = frozenset({403, 404})
TIMEOUT = aiohttp.ClientTimeout(total=CALL_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS)


class ConnectorTokens(Protocol):
    async def token(self) -> str:
        """A bearer token for the Bot Framework connector ("" when none is needed)."""
        ...


class TokenUnavailable(Exception):
    """Entra ID gave no token (refused, unreachable): the send is tried again later."""


class NoTokens:
    """The Bot Framework Emulator's connector takes anonymous calls."""

    async def token(self) -> str:
        return ""


class MsalTokens:
    """Client-credentials tokens from the SDK's MSAL provider (cached by MSAL).

    The SDK builds MSAL's client inside its async call, and MSAL's constructor fetches
    the tenant's OpenID configuration over blocking HTTP: the whole call runs in a worker
    thread (with an event loop of its own), so this process's loop never waits on Entra.
    """

    def __init__(self, settings: TeamsSettings) -> None:
        from microsoft_agents.authentication.msal import MsalAuth

        self._auth = MsalAuth(settings.auth_configuration())

    async def token(self) -> str:
        try:
            return await asyncio.to_thread(asyncio.run, self._requested())
        except Exception as error:  # MSAL's and the SDK's errors alike; never the secret
            raise TokenUnavailable(type(error).__name__) from None

    async def _requested(self) -> str:
        return await self._auth.get_access_token(CONNECTOR_RESOURCE, list(CONNECTOR_SCOPES))


class Connector:
    def __init__(self, *, tokens: ConnectorTokens) -> None:
        self._tokens = tokens

    @asynccontextmanager
    async def client(self, service_url: str) -> AsyncIterator[ConnectorClient]:
        """A connector client for one serviceUrl, closed afterwards."""
        with translated("token", member_id=None):
            token = await self._tokens.token()
        base = service_url if service_url.endswith("/") else service_url + "/"
        session = aiohttp.ClientSession(base_url=base, timeout=TIMEOUT)
        client = ConnectorClient(endpoint=base, token=token, session=session)
        try:
            yield client
        finally:
            await client.close()


class TeamsDeliveryError(DeliveryError):
    def __init__(
        self,
        reason: str,
        *,
        status: int,
        retryable: bool,
        unreachable: bool,
        retry_after: timedelta | None = None,
    ) -> None:
        learned = {"teams_unreachable": True} if unreachable else None
        super().__init__(reason, retryable=retryable, learned=learned, retry_after=retry_after)
        self.status = status


def retry_after(headers: Mapping[str, str] | None, *, now: datetime | None) -> timedelta | None:
    """The wait a Retry-After header asks for: delay-seconds, or an HTTP date (then measured
    from `now`, the time the call was made; without `now` a date is not read)."""
    value = (headers or {}).get("Retry-After", "").strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    if not value or now is None:
        return None
    try:
        until = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(until - now, timedelta(0)) if until.tzinfo else None


@contextmanager
def translated(
    operation: str, *, member_id: int | None, now: datetime | None = None
) -> Iterator[None]:
    """Connector and network failures as TeamsDeliveryError, logged without content.
    `now`: when the call is made, to read a Retry-After given as a date."""
    try:
        yield
    except aiohttp.ClientResponseError as error:
        status = int(error.status)
        log.warning("teams %s failed for member %s: HTTP %d", operation, member_id, status)
        unreachable = status in UNREACHABLE
        hint = " (the member blocked or removed VizDots in Teams)" if unreachable else ""
        raise TeamsDeliveryError(
            f"Teams {operation}: HTTP {status}{hint}",
            status=status,
            retryable=status in RETRYABLE,
            unreachable=unreachable,
            retry_after=retry_after(error.headers, now=now),
        ) from None
    except (TimeoutError, aiohttp.ClientError) as error:
        log.warning("teams %s failed for member %s: %s", operation, member_id,
                    type(error).__name__)  # fmt: skip
        reason = f"Teams {operation}: could not reach the connector ({type(error).__name__})"
        raise TeamsDeliveryError(reason, status=0, retryable=True, unreachable=False) from None
    except TokenUnavailable as error:
        log.warning("teams %s failed: Entra ID gave no token (%s)", operation, error)
        reason = f"Teams {operation}: Entra ID gave no token ({error}); check MICROSOFT_APP_*"
        raise TeamsDeliveryError(reason, status=0, retryable=True, unreachable=False) from None
    except ValueError as error:  # the SDK refused an id
        log.warning("teams %s failed for member %s: %s", operation, member_id,
                    type(error).__name__)  # fmt: skip
        reason = f"Teams {operation}: {type(error).__name__}"
        raise TeamsDeliveryError(reason, status=0, retryable=True, unreachable=False) from None
