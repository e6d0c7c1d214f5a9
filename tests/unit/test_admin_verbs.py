"""The table the refusal tests are generated from names exactly core's admin verbs."""

from __future__ import annotations

import pytest

from core.commands import types as c
from core.commands.parser import parse_command
from tests.admin_verbs import ADMIN_VERB_LINES, ADMIN_VERBS, line_of


def test_every_admin_verb_of_core_has_a_line_to_try() -> None:
    assert set(c.ADMIN_COMMANDS) <= set(ADMIN_VERB_LINES)


@pytest.mark.parametrize("verb", ADMIN_VERBS, ids=lambda verb: verb.__name__)
def test_each_line_runs_its_verb(verb: type[c.Command]) -> None:
    assert type(parse_command(line_of(verb))) is verb
