"""Check-in emails from Jinja2 templates (templates/): subject, plain text and HTML.

Autoescaping is on for the HTML part; the question, in core's markup, is rendered by
core/markup.py (escaped HTML, or plain text) and marked safe only after that.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from core.markup import to_html, to_plain
from core.ports import CheckinEmail, Email

TEMPLATES = Path(__file__).with_name("templates")


class TemplateComposer:
    """The EmailComposer of every mailer."""

    def __init__(self) -> None:
        loader = FileSystemLoader(TEMPLATES)
        self._html = Environment(
            loader=loader, autoescape=select_autoescape(["html"]), undefined=StrictUndefined
        )
        self._text = Environment(loader=loader, autoescape=False, undefined=StrictUndefined)

    def compose(self, content: CheckinEmail) -> Email:
        values = asdict(content)
        subject = self._text.get_template("checkin.subject.txt").render(values).strip()
        text = self._text.get_template("checkin.txt").render(
            values | {"question": to_plain(content.question)}
        )
        html = self._html.get_template("checkin.html").render(
            values | {"subject": subject, "question_html": Markup(to_html(content.question))}
        )
        return Email(
            to=content.to,
            subject=" ".join(subject.split()),
            text=text,
            html=html,
            unsubscribe_url=content.unsubscribe_url,
            tags=dict(content.tags),
        )
