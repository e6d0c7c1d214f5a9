"""Block Kit for VizDots messages and the App Home (pure: dicts in, dicts out).

Slack's limits are kept here so a long agent turn or an odd choice never makes a
post fail: section text ≤ 3000 characters (longer text becomes several sections),
button text ≤ 75, button value ≤ 2000 (a longer one is left out — the member can still
type the answer), 25 elements an actions block, 50 blocks a message, 100 a view.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from adapters.slack.mrkdwn import escape, to_mrkdwn
from core.home import MemberHome, NextCheckin, RecentCheckin
from core.i18n import _, speaking
from core.ports import Button, OutgoingMessage
from core.rendering import decode_choice
from core.session_view import state_in_words

Block = dict[str, Any]

CHOICES_BLOCK = "vizdots_choices"
CHOICE_ACTION = "vizdots_choice_"
HOME_EMAIL = "vizdots_home_email"
HOME_VACATION = "vizdots_home_vacation"
HOME_VACATION_END = "vizdots_home_vacation_end"

SECTION_TEXT = 3000
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
ACTIONS_ELEMENTS = 25
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
#: Slack shows at most 40,000 characters of a message's text.
MESSAGE_TEXT = 40_000
_DOT_TEXT = 80
_SUMMARY_TEXT = 300


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fallback_text(message: OutgoingMessage) -> str:
    """The message's `text`: what notifications and clients without blocks show."""
    return shorten(to_mrkdwn(message.text), MESSAGE_TEXT)


def message_blocks(message: OutgoingMessage) -> list[Block]:
    """Sections for the text, then the buttons (skip last) in actions blocks."""
    blocks = [_section(chunk) for chunk in _chunks(to_mrkdwn(message.text), SECTION_TEXT)]
    buttons = [b for b in _skip_last(message.buttons) if len(b.value) <= BUTTON_VALUE]
    for number, start in enumerate(range(0, len(buttons), ACTIONS_ELEMENTS)):
        elements = [
            _button(b, f"{CHOICE_ACTION}{start + i}")
            for i, b in enumerate(buttons[start : start + ACTIONS_ELEMENTS])
        ]
        block_id = CHOICES_BLOCK if number == 0 else f"{CHOICES_BLOCK}_{number + 1}"
        blocks.append({"type": "actions", "block_id": block_id, "elements": elements})
    return blocks[:MESSAGE_BLOCKS]


def _skip_last(buttons: tuple[Button, ...]) -> list[Button]:
    def is_skip(button: Button) -> bool:
        choice = decode_choice(button.value)
        return choice is not None and choice.is_skip

    return sorted(buttons, key=is_skip)


def _chunks(text: str, size: int) -> Iterator[str]:
    """The text in pieces of at most `size`, cut at a line break or space when one is near."""
    text = text or " "
    while len(text) > size:
        cut = max(text.rfind("\n", 0, size), text.rfind(" ", 0, size))
        cut = cut if cut > size // 2 else _entity_safe(text, size)
        yield text[:cut]
        text = text[cut:].lstrip("\n ")
    yield text


def _entity_safe(text: str, cut: int) -> int:
    """A hard cut moved before an escape (`&amp;`) it would split."""
    amp = text.rfind("&", max(cut - 4, 0), cut)
    return amp if amp > 0 and ";" not in text[amp:cut] else cut


def _plain(text: str, limit: int = BUTTON_TEXT) -> dict[str, Any]:
    return {"type": "plain_text", "text": shorten(text, limit) or " ", "emoji": True}


def _section(text: str, accessory: Block | None = None) -> Block:
    block: Block = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if accessory is not None:
        block["accessory"] = accessory
    return block


def _button(button: Button, action_id: str) -> Block:
    return {
        "type": "button",
        "action_id": action_id,
        "text": _plain(button.label),
        "value": button.value,
    }


