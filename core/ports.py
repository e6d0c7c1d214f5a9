"""The ports core needs from the outside world, as small Protocols.

Adapters implement them (adapters/slack, adapters/teams, adapters/dev, adapters/email,
adapters/llm); tests use the in-memory fakes under tests/fakes/. Rich content is a
core value type (`OutgoingMessage` with buttons) that each channel renders in its own
way (Block Kit, Adaptive Card, HTML) and that degrades to plain text.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from core.domain import AgentSpec, Provider, Question, Speaker


# --- values crossing the ports ---------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Button:
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """What core wants shown to a member; `buttons` degrade to a text hint where unsupported."""

    text: str
    buttons: tuple[Button, ...] = ()
    session_id: int | None = None
    #: The outbox key of this message: a channel that can tag what it posts (Slack message
    #: metadata) tags it, so that after a crash `find_sent` can tell whether it arrived.
    key: str | None = None

    def as_plain_text(self) -> str:
        if not self.buttons:
            return self.text
        return self.text + "\n" + " ".join(f"[{b.label}]" for b in self.buttons)


@dataclass(frozen=True, slots=True)
class MemberAddress:
    """A stored, serialisable address a channel can rebuild to reach a member proactively."""

    member_id: int
    org_id: int
    display_name: str
    slack_user_id: str | None = None
    slack_dm_channel_id: str | None = None
    teams_conversation_ref: Mapping[str, Any] | None = None
    #: The member blocked or removed the bot in Teams: no Teams message reaches them.
    teams_unreachable: bool = False
    email: str | None = None
    #: The member has no chat account: no chat reaches them, email does.
    email_only: bool = False
    #: The chat the member chose (`reach me in teams`), tried before the others; None:
    #: the deployment's order (Slack first).
    preferred_chat: Provider | None = None


#: Address facts a channel learned about a member, by Member column: a string (a Slack DM
#: channel id), a structured address (a Teams conversation reference, JSON) or a flag.
Learned = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class SentMessage:
    message_id: str
    #: Channel-specific address learned while sending (e.g. a Slack DM channel id) to store.
    learned: Learned = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MemberProfile:
    """One person as a chat directory describes them (members sync)."""

    external_id: str
    display_name: str
    email: str | None
    timezone: str | None
    is_admin: bool = False
    #: The shipped language the chat's locale names (core.i18n), if any.
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Email:
    to: str
    subject: str
    text: str
    html: str | None = None
    unsubscribe_url: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CheckinEmail:
    """What a check-in email says, before any template: the check-in itself (`kind`
    "checkin", to a member no chat reaches) or a reminder of it ("reminder").

    `question` is in core's markup. `link` opens the check-in: the member's chat with
    the bot (`link_to` names it: "Slack", "Teams") or the browser page (`link_to` None);
    without a link the email says where to answer."""

    kind: str
    to: str
    member_name: str
    agent_name: str
    question: str
    link: str | None = None
    link_to: str | None = None
    unsubscribe_url: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


# --- channel, mailer, clock ------------------------------------------------------------------
class DeliveryError(Exception):
    """A channel could not deliver; `retryable` says whether trying later may succeed.

    `learned`: what the failure taught about the member's address, stored like
    `SentMessage.learned` (a member who blocked the bot: unreachable in that chat).
    `retry_after`: how long the peer asked to be left alone (a rate limit's Retry-After);
    the message is not tried again sooner."""

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool,
        learned: Learned | None = None,
        retry_after: timedelta | None = None,
    ) -> None:
        super().__init__(reason)
        self.retryable = retryable
        self.learned: Learned = dict(learned or {})
        self.retry_after = retry_after


@runtime_checkable
class Channel(Protocol):
    """A chat channel: Slack, Teams, the local dev chat."""

    provider: Provider

    async def can_reach(self, to: MemberAddress) -> bool:
        """Whether this channel can DM the member now (an installed, active workspace)."""
        ...

    async def away(self, to: MemberAddress) -> str | None:
        """Why the chat says the member is away today (out of office…), or None."""
        ...

    async def send(self, to: MemberAddress, message: OutgoingMessage) -> SentMessage:
        """DM the member; raise DeliveryError when it cannot."""
        ...

    async def update(self, to: MemberAddress, message_id: str, message: OutgoingMessage) -> None:
        """Replace a message already sent (e.g. to show the chosen button)."""
        ...


@runtime_checkable
class SentLookup(Protocol):
    """A channel that can tell whether a message with an outbox key was already posted."""

    async def find_sent(self, to: MemberAddress, key: str) -> SentMessage | None:
        """The posted message tagged with `key`, or None when it never arrived.

        Used only after a crash left a send's outcome unknown (peers rate-limit it)."""
        ...


class Mailer(Protocol):
    async def send(self, email: Email) -> str:
        """Send one email; return the provider's message id; raise DeliveryError otherwise."""
        ...


class EmailComposer(Protocol):
    """Turns a CheckinEmail into the Email sent: subject, plain text and HTML parts."""

    def compose(self, content: CheckinEmail) -> Email: ...


class ChatLinks(Protocol):
    """Deep links into a member's chat with the bot, per provider (a Slack DM, a Teams
    1:1 chat): what a reminder email points to when a chat reaches the member."""

    async def chat_link(self, to: MemberAddress, provider: Provider) -> str | None:
        """An https URL that opens the chat, or None when this provider has none."""
        ...


class MemberLinks(Protocol):
    """Links into the app for a member, signed and expiring (LINK_SIGNING_SECRET).

    Emails carry them: the browser check-in page answers a session through the same inbox
    and engine as any chat, and the one-click unsubscribe (RFC 8058) sets email_opt_out."""

    def checkin(self, *, member_id: int, session_id: int) -> str:
        """An absolute URL of the page where the member answers `session_id`."""
        ...

    def unsubscribe(self, *, member_id: int) -> str:
        """An absolute URL that turns reminder emails off for the member, no login needed."""
        ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class CheckinListener(Protocol):
    """Told when a member completes a check-in (App Home refresh, team digest)."""

    async def completed(self, *, session_id: int, member: MemberAddress) -> None: ...


class DirectoryError(Exception):
    """A chat directory could not be read; the message says why, for an admin to act on."""


class MemberDirectory(Protocol):
    """Who is in an organisation's chat workspace (for `members sync`).

    `complete_listing`: whether `list_members` lists everyone who may take part (Slack's
    users.list), so a sync may deactivate whom it does not list; False where it lists
    only part (Teams: the rosters of the teams the bot is in)."""

    complete_listing: bool

    async def list_members(self, org_external_id: str) -> list[MemberProfile]: ...

    async def channel_members(self, org_external_id: str, channel_id: str) -> list[str]:
        """External user ids of the people in a channel."""
        ...

    async def member(self, org_external_id: str, external_id: str) -> MemberProfile | None:
        """One person, looked up by id (a sender VizDots does not know yet); None when the
        directory says they may not take part (a bot, a guest, a deactivated account)."""
        ...


# --- billing ---------------------------------------------------------------------------------
class BillingUnavailable(Exception):
    """The billing provider could not be reached or refused; the message says why, for an
    admin or operator to act on (never a secret). Trying again later may succeed."""


class Billing(Protocol):
    """The billing provider (Stripe, in billing/). Core makes no provider call itself: it
    asks through this port and records what the provider said."""

    async def billing_link(self, *, org_id: int, seats: int, now: datetime) -> str:
        """An https URL for an admin: a Checkout page to subscribe (`seats` active members)
        when the org has no subscription, else the customer portal. Each object is created
        once however often it is asked for. Raises BillingUnavailable."""
        ...

    async def sync_seats(self, *, subscription_id: str, seats: int, key: str) -> int:
        """Make the subscription's seat quantity `seats` (prorated) if it is not already;
        `key` is the idempotency key of the update. Returns the quantity the provider now
        bills. Raises BillingUnavailable."""
        ...

    async def cancel_duplicate(self, *, org_id: int, subscription_id: str, now: datetime) -> bool:
        """Cancel at once a second subscription of an org that already has a live one,
        crediting what was paid for it (the provider's docstring says how). Done once
        however often asked (a replayed webhook, a take-over). True when it is canceled by
        VizDots; False when it had ended otherwise. Raises BillingUnavailable."""
        ...


# --- the brain -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Turn:
    speaker: Speaker
    text: str
    question_key: str | None = None


@dataclass(frozen=True, slots=True)
class AiCall:
    """One LLM call, for ai_logs. `prompt_text` is kept only when the org opted in."""

    purpose: str
    model: str
    outcome: str
    tokens_in: int = 0
    tokens_out: int = 0
    cached_tokens: int = 0
    latency_ms: int = 0
    error: str | None = None
    request_id: str | None = None
    prompt_text: str | None = None


@dataclass(frozen=True, slots=True)
class Recall:
    """What this check-in follows up from the member's previous completed one of the same
    agent (their own words only): a blocker still open then, with how many check-ins it
    has lasted so far, or else the focus they planned. Rules: core/continuity.py."""

    blocker: str | None = None
    blocker_checkins: int = 0
    focus: str | None = None


@dataclass(frozen=True, slots=True)
class BrainInput:
    """Everything a brain may use to produce the next agent turn.

    `state` is the session's brain_state as the previous turn left it. Shared keys,
    understood by every brain so a session can switch brains mid-way:
      answers: {question key: value}  — what the member answered per question
      pending: question key being asked, or None
      follow_ups: follow-up questions asked so far
      summary: a running summary of the conversation (LLM brains)
      recall: what is followed up from the previous check-in (set at the opening)
    `answers` already holds the engine's reading of a scale or choice answer.
    `recall` is the state's recall as a value (None: nothing to follow up).
    """

    agent: AgentSpec
    member_name: str
    transcript: tuple[Turn, ...]
    state: Mapping[str, Any]
    org_id: int
    session_id: int
    recall: Recall | None = None


@dataclass(frozen=True, slots=True)
class BrainReply:
    """The next agent turn, or the end of the check-in with its dots and summary."""

    text: str
    state: Mapping[str, Any]
    question: Question | None = None
    done: bool = False
    dots: Mapping[str, float | str] = field(default_factory=dict)
    summary: str | None = None
    calls: tuple[AiCall, ...] = ()


class BrainUnavailable(Exception):
    """The brain failed after its retries; `calls` records the attempts for ai_logs."""

    def __init__(self, reason: str, *, calls: tuple[AiCall, ...] = ()) -> None:
        super().__init__(reason)
        self.calls = calls


class Brain(Protocol):
    name: str

    async def opening(self, given: BrainInput) -> BrainReply:
        """Greeting and first question."""
        ...

    async def respond(self, given: BrainInput) -> BrainReply:
        """Next turn after the member's latest turn (the last in the transcript)."""
        ...


class ShiftedClock:
    """A running clock that started at a chosen instant: a worker replaying a day (--now)
    whose claims and back-offs still age as real seconds pass."""

    def __init__(self, start: datetime) -> None:
        self._start = start
        self._since = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._since)


