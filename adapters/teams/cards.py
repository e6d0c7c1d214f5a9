"""Core's messages as Teams shows them (pure): markdown text, or an Adaptive Card 1.5.

Core's neutral markup (core.markup) becomes Teams markdown in text messages. A message
with buttons becomes an Adaptive Card: the text in a TextBlock (which knows a markdown
subset: bold, lists, links; no code spans, shown bold instead), one Action.Submit per
button whose data carries our choice value and label. A press arrives as a message
activity whose `value` is that data (adapters.teams.shapes). Card version 1.5, which
Teams desktop and mobile render.
"""

from __future__ import annotations

import re
from typing import Any

from adapters.teams.shapes import CHOICE_KEY, LABEL_KEY
from core.markup import Style, render
from core.ports import OutgoingMessage

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.5"
_SPECIAL = re.compile(r"([\\*_`\[\]<>#~])")


def _escape(text: str) -> str:
    return _SPECIAL.sub(r"\\\1", text)


#: Text messages (textFormat markdown).
TEAMS_MARKDOWN = Style(
    escape=_escape,
    bold=lambda text: f"**{text}**",
    code=lambda text: f"`{text}`",
    link=lambda label, url: f"[{label}]({url})",
    bullet="- ",
    line_break="\n\n",
)
#: TextBlocks in Adaptive Cards: no code spans.
CARD_MARKDOWN = Style(
    escape=_escape,
    bold=lambda text: f"**{text}**",
    code=lambda text: f"**{text}**",
    link=lambda label, url: f"[{label}]({url})",
    bullet="- ",
    line_break="\n\n",
)


def message_activity(message: OutgoingMessage, *, as_card: bool = False) -> dict[str, Any]:
    """The activity body to post: a card when there are buttons (or `as_card`)."""
    if message.buttons or as_card:
        attachment = {"contentType": CARD_TYPE, "content": adaptive_card(message)}
        return {"type": "message", "attachments": [attachment], "summary": summary(message)}
    return {"type": "message", "textFormat": "markdown",
            "text": render(message.text, TEAMS_MARKDOWN)}  # fmt: skip


def adaptive_card(message: OutgoingMessage) -> dict[str, Any]:
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": CARD_VERSION,
        "body": [{"type": "TextBlock", "text": render(message.text, CARD_MARKDOWN),
                  "wrap": True}],
    }  # fmt: skip
    if message.buttons:
        card["actions"] = [
            {"type": "Action.Submit", "title": button.label[:80],
             "data": {CHOICE_KEY: button.value, LABEL_KEY: button.label}}
            for button in message.buttons
        ]  # fmt: skip
    return card


def summary(message: OutgoingMessage) -> str:
    """What a notification or a client without cards shows: the first line, plain."""
    first = message.text.strip().split("\n", 1)[0]
    return re.sub(r"[*`]", "", first)[:200]
