"""Who sent this activity: the Agents SDK's JWT validation, and nothing hand-written.

The SDK's JwtTokenValidator fetches the signing keys from the issuer's JWKS (Bot
Framework's, or the tenant's Entra ID keys), checks the RS256 signature, expiry (five
minutes' leeway), the audience (our app id) and, as configured in adapters.teams.config,
the issuer allow-list and tenant binding. A token names the connector it was issued for
(`serviceurl`): an activity must point at that one, so a valid token cannot make the bot
post to another address.
"""

from __future__ import annotations

import logging

from jwt import PyJWTError
from microsoft_agents.hosting.core import AgentAuthConfiguration, ClaimsIdentity
from microsoft_agents.hosting.core.authorization import JwtTokenValidator

log = logging.getLogger("vizdots.teams")


class Unauthorized(Exception):
    """The activity's credentials were refused: a 401, nothing changed."""


async def authenticate(header: str | None, config: AgentAuthConfiguration) -> ClaimsIdentity:
    """The validated claims of `Authorization: Bearer …`; anonymous only when configured."""
    validator = JwtTokenValidator(config)
    if not header:
        if config.ANONYMOUS_ALLOWED:
            return validator.get_anonymous_claims()
        raise Unauthorized("no Authorization header")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token or " " in token:
        raise Unauthorized("Authorization is not a bearer token")
    try:
        return await validator.validate_token(token)
    except (PyJWTError, ValueError) as error:  # the reason's class only: never the token
        raise Unauthorized(f"token refused ({type(error).__name__})") from None


def check_service_url(claims: ClaimsIdentity, service_url: str) -> None:
    """An authenticated activity's serviceUrl is the one its token was issued for."""
    claimed = claims.get_claim_value("serviceurl") if claims.claims else None
    if claimed and claimed.rstrip("/").lower() != service_url.rstrip("/").lower():
        raise Unauthorized("serviceUrl differs from the token's")
