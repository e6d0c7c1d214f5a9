"""Headers every mailer adds: RFC 8058 one-click unsubscribe."""

from __future__ import annotations

from core.ports import Email


def list_unsubscribe(email: Email) -> dict[str, str]:
    """`List-Unsubscribe` and `List-Unsubscribe-Post` when the email has an unsubscribe URL
    (Gmail and Yahoo require both of bulk senders; the POST needs no login)."""
    if not email.unsubscribe_url:
        return {}
    return {
        "List-Unsubscribe": f"<{email.unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
