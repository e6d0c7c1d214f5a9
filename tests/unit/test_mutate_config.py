"""The [tool.mutmut] table tools/mutate.py writes is read by mutmut as meant: numbers as
numbers (a quoted "4.0" made mutmut's first mutant fail with a TypeError); `--again`
picks the mutants it is meant to run once more."""

from __future__ import annotations

import importlib.util
import tomllib
from argparse import Namespace
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def mutate_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutate_tool", ROOT / "tools" / "mutate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_values_are_written_as_toml_of_their_type() -> None:
    toml = mutate_tool()._toml
    line = f"f = {toml(4.0)}\nn = {toml(3)}\nb = {toml(False)}\nl = {toml(['a', 'b'])}"
    assert tomllib.loads(line) == {"f": 4.0, "n": 3, "b": False, "l": ["a", "b"]}


def test_again_takes_the_survivors_and_with_unreached_the_mutants_not_run_too() -> None:
    tool = mutate_tool()
    statuses = ["killed", "timeout", "survived", "no tests", "not checked", "caught by type check"]

    def wanted(*, unreached: bool) -> list[str]:
        return [s for s in statuses if tool._again_wanted(s, Namespace(unreached=unreached))]

    assert wanted(unreached=False) == ["survived", "no tests"]
    assert wanted(unreached=True) == ["survived", "no tests", "not checked"]
