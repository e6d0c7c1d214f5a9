"""The Slack app: Bolt listeners that translate Slack payloads into core calls.

Acknowledged means stored. Bolt runs with `process_before_response=True`: a listener
finishes before Slack gets its HTTP answer. A member's message, edit or button press is
stored in the durable inbox (one INSERT, committed) and only then answered 200; a store
that fails answers 500, so Slack redelivers. Workers take the turns later. Slack
redelivers events (X-Slack-Retry-Num) and Bolt does not deduplicate: the inbox keeps
each event id once. Slash commands and App Home controls carry no event id: their
trigger id is recorded (core.seen) before the 200, so a replayed request changes nothing.

Nothing that waits on Slack's Web API runs before the answer: a command's reply (it may
sync members or page users.list), App Home publishing and the home controls run as
tracked background tasks after the acknowledgement (`Background`), which a graceful
shutdown waits for. They are not durable — Slack never redelivers a command — and a
command a crash interrupted is simply typed again. Bot identity comes from a cache
(adapters.slack.tokens), never from auth.test per request.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.error import BoltUnhandledRequestError
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
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.background import Background
from adapters.slack.home import HomePublisher
from adapters.slack.install import SlackInstaller
from adapters.slack.mrkdwn import to_mrkdwn
from adapters.slack.shapes import (
    answer_of,
    choice_of,
    edit_of,
    is_id,
    teams_of_enterprise,
    user_of,
    workspace_of,
)
from adapters.slack.tokens import BotIdentity
from core.domain import Provider
from core.inbound import CommandRequest, Sender
from core.inbox import Inbox
from core.ports import Clock
from core.seen import first_time

log = logging.getLogger("vizdots.slack")

RunCommand = Callable[[CommandRequest], Awaitable[str]]
CHOICE_ACTION = re.compile(r"^vizdots_choice_\d+$")
BOT_SCOPES = (
    "chat:write", "im:write", "im:history", "users:read", "users:read.email", "commands",
    "channels:read", "groups:read",
    # A digest's post is looked up in its channel after a crash (conversations.history).
    "channels:history", "groups:history",
)  # fmt: skip
#: A payload whose shape a listener did not expect raises one of these: a 400, not a 500.
SHAPE_ERRORS = (KeyError, TypeError, AttributeError, IndexError, ValueError)


@dataclass(frozen=True, slots=True)
class SlackSettings:
    signing_secret: str
    bot_token: str | None
    client_id: str | None
    client_secret: str | None
    api_url: str | None
    #: During a rotation, the signing secrets still accepted besides `signing_secret`.
    previous_signing_secrets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SlackCore:
    """What the Slack adapter hands inbound traffic to."""

    inbox: Inbox
    run_command: RunCommand
    installer: SlackInstaller
    home: HomePublisher
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    identity: BotIdentity = field(default_factory=BotIdentity)
    background: Background = field(default_factory=lambda: Background(log))


def build_slack_app(
    *,
    settings: SlackSettings,
    core: SlackCore,
    authorize: AsyncAuthorize,
    client: AsyncWebClient,
    installation_store: AsyncInstallationStore | None = None,
    state_store: AsyncOAuthStateStore | None = None,
) -> AsyncApp:
    """`client` carries no token: `authorize` gives each request its workspace's."""
    app = AsyncApp(
        signing_secret=settings.signing_secret,
        # SlackIngress has verified the signature (against each signing secret) already
        request_verification_enabled=False,
        client=client,
        authorize=authorize,
        oauth_settings=_oauth(settings, core, installation_store, state_store),
        process_before_response=True,
        raise_error_for_unhandled_request=True,
    )
    app.error(_answer_error)
    _listen_to_messages(app, core)
    _listen_to_choices(app, core)
    _listen_to_commands(app, core)
    _listen_to_home(app, core)
    _listen_to_uninstalls(app, core, installation_store)
    return app


async def _answer_error(error: Exception, body: Any) -> BoltResponse:
    """One log line, no traceback, no payload: a request nobody listens to is ignored
    (200: Slack must not redeliver it), an unexpected shape is a 400, anything else (the
    database down) a 500, so that Slack redelivers."""
    kind = _kind_of(body)
    if isinstance(error, BoltUnhandledRequestError):
        log.info("slack request ignored: no listener for %s", kind)
        return BoltResponse(status=200, body="")
    if isinstance(error, SHAPE_ERRORS):
        log.info("slack request refused: unexpected %s payload (%s)", kind, type(error).__name__)
        return BoltResponse(status=400, body="malformed request")
    log.error("slack %s not handled: %s", kind, type(error).__name__)
    return BoltResponse(status=500, body="")


