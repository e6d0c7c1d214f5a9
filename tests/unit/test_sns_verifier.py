"""Which URLs count as SNS's, and the canonical strings SNS signs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.web.sns import SnsMalformed, SnsVerifier, canonical_string
from tests.fakes.clock import FakeClock

CLOCK = FakeClock(datetime(2026, 11, 25, 12, tzinfo=UTC))


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem",
        "https://sns.eu-west-1.amazonaws.com:443/?Action=ConfirmSubscription&Token=x",
    ],
)
def test_sns_hosts_are_trusted(url: str) -> None:
    assert SnsVerifier(clock=CLOCK).is_sns_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.us-east-1.amazonaws.com/cert.pem",
        "https://sns.us-east-1.amazonaws.com.evil.io/cert.pem",
        "https://evil.io/sns.us-east-1.amazonaws.com/cert.pem",
        "https://sns.us-east-1.amazonaws.com:8443/cert.pem",
        "https://user@sns.us-east-1.amazonaws.com/cert.pem",
        "https://s3.amazonaws.com/cert.pem",
        "http://127.0.0.1:8123/cert.pem",
        "",
    ],
)
def test_other_hosts_are_not(url: str) -> None:
    assert not SnsVerifier(clock=CLOCK).is_sns_url(url)


def test_the_test_prefix_admits_only_what_it_names() -> None:
    verifier = SnsVerifier(clock=CLOCK, trusted_prefix="http://127.0.0.1:8123/")
    assert verifier.is_sns_url("http://127.0.0.1:8123/cert.pem")
    assert not verifier.is_sns_url("http://127.0.0.1:8124/cert.pem")


def test_canonical_strings_follow_the_message_type() -> None:
    common = {"Message": "m", "MessageId": "i", "Timestamp": "t", "TopicArn": "a"}
    notification = {**common, "Type": "Notification", "Subject": "s", "Token": "ignored"}
    assert canonical_string(notification) == (
        b"Message\nm\nMessageId\ni\nSubject\ns\nTimestamp\nt\nTopicArn\na\nType\nNotification\n"
    )
    without_subject = {**common, "Type": "Notification"}
    assert b"Subject" not in canonical_string(without_subject)
    confirmation = {**common, "Type": "SubscriptionConfirmation", "SubscribeURL": "u", "Token": "k"}
    assert canonical_string(confirmation) == (
        b"Message\nm\nMessageId\ni\nSubscribeURL\nu\nTimestamp\nt\nToken\nk\nTopicArn\na\n"
        b"Type\nSubscriptionConfirmation\n"
    )
    with pytest.raises(SnsMalformed):
        canonical_string({**common, "Type": "SubscriptionConfirmation"})  # no SubscribeURL
