"""What the /dev page shows for a member: one ordered timeline, rendered on the server.

The stored check-in turns are the backbone. Around them sit the asides, each anchored
after the stored message that was the member's last when it was said: what was sent to
the member outside the turns (nudges, notices — read back from the outbox, see
adapters.dev.sent, so a restart keeps them), and, in the router's memory, what the
member typed that was not stored as a turn (a command, `start`, a word with no check-in
open) and the replies to their commands (whose text the outbox does not keep). A
restart forgets only those; a refresh shows everything in place.

Every text is core's neutral markup rendered to escaped HTML here (core.markup.to_html);
the page inserts it as is and never inserts text of its own making unescaped.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.i18n import _
from core.markup import to_html
from core.session_view import state_in_words


@dataclass(frozen=True, slots=True)
class Aside:
    """A line shown outside the stored turns, after the stored message `after` (0: none),
    said `at`: the lines after one message are in that order (stable: as given)."""

    after: int
    at: datetime
    speaker: str
    text: str


class Asides:
    """The last `keep` asides of each of the last `members` members who typed, in memory."""

    def __init__(self, *, keep: int = 60, members: int = 500) -> None:
        self._keep = keep
        self._members = members
        self._by_member: OrderedDict[int, deque[Aside]] = OrderedDict()

    def add(self, member_id: int, aside: Aside) -> None:
        kept = self._by_member.pop(member_id, None) or deque(maxlen=self._keep)
        kept.append(aside)
        self._by_member[member_id] = kept
        while len(self._by_member) > self._members:
            self._by_member.popitem(last=False)

    def of(self, member_id: int) -> list[Aside]:
        return list(self._by_member.get(member_id, ()))


def timeline(
    sessions: Sequence[Mapping[str, Any]], asides: Sequence[Aside]
) -> list[dict[str, Any]]:
    """The page's items in order: a `session` heading before each check-in's first turn,
    its `turn`s, then its `buttons` (open question) and `summary`; asides in between.
    Headings come out in the current language (core.i18n.speaking)."""
    waiting = deque(sorted(asides, key=lambda aside: (aside.after, aside.at)))
    items: list[dict[str, Any]] = []
    for session in sessions:
        messages = session["messages"]
        items.extend(_asides_up_to(waiting, messages[0]["id"] if messages else 0))
        items.append(_heading(session))
        for message in messages:
            items.extend(_asides_up_to(waiting, message["id"]))
            items.append(_turn(message["speaker"], message["text"], session["id"]))
        items.extend(_ending(session))
    items.extend(_turn(aside.speaker, aside.text, None) for aside in waiting)
    return items


def _asides_up_to(waiting: deque[Aside], message_id: int) -> Iterator[dict[str, Any]]:
    """The asides said before the stored message `message_id`, taken off `waiting`."""
    while waiting and waiting[0].after < message_id:
        aside = waiting.popleft()
        yield _turn(aside.speaker, aside.text, None)


def _heading(session: Mapping[str, Any]) -> dict[str, Any]:
    state = str(session["state"])
    shown = state_in_words(state)
    return {
        "kind": "session",
        "session": session["id"],
        "title": f"{_(session['agent'])} · {session['local_date']} · {shown}",
    }


def _turn(speaker: str, text: str, session_id: int | None) -> dict[str, Any]:
    return {"kind": "turn", "speaker": speaker, "html": to_html(text), "session": session_id}


def _ending(session: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    if session["buttons"]:
        yield {"kind": "buttons", "session": session["id"], "buttons": session["buttons"]}
    if session["summary"]:
        yield {"kind": "summary", "session": session["id"], "html": to_html(session["summary"])}
