"""Signed links: a round trip, expiry (told apart from tampering), one purpose each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.web.links import LinkExpired, LinkInvalid, SignedLinks, secret_from_file
from core.ports import MemberLinks
from tests.fakes.clock import FakeClock

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
SECRET = "s3cret-for-the-tests-only-0123456789"


def links(clock: FakeClock, secret: str = SECRET) -> SignedLinks:
    return SignedLinks(
        secret=secret, base_url="https://app.example/", max_age=timedelta(hours=72), clock=clock
    )


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_a_checkin_link_round_trips_to_its_member_and_session() -> None:
    signed: MemberLinks = links(FakeClock(NOW))
    url = signed.checkin(member_id=7, session_id=42)
    assert url.startswith("https://app.example/checkin/")
    read = links(FakeClock(NOW)).read_checkin(token_of(url))
    assert (read.member_id, read.session_id) == (7, 42)


def test_an_unsubscribe_link_round_trips_to_its_member() -> None:
    url = links(FakeClock(NOW)).unsubscribe(member_id=7)
    assert url.startswith("https://app.example/email/unsubscribe/")
    assert links(FakeClock(NOW)).read_unsubscribe(token_of(url)) == 7


def test_an_expired_link_is_told_apart_from_a_tampered_one() -> None:
    clock = FakeClock(NOW)
    token = token_of(links(clock).checkin(member_id=7, session_id=42))
    clock.advance(timedelta(hours=71, minutes=59))
    assert links(clock).read_checkin(token).session_id == 42
    clock.advance(timedelta(minutes=2))
    with pytest.raises(LinkExpired):
        links(clock).read_checkin(token)


def test_an_unsubscribe_link_outlives_the_checkin_link() -> None:
    clock = FakeClock(NOW)
    token = token_of(links(clock).unsubscribe(member_id=7))
    clock.advance(timedelta(days=59))
    assert links(clock).read_unsubscribe(token) == 7
    clock.advance(timedelta(days=2))
    with pytest.raises(LinkExpired):
        links(clock).read_unsubscribe(token)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature changed
        lambda t: "x" + t,  # payload changed
        lambda t: t.split(".")[0],  # signature missing
        lambda t: "",
        lambda t: "not-a-token",
    ],
)
def test_a_tampered_link_is_invalid(tamper: object) -> None:
    token = token_of(links(FakeClock(NOW)).checkin(member_id=7, session_id=42))
    with pytest.raises(LinkInvalid):
        links(FakeClock(NOW)).read_checkin(tamper(token))  # type: ignore[operator]


def test_a_link_signed_with_another_secret_is_invalid() -> None:
    token = token_of(
        links(FakeClock(NOW), "another-secret-0123456789").checkin(member_id=7, session_id=42)
    )
    with pytest.raises(LinkInvalid):
        links(FakeClock(NOW)).read_checkin(token)


def test_a_token_opens_only_what_it_was_made_for() -> None:
    signed = links(FakeClock(NOW))
    checkin = token_of(signed.checkin(member_id=7, session_id=42))
    unsubscribe = token_of(signed.unsubscribe(member_id=7))
    with pytest.raises(LinkInvalid):
        signed.read_unsubscribe(checkin)
    with pytest.raises(LinkInvalid):
        signed.read_checkin(unsubscribe)


def test_the_per_install_secret_is_generated_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "link-secret"
    first = secret_from_file(path)
    assert len(first) >= 32 and secret_from_file(path) == first
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="16 characters"):
        links(FakeClock(NOW), "short")
