"""A link that opens a member's DM with the bot in Slack (for reminder emails)."""

from __future__ import annotations

from urllib.parse import urlencode


def slack_dm_link(*, team_id: str, dm_channel_id: str) -> str:
    """Slack's app_redirect: opens the DM in the desktop or web client of the workspace."""
    query = urlencode({"team": team_id, "channel": dm_channel_id})
    return f"https://slack.com/app_redirect?{query}"
