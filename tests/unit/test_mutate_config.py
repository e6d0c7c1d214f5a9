"""The [tool.mutmut] table tools/mutate.py writes is read by mutmut as meant: numbers as
numbers (a quoted "4.0" made mutmut's first mutant fail with a TypeError)."""

from __future__ import annotations

import importlib.util
import tomllib
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
