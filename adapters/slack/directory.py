"""A Slack workspace as a MemberDirectory: its people (users.list), one person
(users.info) and channel members. Both ask for the user's locale (include_locale), the
language a member gets when first seen.

Needs the bot scopes users:read and users:read.email (emails), and channels:read /
groups:read for conversations.members. Both lists are paged by cursor (users.list is
Tier 2: about 20 pages a minute, 200 people a page); users.info is Tier 4 (100+ a minute).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack.clients import SlackClients
from core.i18n import language_of
from core.ports import DirectoryError, MemberProfile

log = logging.getLogger("vizdots.slack")

PAGE_SIZE = 200
#: A safety stop: 1,000 pages of 200 is far beyond any workspace.
MAX_PAGES = 1_000
SLACKBOT = "USLACKBOT"
#: conversations.members errors meaning "no members we can see", not a failure.
_NO_MEMBERS = frozenset({"channel_not_found", "not_in_channel", "is_archived"})

Page = Callable[..., Awaitable[AsyncSlackResponse]]


class SlackDirectoryError(DirectoryError):
    """The workspace's directory could not be read (no token, a Slack or network error)."""

    def __init__(self, reason: str, *, code: str) -> None:
        super().__init__(reason)
        self.code = code


class SlackDirectory:
    complete_listing = True  # users.list: everyone in the workspace

    def __init__(self, *, clients: SlackClients, include_guests: bool = False) -> None:
        """`include_guests`: also list single- and multi-channel guests."""
        self._clients = clients
        self._include_guests = include_guests

    async def list_members(self, org_external_id: str) -> list[MemberProfile]:
        """The people of the workspace (team id): no bots, deactivated users or guests."""
        client = await self._client(org_external_id)
        users = await _all_pages(
            client.users_list, "members", method="users.list", include_locale=True
        )
        return [_profile(user) for user in users if self._is_person(user)]

    async def member(self, org_external_id: str, external_id: str) -> MemberProfile | None:
        """One person by user id (users.info, Tier 4); None for a bot, a guest, a
        deactivated account, someone from another workspace or an unknown id."""
        client = await self._client(org_external_id)
        try:
            answer = await client.users_info(user=external_id, include_locale=True)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
            if _code(error) == "user_not_found":
                return None
            raise _failure("users.info", error) from error
        user = answer.get("user") or {}
        if not self._is_person(user) or not _of_team(user, org_external_id):
            return None
        return _profile(user)

    async def channel_members(self, org_external_id: str, channel_id: str) -> list[str]:
        """User ids in a channel; none when the bot cannot see the channel."""
        client = await self._client(org_external_id)
        try:
            return [
                str(user)
                for user in await _all_pages(
                    client.conversations_members,
                    "members",
                    method="conversations.members",
                    channel=channel_id,
                )
            ]
        except SlackDirectoryError as error:
            if error.code in _NO_MEMBERS:
                return []
            raise

    async def _client(self, team_id: str) -> AsyncWebClient:
        client = await self._clients.for_team(team_id)
        if client is None:
            reason = "VizDots is not installed in this Slack workspace"
            raise SlackDirectoryError(reason, code="not_installed")
        return client

    def _is_person(self, user: dict[str, Any]) -> bool:
        if user.get("deleted") or user.get("is_bot") or user.get("is_app_user"):
            return False
        if user.get("id") == SLACKBOT:
            return False
        guest = user.get("is_restricted") or user.get("is_ultra_restricted")
        return self._include_guests or not guest


def _profile(user: dict[str, Any]) -> MemberProfile:
    profile = user.get("profile") or {}
    name = (
        profile.get("real_name")
        or profile.get("display_name")
        or user.get("real_name")
        or user.get("name")
        or str(user["id"])
    )
    admin = user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner")
    return MemberProfile(
        external_id=str(user["id"]),
        display_name=str(name),
        email=profile.get("email") or None,
        timezone=user.get("tz") or None,
        is_admin=bool(admin),
        language=language_of(user.get("locale")),
    )


async def _all_pages(call: Page, key: str, *, method: str, **params: Any) -> list[Any]:
    """Every item under `key` across the cursor pages of one Web API method."""
    items: list[Any] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        try:
            page = await call(limit=PAGE_SIZE, cursor=cursor, **params)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
            raise _failure(method, error) from error
        items += page.get(key) or []
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if cursor is None:
            break
    return items


def _of_team(user: dict[str, Any], team_id: str) -> bool:
    """A user of this workspace, not a Slack Connect visitor from another one."""
    return user.get("team_id") in (None, team_id) or bool(user.get("enterprise_user"))


def _failure(method: str, error: Exception) -> SlackDirectoryError:
    code = _code(error)
    log.warning("slack %s failed: %s", method, code)
    return SlackDirectoryError(f"Slack {method} failed: {code}", code=code)


def _code(error: Exception) -> str:
    if not isinstance(error, SlackApiError):
        return type(error).__name__
    data = error.response.data
    return str(data.get("error") or "unknown") if isinstance(data, dict) else "unknown"
