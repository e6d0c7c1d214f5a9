"""Whether a member's Slack status says they are away today (pure, no I/O).

A check-in is skipped, not retried, when the status says so: a DM to someone on
vacation is noise, and missing one check-in costs little. The rules:

- **Away words** in the status text, matched as whole words, case-insensitively:
  out of office (ooo, ooto, "out of (the) office"), vacation (vacationing, vacay),
  holiday(s), PTO, leave ("on leave", "annual/sick/parental… leave"), parental,
  maternity or paternity leave, sick/ill/unwell ("out sick", "off sick", "feeling ill"),
  "day off", "off today", "out today", "off work", "not working".
- **Away emoji** (shortcode or the character itself): 🌴 palm_tree, 🏝️ desert_island,
  🏖️ beach_with_umbrella, ✈️ airplane / 🛫 airplane_departure (travelling is rarely a day
  for a check-in), 🤒 face_with_thermometer, 🌡️ thermometer, 😷 mask, 🤕
  face_with_head_bandage, 🤧 sneezing_face, 🤢 nauseated_face, 🤮 face_vomiting.
  Not ⛔ no_entry or 🔴 red_circle: people use them for "focus" or "busy", at work.
- **A status set beyond today**: any other status whose expiration (unix seconds; 0 =
  none) is later than the end of the member's local day is read as a multi-day absence
  ("Conference in Berlin" until Friday) — unless it is a known at-work status (in a
  meeting, remote, commuting, focus, lunch…), which people also set for days.
"""

from __future__ import annotations

import re
from datetime import datetime

#: Shortcode (without colons) → the character Slack shows: statuses that mean away.
AWAY_EMOJI = {
    "palm_tree": "🌴",
    "desert_island": "🏝️",
    "beach_with_umbrella": "🏖️",
    "airplane": "✈️",
    "airplane_departure": "🛫",
    "face_with_thermometer": "🤒",
    "thermometer": "🌡️",
    "mask": "😷",
    "face_with_head_bandage": "🤕",
    "sneezing_face": "🤧",
    "nauseated_face": "🤢",
    "face_vomiting": "🤮",
}
#: At-work statuses people also set for days: never read as away by their expiration.
AT_WORK_EMOJI = {
    "spiral_calendar_pad": "🗓️",
    "calendar": "📆",
    "date": "📅",
    "house_with_garden": "🏡",
    "house": "🏠",
    "bus": "🚌",
    "train": "🚆",
    "car": "🚗",
    "headphones": "🎧",
    "computer": "💻",
    "no_entry": "⛔",
    "red_circle": "🔴",
    "hamburger": "🍔",
    "knife_fork_plate": "🍽️",
}
_AWAY_WORDS = re.compile(
    r"\b(?:ooo|ooto|out of (?:the )?office|vacation\w*|vacay|holidays?|pto"
    r"|(?:on|annual|sick|parental|maternity|paternity|medical|family|bereavement) leave"
    r"|parental|maternity|paternity|sick|ill today|(?:out|off|feeling) ill|unwell"
    r"|day off|off today|out today|off work|not working)\b"
)
_AT_WORK_WORDS = re.compile(
    r"\b(?:meeting\w*|remote\w*|wfh|working\w*|commuting|focus\w*|busy|lunch|office"
    r"|heads? down|in a call|on a call)\b"
)
_SELECTOR = "\ufe0f"
_SKIN_TONE = re.compile(r"::skin-tone-\d:$")
_SHORTCODE = re.compile(r"[\w+'-]{1,64}")
#: Slack caps status text at 100 characters; a reason never shows more.
MAX_TEXT = 100


def away_reason(
    *, status_text: str, status_emoji: str, status_expiration: int, end_of_today: datetime
) -> str | None:
    """A short reason ("Slack status: 🌴 On vacation") when the status says away, else None."""
    text = _normalise(status_text)
    emoji = _shortcode(status_emoji)
    if not text and not emoji:
        return None
    if _says_away(text, emoji, status_text) or _set_beyond_today(
        text, emoji, status_text, status_expiration, end_of_today
    ):
        return _reason(status_text, emoji)
    return None


def _says_away(text: str, emoji: str, raw_text: str) -> bool:
    if emoji in AWAY_EMOJI or _shows_any(raw_text, AWAY_EMOJI):
        return True
    return _AWAY_WORDS.search(text) is not None


def _set_beyond_today(
    text: str, emoji: str, raw_text: str, expiration: int, end_of_today: datetime
) -> bool:
    if expiration <= 0 or expiration <= end_of_today.timestamp():
        return False
    at_work = emoji in AT_WORK_EMOJI or _shows_any(raw_text, AT_WORK_EMOJI)
    return not at_work and _AT_WORK_WORDS.search(text) is None


def _shows_any(raw_text: str, emoji: dict[str, str]) -> bool:
    """Whether the text holds one of the characters (with or without the emoji selector)."""
    plain = raw_text.replace(_SELECTOR, "")
    return any(char.replace(_SELECTOR, "") in plain for char in emoji.values())


def _normalise(text: str) -> str:
    """Lower case, punctuation as spaces ("out-of-office!" reads "out of office")."""
    return " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())


def _shortcode(emoji: str) -> str:
    """`:palm_tree:` or `:airplane::skin-tone-2:` → `palm_tree` / `airplane`."""
    return _SKIN_TONE.sub(":", emoji.strip()).strip(":").casefold()


def _reason(raw_text: str, emoji: str) -> str:
    text = " ".join(raw_text.split())
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - 1] + "…"
    known = {**AWAY_EMOJI, **AT_WORK_EMOJI}
    shown = known.get(emoji) or (f":{emoji}:" if _SHORTCODE.fullmatch(emoji) else "")
    return "Slack status: " + " ".join(part for part in (shown, text) if part)
