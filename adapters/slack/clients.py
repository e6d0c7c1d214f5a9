"""One slack_sdk AsyncWebClient per bot token, with retries for Slack's rate limits.

Tokens come from resolvers the composition root builds from the installation data
(a workspace's bot token from the OAuth installation store, or SLACK_BOT_TOKEN).
Clients are cached by token, so a reinstalled workspace (a new token) gets a fresh
client and an uninstalled one (no token) none.

Each call opens its own aiohttp session (slack_sdk's default): a client then works
from any event loop, which a shared session would tie it to.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.jitter import Jitter
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.timeouts import CALL_TIMEOUT_SECONDS

TokenForOrg = Callable[[int], Awaitable[str | None]]
TokenForTeam = Callable[[str], Awaitable[str | None]]

#: The SDK logs request and response bodies at DEBUG — message text is members' personal
#: data. Its logger is held at INFO, so turning on DEBUG elsewhere never logs them.
_SDK_LOG = "vizdots.slack.sdk"


class ProportionalJitter(Jitter):
    """Up to as much again as the back-off (the SDK's adds up to a whole second)."""

    def recalculate(self, duration: float) -> float:
        return duration + random.uniform(0, duration)


class SlackClients:
    def __init__(
        self,
        *,
        api_url: str | None,
        token_for_org: TokenForOrg,
        token_for_team: TokenForTeam,
        rate_limit_retries: int = 3,
        server_error_retries: int = 2,
        retry_backoff: float = 0.5,
        timeout: int = CALL_TIMEOUT_SECONDS,
    ) -> None:
        """`api_url` overrides https://slack.com/api/ (tests, staging); it must end with "/".

        Rate-limited calls wait the Retry-After Slack sends; server errors (500, 503) and
        dropped connections back off exponentially from `retry_backoff` seconds.
        """
        if api_url is not None and not api_url.endswith("/"):
            raise ValueError(f"SLACK_API_URL must end with '/': {api_url!r}")
        self._api_url = api_url
        self._token_for_org = token_for_org
        self._token_for_team = token_for_team
        self._rate_limit_retries = rate_limit_retries
        self._server_error_retries = server_error_retries
        self._backoff = BackoffRetryIntervalCalculator(
            backoff_factor=retry_backoff, jitter=ProportionalJitter()
        )
        self._timeout = timeout
        self._clients: dict[str, AsyncWebClient] = {}
        self._logger = logging.getLogger(_SDK_LOG)
        self._logger.setLevel(logging.INFO)

    async def for_org(self, org_id: int) -> AsyncWebClient | None:
        """The client of the org's Slack workspace; None when it has no bot token."""
        return self.for_token(await self._token_for_org(org_id))

    async def for_team(self, team_id: str) -> AsyncWebClient | None:
        """The client of a Slack workspace (team id); None when it has no bot token."""
        return self.for_token(await self._token_for_team(team_id))

    def for_token(self, token: str | None) -> AsyncWebClient | None:
        if not token:
            return None
        client = self._clients.get(token)
        if client is None:
            client = self._clients[token] = self._new_client(token)
        return client

    async def close(self) -> None:
        """Close any aiohttp session a client holds and forget the clients."""
        for client in self._clients.values():
            if client.session is not None and not client.session.closed:
                await client.session.close()
        self._clients.clear()

    def _new_client(self, token: str) -> AsyncWebClient:
        return AsyncWebClient(
            token=token,
            base_url=self._api_url or AsyncWebClient.BASE_URL,
            timeout=self._timeout,
            logger=self._logger,
            retry_handlers=self._retry_handlers(),
        )

    def _retry_handlers(self) -> list[AsyncRetryHandler]:
        """The SDK's default (a dropped connection) with our backoff, then 429s and 5xx."""
        return [
            AsyncConnectionErrorRetryHandler(
                max_retry_count=self._server_error_retries, interval_calculator=self._backoff
            ),
            AsyncRateLimitErrorRetryHandler(max_retry_count=self._rate_limit_retries),
            AsyncServerErrorRetryHandler(
                max_retry_count=self._server_error_retries, interval_calculator=self._backoff
            ),
        ]
