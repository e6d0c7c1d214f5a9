"""MemberLinks for tests: recognisable URLs, no signature."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FakeLinks:
    base_url: str = "https://vizdots.test"

    def checkin(self, *, member_id: int, session_id: int) -> str:
        return f"{self.base_url}/checkin/{member_id}/{session_id}?sig=fake"

    def unsubscribe(self, *, member_id: int) -> str:
        return f"{self.base_url}/unsubscribe/{member_id}?sig=fake"