# --- the App Home ------------------------------------------------------------------------------
def home_view(home: MemberHome) -> dict[str, Any]:
    """The member's App Home tab, in their language: next check-in, recent check-ins,
    settings, help."""
    with speaking(home.language):
        blocks: list[Block] = [
            {"type": "header", "text": _plain(_("Hi {name}!", name=home.display_name), 150)},
            _section(_next_line(home.next_checkin, home.timezone)),
            {"type": "divider"},
            _section(_("*Your recent check-ins*")),
            *_recent_blocks(home.recent),
            {"type": "divider"},
            _section(_("*Settings*")),
            *_settings_blocks(home),
            _help_context(),
        ]
    return {"type": "home", "blocks": blocks[:VIEW_BLOCKS]}


def _next_line(upcoming: NextCheckin | None, timezone: str) -> str:
    if upcoming is None:
        return _("*Next check-in:* none planned.")
    return _(
        "*Next check-in:* {agent}, {local} ({timezone} time)",
        agent=escape(_(upcoming.agent)), local=upcoming.local, timezone=escape(timezone),
    )  # fmt: skip


def _recent_blocks(recent: tuple[RecentCheckin, ...]) -> list[Block]:
    if not recent:
        return [_context(_("No check-ins yet: your first one will show up here."))]
    return [_section(shorten(_recent_text(checkin), SECTION_TEXT)) for checkin in recent]


def _recent_text(checkin: RecentCheckin) -> str:
    state = checkin.state.value
    shown = state_in_words(state)
    lines = [f"*{escape(_(checkin.agent))}* · {checkin.local_date.isoformat()} · {shown}"]
    if checkin.dots:
        lines.append(" · ".join(_dot_text(key, value) for key, value in checkin.dots))
    if checkin.summary:
        lines.append(f"_{escape(shorten(' '.join(checkin.summary.split()), _SUMMARY_TEXT))}_")
    return "\n".join(lines)


def _dot_text(key: str, value: float | str) -> str:
    """A scale answer as "mood 4/5"; a text answer quoted and cut short."""
    name = escape(key.replace("_", " "))
    if isinstance(value, str):
        return f"{name} “{escape(shorten(' '.join(value.split()), _DOT_TEXT))}”"
    number = f"{value:g}" if value == int(value) else f"{value:.1f}"
    return f"{name} {number}/5"


def _settings_blocks(home: MemberHome) -> list[Block]:
    email = _("Email reminders: *on*") if home.email_reminders else _("Email reminders: *off*")
    toggle = {
        "type": "button",
        "action_id": HOME_EMAIL,
        "text": _plain(_("Turn off") if home.email_reminders else _("Turn on")),
        "value": "off" if home.email_reminders else "on",
    }
    blocks = [
        _section(email, toggle),
        _section(_vacation_text(home), _vacation_picker(home)),
    ]
    if home.vacation_until is not None:
        end = {
            "type": "button",
            "action_id": HOME_VACATION_END,
            "text": _plain(_("End vacation")),
            "value": "end",
        }
        blocks.append({"type": "actions", "block_id": HOME_VACATION_END, "elements": [end]})
    if home.preferred_time is not None:
        at = home.preferred_time.strftime("%H:%M")
        blocks.append(
            _context(
                _("Your check-ins come at {time}, {timezone} time.", time=at,
                  timezone=escape(home.timezone))
            )
        )  # fmt: skip
    return blocks


def _vacation_text(home: MemberHome) -> str:
    if home.vacation_until is None:
        return _("Vacation: pick your last day off and check-ins pause until then.")
    return _("On vacation up to and including *{day}*.", day=home.vacation_until.isoformat())


def _vacation_picker(home: MemberHome) -> Block:
    picker: Block = {
        "type": "datepicker",
        "action_id": HOME_VACATION,
        "placeholder": _plain(_("Last day of vacation")),
    }
    if home.vacation_until is not None:
        picker["initial_date"] = home.vacation_until.isoformat()
    return picker


def _help_context() -> Block:
    return _context(
        _(
            "Answer check-ins right here in Messages. `/vizdots help` lists what you can do: "
            "`skip`, `vacation until YYYY-MM-DD`, `time 09:30`, `email off`, `language de`."
        )
    )


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}
