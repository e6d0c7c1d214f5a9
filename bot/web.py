"""Wiring of the browser side of email: signed links, the check-in page, one-click
unsubscribe and SES's bounce/complaint events (adapters/web). One router each, so
bot/app.py mounts each with one line."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter

from bot.settings import Settings
from core.ports import Clock

if TYPE_CHECKING:
    from adapters.web.links import SignedLinks
    from bot.bootstrap import Services

log = logging.getLogger("vizdots.web")


class LinksOnFirstUse:
    """core.ports.MemberLinks built when a first link is made, so building the services
    writes no secret file (LINK_SIGNING_SECRET unset) until a link is really needed."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self._settings, self._clock = settings, clock
        self._links: SignedLinks | None = None

    def _built(self) -> SignedLinks:
        if self._links is None:
            self._links = build_links(self._settings, self._clock)
        return self._links

    def checkin(self, *, member_id: int, session_id: int) -> str:
        return self._built().checkin(member_id=member_id, session_id=session_id)

    def unsubscribe(self, *, member_id: int) -> str:
        return self._built().unsubscribe(member_id=member_id)

    def dashboard(self, *, org_id: int, member_id: int, nonce: str) -> str:
        return self._built().dashboard(org_id=org_id, member_id=member_id, nonce=nonce)


def build_links(settings: Settings, clock: Clock) -> SignedLinks:
    """LINK_SIGNING_SECRET, else the per-install secret generated once into
    LINK_SECRET_FILE (fine on one machine; several must share LINK_SIGNING_SECRET)."""
    from adapters.web.links import SignedLinks, secret_from_file

    if settings.link_signing_secret is not None:
        secret = settings.link_signing_secret.get_secret_value()
    else:
        secret = secret_from_file(Path(settings.link_secret_file))
        log.info("LINK_SIGNING_SECRET unset: links signed with the secret in LINK_SECRET_FILE")
    return SignedLinks(
        secret=secret,
        base_url=str(settings.app_base_url),
        max_age=timedelta(hours=settings.link_max_age_hours),
        clock=clock,
    )


def checkin_router(services: Services) -> APIRouter:
    from adapters.web.checkin import checkin_routes

    return checkin_routes(
        sessions=services.sessions, inbox=services.inbox, links=lambda: services.links,
        clock=services.clock,
    )  # fmt: skip


def unsubscribe_router(services: Services) -> APIRouter:
    from adapters.web.unsubscribe import unsubscribe_routes

    sessions, clock = services.sessions, services.clock
    return unsubscribe_routes(sessions=sessions, links=lambda: services.links, clock=clock)


def ses_events_router(services: Services) -> APIRouter:
    from adapters.web.ses_events import ses_event_routes
    from adapters.web.sns import SnsVerifier

    settings = services.settings
    if settings.sns_trusted_url_prefix:
        log.warning("SNS_TRUSTED_URL_PREFIX is set: for tests and local fakes only")
    verifier = SnsVerifier(clock=services.clock, trusted_prefix=settings.sns_trusted_url_prefix)
    return ses_event_routes(
        sessions=services.sessions, verifier=verifier, clock=services.clock,
        topic_arn=settings.ses_sns_topic_arn,
    )  # fmt: skip
