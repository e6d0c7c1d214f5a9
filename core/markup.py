"""The one markup core speaks, and how each channel's renderer reads it (pure).

Core's texts (replies, command answers, agent turns, emails) use a small Markdown
subset: `**bold**`, `` `code` ``, `[label](https://…)` links, and lines that start
with `- ` as list items. Each channel renders it its own way: Slack mrkdwn, Teams
markdown, HTML in the browser chat and in emails, plain text in a terminal. A channel
supplies a `Style`; `render` does the parsing, once, for all of them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

_INLINE = re.compile(
    r"\*\*(?P<bold>[^*\n]+?)\*\*"
    r"|`(?P<code>[^`\n]+)`"
    r"|\[(?P<label>[^\]\n]+)\]\((?P<url>https?://[^\s)]+)\)"
)
_ITEM = re.compile(r"^\s*[-•]\s+")


def _same(text: str) -> str:
    return text


def _label_then_address(label: str, url: str) -> str:
    return label if label == url else f"{label} ({url})"


@dataclass(frozen=True, slots=True)
class Style:
    """How one channel shows each piece. Texts reach `bold`, `code` and `link` escaped."""

    escape: Callable[[str], str] = _same
    bold: Callable[[str], str] = _same
    code: Callable[[str], str] = _same
    #: (escaped label, url as written) → the link.
    link: Callable[[str, str], str] = _label_then_address
    bullet: str = "• "
    line_break: str = "\n"


def render(text: str, style: Style) -> str:
    """`text` in core's markup, shown with `style`, line by line."""
    return style.line_break.join(_line(line, style) for line in text.split("\n"))


def _line(line: str, style: Style) -> str:
    item = _ITEM.match(line)
    if item is not None:
        return style.bullet + _inline(line[item.end() :], style)
    return _inline(line, style)


def _inline(line: str, style: Style) -> str:
    out: list[str] = []
    at = 0
    for match in _INLINE.finditer(line):
        out.append(style.escape(line[at : match.start()]))
        if match["bold"] is not None:
            out.append(style.bold(style.escape(match["bold"])))
        elif match["code"] is not None:
            out.append(style.code(style.escape(match["code"])))
        else:
            out.append(style.link(style.escape(match["label"]), match["url"]))
        at = match.end()
    out.append(style.escape(line[at:]))
    return "".join(out)


#: A terminal: the words, no markers; a link shows its address.
PLAIN = Style()

#: A browser chat bubble or an email body (HTML-escaped; the caller keeps line breaks).
HTML = Style(
    escape=lambda text: html.escape(text, quote=False),
    bold=lambda text: f"<strong>{text}</strong>",
    code=lambda text: f"<code>{text}</code>",
    link=lambda label, url: f'<a href="{html.escape(url)}" rel="noopener noreferrer">{label}</a>',
    line_break="<br>\n",
)


def to_plain(text: str) -> str:
    return render(text, PLAIN)


def to_html(text: str) -> str:
    return render(text, HTML)
