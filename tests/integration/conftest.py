"""Integration fixtures: the local OpenAI-compatible server and the fake Slack Web API."""

from __future__ import annotations

from tests.fakes.openai_server import openai_server
from tests.fakes.slack_api import slack_api

__all__ = ["openai_server", "slack_api"]
