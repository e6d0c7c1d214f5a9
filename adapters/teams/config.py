"""Teams settings as the adapter needs them, and the Agents SDK's view of them.

With MICROSOFT_APP_ID set every activity's JWT is validated by the SDK, single-tenant
(MICROSOFT_APP_TENANT_ID) with the issuer allow-list on. Anonymous activities are taken
only in emulator mode: TEAMS_EMULATOR=true and no app id (a local Bot Framework
Emulator). Without either, /api/messages answers 503.
"""

from __future__ import annotations

from dataclasses import dataclass

from microsoft_agents.hosting.core import AgentAuthConfiguration

#: Where Bot Framework tokens for the connector are asked for (the SDK's constants).
CONNECTOR_RESOURCE = "https://api.botframework.com"
CONNECTOR_SCOPES = ("https://api.botframework.com/.default",)


@dataclass(frozen=True, slots=True)
class TeamsSettings:
    app_id: str | None
    app_password: str | None
    tenant_id: str | None
    emulator: bool
    max_request_bytes: int = 1_000_000
    default_timezone: str = "UTC"

    @property
    def anonymous(self) -> bool:
        """Emulator mode: activities carry no token and none is checked."""
        return self.emulator and self.app_id is None

    @property
    def configured(self) -> bool:
        return self.app_id is not None or self.anonymous

    def auth_configuration(self) -> AgentAuthConfiguration:
        """The SDK's configuration: audience = our app id, issuers checked (opt-in)."""
        return AgentAuthConfiguration(
            client_id=self.app_id,
            tenant_id=self.tenant_id,
            client_secret=self.app_password,
            anonymous_allowed=self.anonymous,
            validate_issuer=self.app_id is not None,
        )
