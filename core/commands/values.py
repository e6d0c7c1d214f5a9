"""The words inside commands: weekdays, times of day, dates and mentions.

Each `read_*` function raises WordError naming the word it could not read; the parser
turns it into a CommandSyntaxError with a correct example for its verb.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, time
from functools import cache
from zoneinfo import available_timezones

from babel.dates import get_day_names

from core.commands.types import EVERYONE, Participants
from core.i18n import LANGUAGES, N_, _, current_language, language_of

DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_GROUPS = {
    "weekdays": frozenset(range(5)),
    "workdays": frozenset(range(5)),
    "weekends": frozenset({5, 6}),
    "weekend": frozenset({5, 6}),
    "everyday": frozenset(range(7)),
    "daily": frozenset(range(7)),
}
_TIME = re.compile(r"(\d{1,2})(?::(\d{2}))?(am|pm)?", re.ASCII)
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)
_SLACK_MENTION = re.compile(r"<([@#])([A-Za-z0-9]+)(?:\|[^<>]*)?>")
_PLAIN_MENTION = re.compile(r"([@#])([^\s<>@#,][^\s<>,]*)")


class WordError(Exception):
    """A word that could not be read."""


def quoted(word: str) -> str:
    """A user's word for an error message, cut short so a reply stays readable."""
    return repr(word if len(word) <= 40 else word[:37] + "...")


def read_day(word: str) -> int:
    """A weekday number (Monday = 0) from a name or any prefix of at least three letters."""
    if len(word) >= 3:
        for number, name in enumerate(DAY_NAMES):
            if name.startswith(word):
                return number
    raise WordError(_("{word} is not a day (use mon, tue, … sun)", word=quoted(word)))


def _read_day_range(part: str) -> frozenset[int]:
    first, _, last = part.partition("-")
    start, end = read_day(first), read_day(last)
    return frozenset((start + step) % 7 for step in range((end - start) % 7 + 1))


def _read_day_part(part: str) -> frozenset[int]:
    if part in _DAY_GROUPS:
        return _DAY_GROUPS[part]
    if "-" in part:
        return _read_day_range(part)
    return frozenset({read_day(part)})


def read_weekdays(text: str) -> frozenset[int]:
    """`mon-fri`, `fri-mon` (wraps), `mon,wed,fri`, `weekdays`, `weekends`, `everyday`."""
    parts = [part for part in text.lower().split(",") if part]
    if not parts:
        raise WordError(_("The days are missing"))
    days: frozenset[int] = frozenset()
    for part in parts:
        days |= _read_day_part(part)
    return days


def read_time(word: str) -> time:
    """24-hour `09:30` or `9:30`, or `9am` / `5:30pm`."""
    match = _TIME.fullmatch(word.lower())
    if match is None or (match[2] is None and match[3] is None):
        raise WordError(_("{word} is not a time of day (use HH:MM, like 09:30)", word=quoted(word)))
    hour, minute = int(match[1]), int(match[2] or 0)
    if match[3] is not None:
        if not 1 <= hour <= 12:
            raise WordError(
                _("{word} is not a time of day (the hour is 1-12 with am/pm)", word=quoted(word))
            )
        hour = hour % 12 + (12 if match[3] == "pm" else 0)
    if hour > 23 or minute > 59:
        raise WordError(
            _("{word} is not a time of day (use HH:MM from 00:00 to 23:59)", word=quoted(word))
        )
    return time(hour, minute)


def read_date(word: str) -> date:
    """An ISO date, YYYY-MM-DD."""
    match = _DATE.fullmatch(word)
    try:
        if match is None:
            raise ValueError
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise WordError(_("{word} is not a date (use YYYY-MM-DD)", word=quoted(word))) from None


def _read_mention(token: str) -> tuple[str, str]:
    match = _SLACK_MENTION.fullmatch(token) or _PLAIN_MENTION.fullmatch(token)
    if match is None:
        raise WordError(
            _("{word} is not a mention (use @person, #channel or everyone)", word=quoted(token))
        )
    return match[1], match[2]


def read_participants(tokens: list[str]) -> Participants:
    """`everyone` (also the default), or mentions of people and channels."""
    words = [t for token in tokens for t in re.findall(r"<[^<>]*>|[^\s,<]+|<", token)]
    if not words or [w.lower() for w in words] == ["everyone"]:
        return EVERYONE
    if "everyone" in (w.lower() for w in words):
        raise WordError(_("Use either 'everyone' or mentions, not both"))
    users: list[str] = []
    channels: list[str] = []
    for sigil, name in map(_read_mention, words):
        target = users if sigil == "@" else channels
        if name not in target:
            target.append(name)
    return Participants(users=tuple(users), channels=tuple(channels))


_DAY_GROUP_WORDS = (
    (N_("every day"), range(7)),
    (N_("weekdays"), range(5)),
    (N_("weekends"), (5, 6)),
)


def weekdays_in_words(days: frozenset[int]) -> str:
    """`every day`, `weekdays`, `weekends`, `Mon-Thu`, or `Mon, Wed, Fri` (in the current
    language: `Mo.-Do.`)."""
    for words, group in _DAY_GROUP_WORDS:
        if days == frozenset(group):
            return _(words)
    ordered = sorted(days)
    names = get_day_names("abbreviated", locale=current_language())
    short = [names[d] for d in ordered]
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{short[0]}-{short[-1]}"
    return ", ".join(short) or _("no days")


def weekday_mask(days: frozenset[int]) -> int:
    """The schedules.weekdays bitmask: bit i set = weekday i (Monday = 0)."""
    return sum(1 << day for day in days)


def weekdays_of(mask: int) -> frozenset[int]:
    return frozenset(day for day in range(7) if mask & (1 << day))


@cache
def _zones_by_lower_name() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def read_zone(word: str) -> str:
    """An IANA time zone (`Europe/Berlin`), matched case-insensitively: its canonical name."""
    found = _zones_by_lower_name().get(word.lower())
    if found is None:
        raise WordError(_("{word} is not a time zone I know (use Area/City)", word=quoted(word)))
    return found


#: Each shipped language by its own name, as `language` lists them.
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch", "fr": "Français", "es": "Español",
                  "pt": "Português"}  # fmt: skip
#: Other words `language …` understands: the names without accents, and in English.
_LANGUAGE_WORDS = {
    "english": "en", "deutsch": "de", "german": "de", "français": "fr", "francais": "fr",
    "french": "fr", "español": "es", "espanol": "es", "spanish": "es", "português": "pt",
    "portugues": "pt", "portuguese": "pt",
}  # fmt: skip


def languages_in_words() -> str:
    """`English (en), Deutsch (de), …`: every shipped language, in its own name."""
    return ", ".join(f"{LANGUAGE_NAMES[code]} ({code})" for code in LANGUAGES)


def read_language(word: str) -> str:
    """A shipped language's code from its code (`de`, `pt-BR`) or name (`deutsch`)."""
    text = unicodedata.normalize("NFC", word).lower()
    found = _LANGUAGE_WORDS.get(text) or language_of(text)
    if found is None:
        raise WordError(
            _(
                "I don't speak {word} yet; I speak {languages}",
                word=quoted(word),
                languages=languages_in_words(),
            )
        )
    return found
