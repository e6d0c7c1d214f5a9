"""The commands, as values: what `parse_command` returns and the service carries out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import Literal

from core.i18n import _


class CommandSyntaxError(ValueError):
    """Text that is not a command: says what was wrong and shows a correct example."""

    def __init__(self, problem: str, *, example: str) -> None:
        super().__init__(_("{problem}\nFor example: {example}", problem=problem, example=example))
        self.problem = problem
        self.example = example


@dataclass(frozen=True, slots=True)
class Participants:
    """Who a schedule asks: everyone (no mentions), or mentioned people and channels' members.

    Ids are as the channel wrote them: Slack/Teams user and channel ids, or emails and
    channel names in the dev chat.
    """

    users: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()

    @property
    def everyone(self) -> bool:
        return not self.users and not self.channels


EVERYONE = Participants()
Period = Literal["week", "month"]


@dataclass(frozen=True, slots=True)
class Help:
    pass


@dataclass(frozen=True, slots=True)
class ScheduleShow:
    pass


@dataclass(frozen=True, slots=True)
class ScheduleSet:
    agent: str
    weekdays: frozenset[int]
    at: time
    participants: Participants = EVERYONE


@dataclass(frozen=True, slots=True)
class SchedulePause:
    agent: str


@dataclass(frozen=True, slots=True)
class ScheduleResume:
    agent: str


@dataclass(frozen=True, slots=True)
class AgentsList:
    pass


@dataclass(frozen=True, slots=True)
class AgentsEnable:
    agent: str


@dataclass(frozen=True, slots=True)
class AgentsDisable:
    agent: str


@dataclass(frozen=True, slots=True)
class MembersList:
    pass


@dataclass(frozen=True, slots=True)
class MembersSync:
    pass


@dataclass(frozen=True, slots=True)
class Report:
    agent: str | None = None
    period: Period = "week"


@dataclass(frozen=True, slots=True)
class Skip:
    pass


@dataclass(frozen=True, slots=True)
class Vacation:
    until: date


@dataclass(frozen=True, slots=True)
class VacationEnd:
    """`vacation off`: back early; check-ins resume from the next planning."""


@dataclass(frozen=True, slots=True)
class Time:
    at: time


@dataclass(frozen=True, slots=True)
class Timezone:
    """`timezone Europe/Berlin`: the member's own zone (an IANA name), kept over the
    zone a chat client or directory reports."""

    zone: str


#: The chats a member may choose between when both reach them.
Chat = Literal["slack", "teams"]


@dataclass(frozen=True, slots=True)
class ReachIn:
    """`reach me in teams`: the chat a member reachable in Slack and Teams is sent to."""

    chat: Chat


@dataclass(frozen=True, slots=True)
class EmailReminders:
    enabled: bool


@dataclass(frozen=True, slots=True)
class Billing:
    """`billing`: the plan, its dates, the seats, and a link to subscribe or manage it."""


@dataclass(frozen=True, slots=True)
class TokenCreate:
    """`token [name]`: a new admin API token, shown once to the admin who asked."""

    name: str | None = None


@dataclass(frozen=True, slots=True)
class TokenRevoke:
    public_id: str


@dataclass(frozen=True, slots=True)
class Dashboard:
    """`dashboard`: a short-lived, single-use link that signs the admin in to the dashboard."""


@dataclass(frozen=True, slots=True)
class HolidaysShow:
    """`holidays`: whose public holidays the member has off, and the next one."""


@dataclass(frozen=True, slots=True)
class HolidaysSet:
    """`holidays DE-BY`: the member's own region (checked against the calendars later)."""

    region: str


@dataclass(frozen=True, slots=True)
class HolidaysOff:
    """`holidays off`: check-ins on public holidays too."""


@dataclass(frozen=True, slots=True)
class HolidaysOrg:
    """`holidays org DE` (None: `holidays org off`): the organisation's region."""

    region: str | None


@dataclass(frozen=True, slots=True)
class Forget:
    """`forget`: the next check-in recalls nothing of the member's earlier ones."""


@dataclass(frozen=True, slots=True)
class LanguageShow:
    """`language`: the language the member is spoken to in, and the ones there are."""


@dataclass(frozen=True, slots=True)
class LanguageSet:
    """`language de`: the member's own language (one of core.i18n.LANGUAGES)."""

    language: str


@dataclass(frozen=True, slots=True)
class LanguageOrg:
    """`language org de`: the organisation's language, for members who chose none."""

    language: str


Command = (
    Help
    | ScheduleShow
    | ScheduleSet
    | SchedulePause
    | ScheduleResume
    | AgentsList
    | AgentsEnable
    | AgentsDisable
    | MembersList
    | MembersSync
    | Report
    | Skip
    | Vacation
    | VacationEnd
    | Time
    | Timezone
    | ReachIn
    | EmailReminders
    | Billing
    | TokenCreate
    | TokenRevoke
    | Dashboard
    | HolidaysShow
    | HolidaysSet
    | HolidaysOff
    | HolidaysOrg
    | Forget
    | LanguageShow
    | LanguageSet
    | LanguageOrg
)

#: Commands only owners and admins may run.
ADMIN_COMMANDS: frozenset[type[Command]] = frozenset(
    {ScheduleSet, SchedulePause, ScheduleResume, AgentsEnable, AgentsDisable}
    | {MembersList, MembersSync, Report, Billing, TokenCreate, TokenRevoke, Dashboard}
    | {HolidaysOrg, LanguageOrg}
)
