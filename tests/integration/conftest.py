"""Integration fixtures: the local OpenAI-compatible server."""

from __future__ import annotations

from tests.fakes.openai_server import openai_server

__all__ = ["openai_server"]
from tests.fakes.slack_api import slack_api  # noqa: F401
