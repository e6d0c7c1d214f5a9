"""Check-in emails from Jinja2 templates (templates/): subject, plain text and HTML.

Autoescaping is on for the HTML part; the question, in core's markup, is rendered by
core/markup.py (escaped HTML, or plain text) and marked safe only after that.

The templates' texts are marked with `_()` (Jinja2's i18n extension, given core.i18n's
`_` and `n_`) and come out in the current language: the caller composes inside
`speaking(the member's language)`.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from core.i18n import _, current_language, n_
from core.markup import to_html, to_plain
from core.ports import CheckinEmail, Email

TEMPLATES = Path(__file__).with_name("templates")


class TemplateComposer:
    """The EmailComposer of every mailer."""

    def __init__(self) -> None:
        loader = FileSystemLoader(TEMPLATES)
        self._html = Environment(
            loader=loader,
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            extensions=["jinja2.ext.i18n"],
        )
        self._text = Environment(
            loader=loader,
            autoescape=False,
            undefined=StrictUndefined,
            extensions=["jinja2.ext.i18n"],
        )
        for environment in (self._html, self._text):
            environment.install_gettext_callables(gettext=_, ngettext=n_, newstyle=False)  # type: ignore[attr-defined]

    def compose(self, content: CheckinEmail) -> Email:
        values = asdict(content)
        subject = self._text.get_template("checkin.subject.txt").render(values).strip()
        text = self._text.get_template("checkin.txt").render(
            values | {"question": to_plain(content.question)}
        )
        html = self._html.get_template("checkin.html").render(
            values
            | {
                "subject": subject,
                "question_html": Markup(to_html(content.question)),
                "language": current_language(),
            }
        )
        return Email(
            to=content.to,
            subject=" ".join(subject.split()),
            text=text,
            html=html,
            unsubscribe_url=content.unsubscribe_url,
            tags=dict(content.tags),
        )
