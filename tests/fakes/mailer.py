"""An in-memory mailer: keeps every email core sends."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.ports import DeliveryError, Email


@dataclass
class FakeMailer:
    sent: list[Email] = field(default_factory=list)
    failures: list[DeliveryError] = field(default_factory=list)

    async def send(self, email: Email) -> str:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(email)
        return f"fake-{len(self.sent)}"
