"""Integration fixtures: the local OpenAI-compatible server, the fake Slack Web API, moto's
SES, and a PostgreSQL cluster of a test's own (the fault storms stop and start it)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.fakes.moto_ses import moto_ses
from tests.fakes.openai_server import openai_server
from tests.fakes.slack_api import slack_api
from tests.postgres import Cluster, find_bindir

__all__ = ["cluster", "moto_ses", "openai_server", "slack_api"]


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """This test's own PostgreSQL cluster: no other test sees it go down."""
    bindir = find_bindir()
    if bindir is None:
        if os.environ.get("VIZDOTS_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is required (VIZDOTS_REQUIRE_POSTGRES=1) but unavailable")
        pytest.skip("no PostgreSQL binaries")
    own = Cluster(bindir)
    own.start()
    try:
        yield own
    finally:
        own.remove()
