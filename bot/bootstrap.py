"""The composition root: builds every service once from Settings and passes it in."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.settings import Settings
from core.channels import ChannelSet
from core.commands.service import run_command
from core.conversation import Conversations
from core.delivery import Delivery
from core.digest_posting import Digests
from core.domain import Provider
from core.inbound import CommandRequest
from core.inbox import Inbox
from core.job_runs import JobRuns
from core.outbox import Outbox
from core.ports import (
    Billing,
    Brain,
    Channel,
    ChannelPoster,
    CheckinListener,
    Clock,
    DashboardLinks,
    Mailer,
    MemberDirectory,
    Summariser,
    SystemClock,
)
from core.reminders import Reminders
from core.scripted_brain import FallbackBrain, ScriptedBrain
from core.seats import SeatSyncer
from core.store.engine import make_async_engine, make_sessionmaker
from core.store.health import OutageLog
from core.typed import TypedChat

if TYPE_CHECKING:
    from adapters.metrics.database import DatabaseGauges
    from adapters.metrics.signals import AppMetrics
    from adapters.web.links import SignedLinks
    from bot.slack import SlackParts
    from bot.teams import TeamsParts

log = logging.getLogger("vizdots")


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    brain: Brain
    channels: ChannelSet
    delivery: Delivery
    conversations: Conversations
    inbox: Inbox
    outbox: Outbox
    #: Nudges and reminder emails; None when the email extra is not installed.
    reminders: Reminders | None = None
    #: Stripe (core.ports.Billing) and the seat syncer; None when billing is not configured.
    billing: Billing | None = None
    seat_sync: SeatSyncer | None = None
    directories: dict[Provider, MemberDirectory] = field(default_factory=dict)
    slack: SlackParts | None = None
    teams: TeamsParts | None = None
    #: Run planning and delivery every `loop_interval` seconds inside the web process.
    loop_interval: float | None = 60.0
    #: Take the inbox's turns inside this process (else `vizdots worker` processes do).
    inbox_in_process: bool = True
    #: What the background loops say about a database outage: once, not once a try.
    database: OutageLog = field(default_factory=OutageLog)
    #: `/vizdots dashboard`'s links (built, with the secret, on first use).
    dashboard_links: DashboardLinks | None = None
    #: Team digests posted to schedules' report channels; None when no chat can post.
    digests: Digests | None = None
    #: This process's Prometheus metrics (its own CollectorRegistry) and the gauges
    #: read from the database at scrape time; None only in hand-built Services.
    metrics: AppMetrics | None = None
    gauges: DatabaseGauges | None = None

    @cached_property
    def runs(self) -> JobRuns:
        """The recorded runs of the scheduler and reminders jobs (job_runs)."""
        return JobRuns(sessions=self.sessions, clock=self.clock)

    @property
    def dev_chat(self) -> bool:
        """The web chat (/dev) is served when the dev chat is every member's channel: with
        no real chat configured. (Beside Slack or Teams it only carries the demo team's
        messages, read in the terminal: /dev, unauthenticated, would show everyone's.)"""
        return self.channels.get(Provider.DEV) is not None and not (self.slack or self.teams)

    @cached_property
    def links(self) -> SignedLinks:
        """Signed links for emails (core.ports.MemberLinks) and the pages that read them;
        built on first use (an unset LINK_SIGNING_SECRET generates the per-install one)."""
        from bot.web import build_links

        return build_links(self.settings, self.clock)

    @property
    def typed_chat(self) -> TypedChat:
        """Where chats without slash commands (dev chat, terminal) send a typed line."""
        return TypedChat(conversations=self.conversations, run_command=self.run_command)

    async def run_command(self, request: CommandRequest) -> str:
        return await _run_command(
            request, sessions=self.sessions, directories=self.directories, clock=self.clock,
            billing=self.billing, dashboard_links=self.dashboard_links,
        )  # fmt: skip

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Background work for the app's lifetime; everything released afterwards."""
        from bot.worker import (
            bill_forever,
            digest_forever,
            drain_forever,
            remind_forever,
            run_forever,
            send_forever,
            tidy_forever,
        )

        tasks = []
        if self.inbox_in_process:
            tasks.append(_background(drain_forever(self)))
            tasks.append(_background(send_forever(self)))
            tasks.append(_background(tidy_forever(self)))
            tasks.append(_background(bill_forever(self)))
        if self.loop_interval:
            tasks.append(_background(run_forever(self)))
            tasks.append(_background(remind_forever(self)))
            tasks.append(_background(digest_forever(self)))
        if self.slack is not None and self.slack.settings.bot_token:
            tasks.append(_background(self.slack.keep_installing()))
        try:
            yield
        finally:
            await self.inbox.flush()  # what the web process accepted is stored before exit
            if self.teams is not None and self.teams.app is not None:
                await self.teams.app.background.finish()  # team rosters being read
            for task in tasks:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
            await self.close()

    async def close(self) -> None:
        close = getattr(self.brain, "close", None)
        if close is not None:
            await close()
        summariser = self.digests.summariser if self.digests is not None else None
        close = getattr(summariser, "close", None)
        if close is not None:
            await close()
        if self.slack is not None:
            await self.slack.clients.close()
        await self.engine.dispose()


async def _run_command(
    request: CommandRequest,
    *,
    sessions: async_sessionmaker[AsyncSession],
    directories: dict[Provider, MemberDirectory],
    clock: Clock,
    billing: Billing | None = None,
    dashboard_links: DashboardLinks | None = None,
) -> str:
    reply = await run_command(
        sessions=sessions,
        request=request,
        directory=directories.get(request.sender.provider),
        clock=clock,
        billing_port=billing,
        dashboard_links=dashboard_links,
    )
    return reply.text


def _background(work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    return asyncio.create_task(work)


def build_brain(settings: Settings) -> Brain:
    """OpenAI when a key is set (falling back to the scripted brain), else scripted."""
    if settings.openai_api_key is None:
        return ScriptedBrain()
    from adapters.llm.openai_brain import OpenAIBrain

    primary = OpenAIBrain(
        api_key=settings.openai_api_key.get_secret_value(),
        model=settings.openai_model,
        base_url=str(settings.openai_base_url) if settings.openai_base_url else None,
        timeout_seconds=settings.openai_timeout_seconds,
        max_retries=settings.openai_max_retries,
        include_text=True,  # kept in ai_logs only for orgs that opted in
    )
    return FallbackBrain(primary=primary, fallback=ScriptedBrain())


def build_metrics(
    sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> tuple[AppMetrics, DatabaseGauges]:
    """This process's registry: its counters and histograms, and the database gauges."""
    from prometheus_client import CollectorRegistry

    from adapters.metrics.database import DatabaseGauges
    from adapters.metrics.signals import AppMetrics

    registry = CollectorRegistry()
    gauges = DatabaseGauges(sessions=sessions, runs=JobRuns(sessions=sessions, clock=clock))
    registry.register(gauges)
    return AppMetrics(registry), gauges


def build_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    loop_interval: float | None = 60.0,
    dev_chat: bool = True,
    inbox_in_process: bool = True,
    accept_window: float | None = 0.0,
) -> Services:
    """`dev_chat`: members talk through the local /dev chat — all of them without Slack or
    Teams, else those of organisations with no chat installed (`vizdots demo`'s).
    `inbox_in_process`: False when separate `vizdots worker` processes take the turns.
    `accept_window`: 0 (group commit) lets the events a web process accepts while an
    INSERT runs share the next one; > 0 also waits that long for company; None: one
    INSERT an event (see Inbox)."""
    quiet_chatty_loggers()
    engine = make_async_engine(
        settings.database_url,
        row_security=settings.row_security,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    sessions = make_sessionmaker(engine)
    clock = clock or SystemClock()
    metrics, gauges = build_metrics(sessions, clock)
    from adapters.metrics.observed import ObservedBrain

    brain: Brain = ObservedBrain(build_brain(settings), metrics)
    slack = _slack_parts(settings, engine, sessions, clock)
    teams = _teams_parts(settings, sessions, clock)
    channels: list[Channel] = [slack.channel] if slack else []  # Slack first, then Teams
    if teams is not None:
        channels.append(teams.channel)
    listeners: list[CheckinListener] = [slack.home] if slack else []
    if dev_chat:  # beside a real chat, only for organisations without one (the demo's)
        from adapters.dev.channel import DevChannel

        channels.append(DevChannel(sessions=sessions, beside_chats=bool(channels)))
    from adapters.web.channel import WebChannel

    channels.append(WebChannel())  # last: members no chat reaches, answering by email link
    channel_set = ChannelSet(channels)
    directories: dict[Provider, MemberDirectory] = {}
    if slack is not None:
        directories[Provider.SLACK] = slack.directory
    if teams is not None:
        directories[Provider.TEAMS] = teams.directory
    from bot.billing import build_billing, build_seat_sync

    billing = build_billing(settings, sessions=sessions)
    seat_sync = build_seat_sync(settings, sessions=sessions, billing=billing, clock=clock)
    claim_timeout = timedelta(seconds=settings.claim_timeout_seconds)
    from bot.web import LinksOnFirstUse

    dashboard_links = LinksOnFirstUse(settings, clock)
    outbox = Outbox(
        sessions=sessions, channels=channel_set, clock=clock, claim_timeout=claim_timeout
    )
    grace = timedelta(hours=settings.session_grace_hours)
    delivery = Delivery(
        sessions=sessions,
        brain=brain,
        channels=channel_set,
        clock=clock,
        grace=grace,
        outbox=outbox,
        signals=metrics,
    )
    conversations = Conversations(
        sessions=sessions,
        brain=brain,
        channels=channel_set,
        clock=clock,
        delivery=delivery,
        outbox=outbox,
        listeners=listeners,
        directories=directories,
    )
    typed = TypedChat(
        conversations=conversations,
        run_command=partial(
            _run_command,
            sessions=sessions,
            directories=directories,
            clock=clock,
            billing=billing,
            dashboard_links=dashboard_links,
        ),
    )
    inbox = Inbox(
        sessions=sessions,
        conversations=conversations,
        clock=clock,
        accept_window=accept_window,
        concurrency=settings.worker_concurrency,
        claim_timeout=claim_timeout,
        typed={Provider.TEAMS: typed},  # Teams has no slash commands: typed lines may be
    )
    reminders = build_reminders(
        settings, sessions=sessions, channels=channel_set, outbox=outbox, clock=clock,
        metrics=metrics,
    )  # fmt: skip
    services = Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        clock=clock,
        brain=brain,
        channels=channel_set,
        delivery=delivery,
        conversations=conversations,
        inbox=inbox,
        outbox=outbox,
        reminders=reminders,
        billing=billing,
        seat_sync=seat_sync,
        directories=directories,
        slack=slack,
        teams=teams,
        loop_interval=loop_interval,
        inbox_in_process=inbox_in_process,
        dashboard_links=dashboard_links,
        digests=build_digests(
            settings, sessions=sessions, clock=clock, slack=slack, teams=teams,
            dev_chat=dev_chat, claim_timeout=claim_timeout,
        ),
        metrics=metrics, gauges=gauges,
    )  # fmt: skip
    if slack is not None:
        from bot.slack import attach_slack_app

        attach_slack_app(slack, inbox=inbox, run_command=services.run_command)
    if teams is not None:
        from bot.teams import attach_teams_app

        attach_teams_app(teams, inbox=inbox)
    return services


def build_digests(
    settings: Settings,
    *,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    slack: SlackParts | None,
    teams: TeamsParts | None,
    dev_chat: bool,
    claim_timeout: timedelta,
) -> Digests | None:
    """Team digests through each configured chat's channel poster (None: no chat)."""
    posters: dict[Provider, ChannelPoster] = {}
    if slack is not None:
        from adapters.slack.channel_posts import SlackChannelPoster

        posters[Provider.SLACK] = SlackChannelPoster(clients=slack.clients)
    if teams is not None:
        posters[Provider.TEAMS] = teams.poster
    if dev_chat:
        from adapters.dev.digests import DevChannelPoster

        posters[Provider.DEV] = DevChannelPoster()
    if not posters:
        return None
    return Digests(
        sessions=sessions, posters=posters, clock=clock, summariser=build_summariser(settings),
        claim_timeout=claim_timeout,
    )  # fmt: skip


def build_summariser(settings: Settings) -> Summariser | None:
    """The OpenAI model, when a key is set: digests of groups of 5 or more get a summary."""
    if settings.openai_api_key is None:
        return None
    from adapters.llm.summariser import OpenAISummariser

    return OpenAISummariser(
        api_key=settings.openai_api_key.get_secret_value(),
        model=settings.openai_model,
        base_url=str(settings.openai_base_url) if settings.openai_base_url else None,
        timeout_seconds=settings.openai_timeout_seconds,
        max_retries=settings.openai_max_retries,
        include_text=True,  # kept in ai_logs only for orgs that opted in
    )


def build_reminders(
    settings: Settings,
    *,
    sessions: async_sessionmaker[AsyncSession],
    channels: ChannelSet,
    outbox: Outbox,
    clock: Clock,
    metrics: AppMetrics | None = None,
) -> Reminders | None:
    """Reminders with the SES mailer (credentials set) or the .eml outbox mailer."""
    try:
        from adapters.email.compose import TemplateComposer
    except ImportError:
        log.info("email reminders disabled: install the email extra (vizdots[email])")
        return None
    from bot.chat_links import DeepLinks
    from bot.web import LinksOnFirstUse

    dev_chat = channels.get(Provider.DEV) is not None
    base = str(settings.app_base_url).rstrip("/")
    return Reminders(
        sessions=sessions,
        channels=channels,
        outbox=outbox,
        mailer=build_mailer(settings, clock=clock, metrics=metrics),
        composer=TemplateComposer(),
        clock=clock,
        slots=settings.reminder_slot_rules(),
        links=LinksOnFirstUse(settings, clock),
        chat_links=DeepLinks(
            sessions=sessions,
            teams_app_id=settings.microsoft_app_id,
            dev_chat_url=f"{base}/dev" if dev_chat else None,
        ),
    )


def build_mailer(settings: Settings, *, clock: Clock, metrics: AppMetrics | None = None) -> Mailer:
    """SES (credentials set) or .eml files; counted by outcome when `metrics` is given."""
    mailer = _mailer(settings, clock)
    if metrics is None:
        return mailer
    from adapters.metrics.observed import ObservedMailer

    return ObservedMailer(mailer, metrics)


def _mailer(settings: Settings, clock: Clock) -> Mailer:
    if not settings.integrations()["email"]:
        from adapters.email.outbox_mailer import OutboxMailer

        directory, sender = settings.email_outbox_dir, settings.email_from
        return OutboxMailer(directory=directory, sender=sender, clock=clock)
    from adapters.email.ses import SesConfig, SesMailer

    assert settings.aws_ses_access_key_id and settings.aws_ses_secret_access_key
    endpoint = settings.aws_ses_endpoint_url
    return SesMailer(
        SesConfig(
            region=settings.aws_ses_region,
            access_key_id=settings.aws_ses_access_key_id.get_secret_value(),
            secret_access_key=settings.aws_ses_secret_access_key.get_secret_value(),
            sender=settings.email_from,
            endpoint_url=str(endpoint) if endpoint else None,
            configuration_set=settings.aws_ses_configuration_set,
            max_send_rate=settings.ses_max_send_rate,
        )
    )


#: Libraries that log what members said or who they are below WARNING: the Agents SDK
#: (conversation ids at INFO; activities and configuration at DEBUG), MSAL (its token
#: traffic at DEBUG) and aiosqlite (every SQL parameter at DEBUG).
CHATTY_LOGGERS = ("microsoft_agents", "msal", "aiosqlite")


def quiet_chatty_loggers() -> None:
    """WARNING for CHATTY_LOGGERS, unless a logging setup already chose their level."""
    for name in CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


def _slack_parts(
    settings: Settings,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> SlackParts | None:
    if not settings.integrations()["slack"]:
        return None
    from bot.slack import build_slack_parts

    return build_slack_parts(settings, engine=engine, sessions=sessions, clock=clock)


def _teams_parts(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> TeamsParts | None:
    if not settings.integrations()["teams"]:
        return None
    from bot.teams import build_teams_parts

    return build_teams_parts(settings, sessions=sessions, clock=clock)
