"""The embedded default's mailer: each email written as a .eml file under ./outbox/.

With no SES credentials a newcomer still sees what would have been sent: open the
file in any mail client. One log line per email, naming the file (never the address
nor the body).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from adapters.email.headers import list_unsubscribe
from core.ports import Clock, DeliveryError, Email

log = logging.getLogger("vizdots.email")


class OutboxMailer:
    def __init__(self, *, directory: Path, sender: str, clock: Clock) -> None:
        self.directory = directory
        self.sender = sender
        self.clock = clock

    async def send(self, email: Email) -> str:
        message_id = f"outbox-{uuid.uuid4().hex}"
        try:
            path = await asyncio.to_thread(self._write, email, message_id, self.clock.now())
        except OSError as error:
            raise DeliveryError(f"cannot write to the email outbox ({error.strerror})",
                                retryable=True) from error  # fmt: skip
        log.info("email written to %s (no SES configured)", path)
        return message_id

    def _write(self, email: Email, message_id: str, now: datetime) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{message_id}.eml"
        path.write_bytes(bytes(as_mime(email, sender=self.sender, now=now)))
        return path


#: Headers not folded: a long List-Unsubscribe URL would otherwise be RFC 2047-encoded,
#: which mail clients do not read as a URL (RFC 5322 allows 998 characters a line).
_LONG_LINES = policy.default.clone(max_line_length=998)


def as_mime(email: Email, *, sender: str, now: datetime) -> EmailMessage:
    """The email as MIME, dated `now`: text, with an HTML alternative when there is one."""
    message = EmailMessage(policy=_LONG_LINES)
    message["From"] = sender
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    for name, value in list_unsubscribe(email).items():
        message[name] = value
    message.set_content(email.text)
    if email.html:
        message.add_alternative(email.html, subtype="html")
    return message
