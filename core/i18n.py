"""VizDots' own texts in the member's language: gettext catalogs, one folder per language.

Texts are marked where they are made with `_()` (and `n_()` for counts), or with `N_()`
where they are defined ahead of time (module constants, the built-in agents' plans) and
then translated where they are shown, with `_(text)`. Placeholders are named and in
braces (`_("Next check-in {when}", when=…)`), so a translation may reorder them.

The language of the work at hand is a context variable: `speaking(language)` wraps a
member's turn, a command, a notice or an email, and everything said inside it comes out
in that language. Nothing passes the language down by hand, and asyncio tasks started
inside inherit it.

Catalogs are `core/locale/<language>/LC_MESSAGES/*.po` (several files a language are
merged; a missing or fuzzy entry falls back to English). They are read from the .po
files on first use, so a clean checkout needs no compile step; `make messages` extracts
the marked texts and updates the catalogs (Babel), and tests/unit/test_catalogs.py fails
when a shipped language misses one.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

#: The languages VizDots speaks, English first (the language of the source texts).
LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "es", "pt")
DEFAULT_LANGUAGE = "en"
LOCALE_DIR = Path(__file__).parent / "locale"

_SPEAKING: ContextVar[str] = ContextVar("vizdots_language", default=DEFAULT_LANGUAGE)


def language_of(tag: str | None) -> str | None:
    """The shipped language a locale tag names ("de-DE", "pt_BR", "FR" …), else None."""
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in LANGUAGES else None


def member_language(own: str | None, org_default: str | None) -> str:
    """The language to speak with a member: their own, else the org's, else English."""
    return language_of(own) or language_of(org_default) or DEFAULT_LANGUAGE


def current_language() -> str:
    return _SPEAKING.get()


@contextmanager
def speaking(language: str | None) -> Iterator[str]:
    """Say everything inside in `language` (English when it is not a shipped one)."""
    chosen = language_of(language) or DEFAULT_LANGUAGE
    token = _SPEAKING.set(chosen)
    try:
        yield chosen
    finally:
        _SPEAKING.reset(token)


def N_(message: str) -> str:
    """Mark a text for translation where it is defined; `_()` translates it when shown."""
    return message


def _(message: str, /, **values: object) -> str:
    """`message` in the current language, its {placeholders} filled from `values`."""
    translated = catalog(current_language()).get(message) or message
    return translated.format(**values) if values else translated


def n_(singular: str, plural: str, count: int, /, **values: object) -> str:
    """The form for `count` by the language's own plural rule (also given as {count})."""
    language = current_language()
    forms = plural_catalog(language).get(singular)
    if forms:
        chosen = forms[min(plural_rule(language)(count), len(forms) - 1)]
    else:
        chosen = singular if count == 1 else plural
    return chosen.format(count=count, **values)


@cache
def plural_rule(language: str) -> Callable[[int], int]:
    """count → the index of its plural form, from the catalog's Plural-Forms header
    (French and Portuguese count 0 as one; CLDR gives them a third form for millions)."""
    for path in sorted((LOCALE_DIR / language / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            return gettext.c2py(read_po(handle, locale=language).plural_expr)
    return lambda count: 0 if count == 1 else 1


@cache
def catalog(language: str) -> Mapping[str, str]:
    """msgid → translation for one language, from every .po file in its folder."""
    return {msgid: text for msgid, text in _entries(language) if isinstance(text, str)}


@cache
def plural_catalog(language: str) -> Mapping[str, tuple[str, ...]]:
    """singular msgid → its translated forms, for the texts that have plural forms."""
    return {msgid: tuple(text) for msgid, text in _entries(language) if isinstance(text, tuple)}


def _entries(language: str) -> Iterator[tuple[str, str | tuple[str, ...]]]:
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    for path in sorted(folder.glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale=language):
                if not message.id or message.fuzzy:
                    continue
                msgid = str(message.id[0] if isinstance(message.id, tuple) else message.id)
                text = message.string
                if isinstance(text, tuple | list):
                    if all(text):
                        yield msgid, tuple(str(form) for form in text)
                elif text:
                    yield msgid, str(text)
