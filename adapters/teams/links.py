"""A link that opens a member's 1:1 chat with the bot in Microsoft Teams (reminder emails)."""

from __future__ import annotations

from urllib.parse import quote


def teams_chat_link(*, app_id: str) -> str:
    """Teams' deep link to a chat with the bot: the bot is user `28:<Microsoft app id>`."""
    return "https://teams.microsoft.com/l/chat/0/0?users=" + quote(f"28:{app_id}", safe=":")