def _kind_of(body: Any) -> str:
    if not isinstance(body, dict):
        return "request"
    event = body.get("event")
    event_type = event.get("type") if isinstance(event, dict) else None
    return f"{body.get('type') or body.get('command') or '?'}/{event_type or '-'}"[:80]


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
        workspace = found.team_id or found.enterprise_id or ""  # org-wide: the enterprise
        await core.installer.install(
            team_id=workspace,
            team_name=found.team_name or found.enterprise_name or "",
            bot_user_id=found.bot_user_id,
            installer=found.user_id,
            credentials_ref=f"slack_installations:{workspace}",
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


def _sender(body: dict[str, Any], context: Any, user: str) -> Sender:
    return Sender(Provider.SLACK, workspace_of(body, context), user)


def _listen_to_messages(app: AsyncApp, core: SlackCore) -> None:
    @app.event("message")
    async def on_message(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        if event.get("subtype") == "message_changed":
            edit = edit_of(
                event, workspace=workspace_of(body, context), event_id=body.get("event_id")
            )
            if edit is not None:
                await core.inbox.accept(edit)
            return
        answer = answer_of(
            event, workspace=workspace_of(body, context), event_id=body.get("event_id")
        )
        if answer is not None:
            await core.inbox.accept(answer)


def _listen_to_choices(app: AsyncApp, core: SlackCore) -> None:
    @app.action(CHOICE_ACTION)
    async def on_choice(
        ack: Any, body: dict[str, Any], action: dict[str, Any], context: Any
    ) -> None:
        choice = choice_of(body, action, workspace=workspace_of(body, context))
        if choice is not None:  # a replayed press has the same event id: stored once
            await core.inbox.accept(choice)
        await ack()


async def _first_time(core: SlackCore, kind: str, body: dict[str, Any], context: Any) -> bool:
    """True the first time this command or press arrives (recorded before the 200)."""
    trigger = body.get("trigger_id")
    if not is_id(trigger):
        log.info("slack %s ignored: it has no trigger_id", kind)
        return False
    key = f"slack:{kind}:{workspace_of(body, context)}:{trigger}"
    if await first_time(core.sessions, key, core.clock.now()):
        return True
    log.info("slack %s ignored: replayed (trigger already seen)", kind)
    return False


def _listen_to_commands(app: AsyncApp, core: SlackCore) -> None:
    @app.command("/vizdots")
    async def on_command(ack: Any, body: dict[str, Any], respond: Any, context: Any) -> None:
        user = user_of(body)
        if user is not None and await _first_time(core, "command", body, context):
            request = CommandRequest(
                sender=_sender(body, context, user),
                text=str(body.get("text") or ""),
                channel_id=_channel_typed_in(body),
            )
            core.background.start(_reply(core, request, respond), what="command reply")
        await ack()  # the reply follows through response_url


def _channel_typed_in(body: dict[str, Any]) -> str | None:
    """The channel a command was typed in; None in a DM (never a report channel)."""
    if body.get("channel_name") == "directmessage" or str(body.get("channel_id", "")).startswith(
        "D"
    ):
        return None
    return body.get("channel_id")


async def _reply(core: SlackCore, request: CommandRequest, respond: Any) -> None:
    reply = await core.run_command(request)
    await respond(text=to_mrkdwn(reply), response_type="ephemeral")


def _listen_to_home(app: AsyncApp, core: SlackCore) -> None:
    @app.event("app_home_opened")
    async def on_home(
        body: dict[str, Any], event: dict[str, Any], context: Any, client: AsyncWebClient
    ) -> None:
        user = event.get("user")
        if event.get("tab") != "home" or not is_id(user):
            log.debug("slack app_home_opened ignored: not the home tab of a user")
            return
        sender = _sender(body, context, user)
        core.background.start(core.home.publish(client, sender), what="App Home")

    _home_control(app, core, "vizdots_home_email", lambda a: f"email {a.get('value', 'on')}")
    _home_control(
        app, core, "vizdots_home_vacation", lambda a: f"vacation until {a.get('selected_date')}"
    )
    _home_control(app, core, "vizdots_home_vacation_end", lambda _a: "vacation off")


def _home_control(
    app: AsyncApp, core: SlackCore, action_id: str, words: Callable[[dict[str, Any]], str]
) -> None:
    """A settings control on App Home is the same command typed; the home then refreshes."""

    async def on_control(
        ack: Any, body: dict[str, Any], action: dict[str, Any], context: Any, client: AsyncWebClient
    ) -> None:
        user = user_of(body)
        if user is not None and await _first_time(core, "home control", body, context):
            sender = _sender(body, context, user)
            work = _home_command(core, client, sender, words(action))
            core.background.start(work, what="App Home control")
        await ack()

    app.action(action_id)(on_control)


async def _home_command(core: SlackCore, client: AsyncWebClient, sender: Sender, text: str) -> None:
    await core.run_command(CommandRequest(sender=sender, text=text))
    await core.home.publish(client, sender)


def _listen_to_uninstalls(
    app: AsyncApp, core: SlackCore, installation_store: AsyncInstallationStore | None
) -> None:
    async def forget(body: dict[str, Any], context: Any) -> None:
        """Recorded before the 200. An org-wide (Enterprise Grid) uninstall names only the
        enterprise: every workspace installed under it is concerned."""
        team_id, enterprise_id = context.get("team_id"), context.get("enterprise_id")
        teams = (
            [team_id]
            if team_id
            else await _enterprise_teams(core, installation_store, enterprise_id)
        )
        for team in teams:
            await core.installer.uninstall(team_id=team)
        if installation_store is not None:
            await installation_store.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)
        log.info("slack uninstall recorded for %d workspace(s)", len(teams))

    @app.event("app_uninstalled")
    async def on_uninstalled(body: dict[str, Any], context: Any) -> None:
        await forget(body, context)

    @app.event("tokens_revoked")
    async def on_tokens_revoked(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        tokens = event.get("tokens")
        if isinstance(tokens, dict) and tokens.get("bot"):
            await forget(body, context)


async def _enterprise_teams(
    core: SlackCore, store: AsyncInstallationStore | None, enterprise_id: str | None
) -> list[str]:
    if enterprise_id is None:
        return [core.identity.team_id] if core.identity.team_id else []
    known = await teams_of_enterprise(store, enterprise_id) if store is not None else []
    if store is None and core.identity.team_id:
        known.append(core.identity.team_id)
    return [enterprise_id, *known]
