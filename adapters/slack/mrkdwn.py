"""Core's neutral markup as Slack mrkdwn: `*bold*`, `code`, `<url|label>`, • items.

Everything else is escaped (Slack's three control characters), so what a member or an
admin typed shows as typed: no stray links, mentions or formatting.
"""

from __future__ import annotations

from core.markup import Style, render


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(label: str, url: str) -> str:
    return f"<{url.replace('|', '%7C')}|{label}>"


SLACK = Style(
    escape=escape,
    bold=lambda text: f"*{text}*",
    code=lambda text: f"`{text}`",
    link=_link,
)


def to_mrkdwn(text: str) -> str:
    return render(text, SLACK)
