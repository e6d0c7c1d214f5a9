"""Who calls the admin API, and the org-scoped transaction every route works in.

`Scoped(role)` is the only way a route reaches the database: it checks the bearer token
(401), its role (403), opens one transaction bound to the token's organisation
(core.admin.scope.OrgScope) and turns core's refusals into HTTP answers — NotFound
404, BadInput 400, Conflict 409, PermissionError 403 — rolling the transaction back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.admin.scope import BadInput, Conflict, NotFound, OrgScope
from core.admin.tokens import TokenRole, VerifiedToken, verify_token
from core.log_context import org_id
from core.ports import Clock
from core.store.engine import org_scope as row_scope

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="AdminToken",
    description="A per-org admin API token (`vzd_…`) from `vizdots admin-token create` or "
    "`/vizdots token`.",
)
UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="vizdots-admin"'}


class AdminAuth:
    """The admin API's dependencies, bound to the app's database and clock."""

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self.sessions, self.clock = sessions, clock

    async def token(self, credentials: HTTPAuthorizationCredentials | None) -> VerifiedToken:
        if credentials is None:
            raise HTTPException(401, "an admin API token is required", headers=UNAUTHORIZED)
        async with self.sessions.begin() as db:
            token = await verify_token(db, credentials.credentials, now=self.clock.now())
        if token is None:
            raise HTTPException(401, "unknown or revoked admin API token", headers=UNAUTHORIZED)
        return token

    def scoped(self, needed: TokenRole) -> Callable[..., AsyncIterator[OrgScope]]:
        async def org_scope(
            credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
        ) -> AsyncIterator[OrgScope]:
            token = await self.token(credentials)
            org_id.set(token.org_id)  # for the log lines (reset by bot.log_format.RequestIds)
            if not token.role.allows(needed):
                raise HTTPException(
                    403, f"this needs an {needed.value} token; yours is {token.role.value}"
                )
            # row-level security (ROW_SECURITY): the transaction sees this org's rows only
            with row_scope(token.org_id):
                async with self.sessions.begin() as db:
                    scope = OrgScope(db=db, org_id=token.org_id, actor=token.actor,
                                     clock=self.clock, sessions=self.sessions,
                                     role=token.role)  # fmt: skip
                    try:
                        yield scope
                    except (NotFound, BadInput, Conflict, PermissionError) as refusal:
                        raise HTTPException(_STATUS[type(refusal)], str(refusal)) from None

        org_scope.needed_role = needed  # type: ignore[attr-defined]  # read by bot.openapi
        return org_scope

    def depends(self, needed: TokenRole) -> Any:
        return Depends(self.scoped(needed), scope="function")


_STATUS: dict[type[Exception], int] = {
    NotFound: 404,
    BadInput: 400,
    Conflict: 409,
    PermissionError: 403,
}
