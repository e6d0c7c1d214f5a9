"""Core speaks one neutral markup; each channel shows it its own way."""

from __future__ import annotations

import pytest

from adapters.slack.mrkdwn import to_mrkdwn
from core.markup import to_html, to_plain

NEUTRAL = "Type **start** or `help`, see [the guide](https://vizdots.dev/guide)\n- one item"


def test_slack_shows_bold_code_links_and_items_as_mrkdwn() -> None:
    assert to_mrkdwn(NEUTRAL) == (
        "Type *start* or `help`, see <https://vizdots.dev/guide|the guide>\n• one item"
    )


def test_the_browser_and_emails_get_html() -> None:
    assert to_html(NEUTRAL) == (
        "Type <strong>start</strong> or <code>help</code>, see "
        '<a href="https://vizdots.dev/guide" rel="noopener noreferrer">the guide</a>'
        "<br>\n• one item"
    )


def test_a_terminal_gets_the_words_without_markers() -> None:
    assert to_plain(NEUTRAL) == (
        "Type start or help, see the guide (https://vizdots.dev/guide)\n• one item"
    )


@pytest.mark.parametrize(
    ("typed", "html"),
    [("<b>x</b> & co", "&lt;b&gt;x&lt;/b&gt; &amp; co"),
     ("**<i>**", "<strong>&lt;i&gt;</strong>")],
)  # fmt: skip
def test_what_someone_typed_is_escaped_in_html(typed: str, html: str) -> None:
    assert to_html(typed) == html


def test_what_someone_typed_cannot_make_a_slack_link_or_mention() -> None:
    assert to_mrkdwn("<@U123> <!channel> a&b") == "&lt;@U123&gt; &lt;!channel&gt; a&amp;b"


def test_a_link_that_is_not_http_stays_text() -> None:
    assert to_html("[x](javascript:alert(1))") == "[x](javascript:alert(1))"


def test_unpaired_markers_are_left_as_typed() -> None:
    assert to_plain("2 * 3 = 6, a `tick and **half") == "2 * 3 = 6, a `tick and **half"