@dataclass(frozen=True, slots=True)
class FixedClock:
    """A clock stopped at one instant: CLI replays with --now."""

    instant: datetime

    def now(self) -> datetime:
        return self.instant


class DashboardLinks(Protocol):
    """Signed, short-lived links to the dashboard (LINK_SIGNING_SECRET, a salt of their
    own): `/vizdots dashboard` gives one to an admin, and the link is used once."""

    def dashboard(self, *, org_id: int, member_id: int, nonce: str) -> str:
        """An absolute URL that signs `member_id` of `org_id` in, once (`nonce`)."""
        ...


# --- team digests: posting to a chat channel, summarising a group -----------------------------
@dataclass(frozen=True, slots=True)
class ChatPlace:
    """A channel of an org's chat (not a DM): where a schedule's team digest is posted.

    `workspace` is the chat's id for the org (a Slack team id, a Teams tenant id);
    `channel` the schedule's report channel as stored (a Slack channel id, a Teams
    channel id)."""

    org_id: int
    provider: Provider
    workspace: str
    channel: str


class ChannelPoster(Protocol):
    """Posts to an org's chat channel (team digests). `message.key` tags what is posted
    where the chat allows it, so that after a crash `find_posted` can tell whether it
    arrived; a DeliveryError says why a post failed and whether trying later may help."""

    provider: Provider

    async def post(self, to: ChatPlace, message: OutgoingMessage) -> SentMessage: ...

    async def find_posted(self, to: ChatPlace, key: str) -> SentMessage | None:
        """The message posted under `key`, or None: it never arrived, or the chat cannot
        tell (then the caller posts again: that one message is the duplicate window)."""
        ...


@dataclass(frozen=True, slots=True)
class GroupSummary:
    """A model's summary of a group's check-ins (None when the call failed), with the
    calls made, for ai_logs."""

    text: str | None
    calls: tuple[AiCall, ...] = ()


class Summariser(Protocol):
    """Summarises what a group said in one window (a model). Core asks only when at least
    the anonymity threshold of distinct people answered (never fewer than 5)."""

    async def summarise(self, *, group: str, summaries: tuple[str, ...]) -> GroupSummary: ...


class Signals(Protocol):
    """Measurements core reports as it works, for the operator's monitoring (Prometheus,
    adapters/metrics); counting must never fail or block the work it measures."""

    def delivered(self, *, lag: timedelta) -> None:
        """A check-in's opening went out `lag` after its due time."""
        ...
