"""The Slack app: Bolt listeners that translate Slack payloads into core calls.

Bolt checks signatures and timestamps (401 otherwise) and acknowledges before our
listeners run, so a slow brain never delays Slack's HTTP 200. A member's message, edit
or button press is only stored in the durable inbox here (one INSERT); workers take the
turn. Slack redelivers events (X-Slack-Retry-Num) and Bolt does not deduplicate: the
inbox keeps each event id once, so a retry is processed once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.home import HomePublisher
from adapters.slack.install import SlackInstaller
from core.domain import Provider
from core.inbound import CommandRequest, EditedMessage, IncomingMessage, Sender
from core.inbox import Inbox

log = logging.getLogger("vizdots.slack")

RunCommand = Callable[[CommandRequest], Awaitable[str]]
CHOICE_ACTION = re.compile(r"^vizdots_choice_\d+$")
BOT_SCOPES = (
    "chat:write", "im:write", "im:history", "users:read", "users:read.email", "commands",
    "channels:read", "groups:read",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SlackSettings:
    signing_secret: str
    bot_token: str | None
    client_id: str | None
    client_secret: str | None
    api_url: str | None


@dataclass(frozen=True, slots=True)
class SlackCore:
    """What the Slack adapter hands inbound traffic to."""

    inbox: Inbox
    run_command: RunCommand
    installer: SlackInstaller
    home: HomePublisher


def build_slack_app(
    *,
    settings: SlackSettings,
    core: SlackCore,
    installation_store: AsyncInstallationStore | None = None,
    state_store: AsyncOAuthStateStore | None = None,
) -> AsyncApp:
    client = AsyncWebClient(
        token=settings.bot_token, base_url=settings.api_url or AsyncWebClient.BASE_URL
    )
    app = AsyncApp(
        signing_secret=settings.signing_secret,
        client=client,
        oauth_settings=_oauth(settings, core, installation_store, state_store),
    )
    _listen_to_messages(app, core)
    _listen_to_choices(app, core)
    _listen_to_commands(app, core)
    _listen_to_home(app, core)
    _listen_to_uninstalls(app, core, installation_store)
    return app


def _oauth(
    settings: SlackSettings,
    core: SlackCore,
    installation_store: AsyncInstallationStore | None,
    state_store: AsyncOAuthStateStore | None,
) -> AsyncOAuthSettings | None:
    """Multi-workspace install (SLACK_CLIENT_ID/SECRET) with slack_sdk's stores, or none."""
    if settings.bot_token or not (settings.client_id and settings.client_secret):
        return None

    async def installed(args: AsyncSuccessArgs) -> BoltResponse:
        found = args.installation
        await core.installer.install(
            team_id=found.team_id or "",
            team_name=found.team_name or "",
            bot_user_id=found.bot_user_id,
            installer=found.user_id,
            credentials_ref=f"slack_installations:{found.team_id}",
        )
        return await args.default.success(args)

    async def failed(args: AsyncFailureArgs) -> BoltResponse:
        log.warning("slack install failed: %s", args.reason)
        return await args.default.failure(args)

    return AsyncOAuthSettings(
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        scopes=list(BOT_SCOPES),
        installation_store=installation_store,
        state_store=state_store,
        install_path="/slack/install",
        redirect_uri_path="/slack/oauth_redirect",
        callback_options=AsyncCallbackOptions(success=installed, failure=failed),
    )


def _sender(context: dict[str, Any], user_id: str | None = None) -> Sender:
    return Sender(Provider.SLACK, context["team_id"] or "", user_id or context["user_id"] or "")


def _listen_to_messages(app: AsyncApp, core: SlackCore) -> None:
    @app.event("message")
    async def on_message(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        if event.get("channel_type") != "im":
            return
        if event.get("subtype") == "message_changed":
            await _edited(core, context, event, body.get("event_id"))
            return
        if event.get("subtype") or event.get("bot_id") or "user" not in event:
            return  # joins, bot posts, deletions: not a member's answer
        incoming = IncomingMessage(
            sender=_sender(context, event["user"]),
            text=event.get("text", ""),
            event_id=body.get("event_id"),
            message_id=f"{event['channel']}:{event['ts']}",
        )
        await core.inbox.accept(incoming)


async def _edited(
    core: SlackCore, context: Any, event: dict[str, Any], event_id: str | None
) -> None:
    changed = event.get("message", {})
    if "user" not in changed or changed.get("bot_id"):
        return
    await core.inbox.accept(
        EditedMessage(
            sender=_sender(context, changed["user"]),
            message_id=f"{event['channel']}:{changed['ts']}",
            text=changed.get("text", ""),
            event_id=event_id,
        )
    )


def _listen_to_choices(app: AsyncApp, core: SlackCore) -> None:
    @app.action(CHOICE_ACTION)
    async def on_choice(ack: Any, action: dict[str, Any], context: Any) -> None:
        await ack()
        label = action.get("text", {}).get("text", "")
        incoming = IncomingMessage(
            sender=_sender(context),
            text=label,
            choice=action.get("value", ""),
            event_id=f"action:{action.get('action_ts', '')}:{context['user_id']}",
        )
        await core.inbox.accept(incoming)


def _listen_to_commands(app: AsyncApp, core: SlackCore) -> None:
    @app.command("/vizdots")
    async def on_command(ack: Any, command: dict[str, Any], respond: Any, context: Any) -> None:
        await ack()
        request = CommandRequest(
            sender=_sender(context),
            text=command.get("text", ""),
            channel_id=command.get("channel_id"),
        )
        await respond(text=await core.run_command(request), response_type="ephemeral")


def _listen_to_home(app: AsyncApp, core: SlackCore) -> None:
    @app.event("app_home_opened")
    async def on_home(event: dict[str, Any], context: Any, client: AsyncWebClient) -> None:
        if event.get("tab") == "home":
            await core.home.publish(client, _sender(context, event["user"]))

    @app.action("vizdots_home_email")
    async def on_email(
        ack: Any, action: dict[str, Any], context: Any, client: AsyncWebClient
    ) -> None:
        await ack()
        await _home_command(core, client, context, f"email {action.get('value', 'on')}")

    @app.action("vizdots_home_vacation")
    async def on_vacation(
        ack: Any, action: dict[str, Any], context: Any, client: AsyncWebClient
    ) -> None:
        await ack()
        await _home_command(core, client, context, f"vacation until {action.get('selected_date')}")

    @app.action("vizdots_home_vacation_end")
    async def on_vacation_end(ack: Any, context: Any, client: AsyncWebClient) -> None:
        await ack()
        await _home_command(core, client, context, "vacation off")


async def _home_command(core: SlackCore, client: AsyncWebClient, context: Any, text: str) -> None:
    """A settings control on App Home is the same command typed; the home then refreshes."""
    await core.run_command(CommandRequest(sender=_sender(context), text=text))
    await core.home.publish(client, _sender(context))


def _listen_to_uninstalls(
    app: AsyncApp, core: SlackCore, installation_store: AsyncInstallationStore | None
) -> None:
    async def forget(context: Any) -> None:
        team_id = context["team_id"] or ""
        await core.installer.uninstall(team_id=team_id)
        if installation_store is not None:
            await installation_store.async_delete_all(enterprise_id=None, team_id=team_id)

    @app.event("app_uninstalled")
    async def on_uninstalled(context: Any) -> None:
        await forget(context)

    @app.event("tokens_revoked")
    async def on_tokens_revoked(event: dict[str, Any], context: Any) -> None:
        if event.get("tokens", {}).get("bot"):
            await forget(context)
