"""Every text marked for translation is translated in every shipped language, with the
same placeholders; a new text without its translations fails here (run `make messages`,
then translate the empty entries)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from core.i18n import LANGUAGES, catalog, plural_catalog

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "N_": None, "n_": (1, 2)}
PLACEHOLDER = re.compile(r"\{(\w*)[^{}]*\}")


def _marked_texts() -> dict[str, tuple[str, ...]]:
    """msgid → its forms (one, or singular and plural), from the source and templates."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: dict[str, tuple[str, ...]] = {}
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        forms = tuple(message) if isinstance(message, tuple) else (message,)
        found[forms[0]] = forms
    return found


MARKED = _marked_texts()
TRANSLATED = [language for language in LANGUAGES if language != "en"]


def test_the_source_marks_texts_for_translation() -> None:
    assert MARKED, "no text is marked with _(), N_() or n_()"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_marked_text_is_translated(language: str) -> None:
    singles, plurals = catalog(language), plural_catalog(language)
    missing = [
        msgid
        for msgid, forms in MARKED.items()
        if (plurals.get(msgid) if len(forms) > 1 else singles.get(msgid)) is None
    ]
    assert missing == [], f"{language} misses {len(missing)} texts: {missing[:10]}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_the_placeholders(language: str) -> None:
    singles, plurals = catalog(language), plural_catalog(language)
    wrong = []
    for msgid, forms in MARKED.items():
        expected = set(PLACEHOLDER.findall(forms[-1])) | ({"count"} if len(forms) > 1 else set())
        translations = plurals.get(msgid, ()) if len(forms) > 1 else (singles.get(msgid),)
        for text in filter(None, translations):
            found = set(PLACEHOLDER.findall(text))
            if found - expected or (len(forms) == 1 and found != expected):
                wrong.append((msgid, text))
    assert wrong == []
