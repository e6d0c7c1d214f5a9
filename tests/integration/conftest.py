"""Integration fixtures: the local OpenAI-compatible server and the fake Slack Web API."""

from __future__ import annotations

from tests.fakes.moto_ses import moto_ses
from tests.fakes.openai_server import openai_server
from tests.fakes.slack_api import slack_api

__all__ = ["moto_ses", "openai_server", "slack_api"]
