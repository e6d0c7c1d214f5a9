"""Who is looking at the dashboard, and the org-scoped transaction every page reads in.

The browser holds a session cookie (HttpOnly; Secure when APP_BASE_URL is https;
SameSite=Lax; path /dashboard). `DashboardAuth.depends()` turns it into the same
core.admin.scope.OrgScope the admin API uses, bound to the session's organisation, so
no route names an org itself. Forms post the session's CSRF token back
(`check_csrf`). Refusals are `DashboardRefused`: a page saying what to do."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.admin.dashboard_sessions import DashboardLogin, NewSession, login_for
from core.admin.scope import OrgScope
from core.log_context import org_id
from core.ports import Clock

COOKIE = "vizdots_dashboard"
COOKIE_PATH = "/dashboard"
SIGN_IN_AGAIN = "Type `/vizdots dashboard` in your chat for a new link."


class DashboardRefused(Exception):
    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(title)
        self.status, self.title, self.message = status, title, message


@dataclass(frozen=True, slots=True)
class Viewing:
    """A signed-in admin and their org's scope, for one request."""

    login: DashboardLogin
    scope: OrgScope


class DashboardAuth:
    def __init__(
        self, *, sessions: async_sessionmaker[AsyncSession], clock: Clock, secure: bool
    ) -> None:
        self.sessions, self.clock, self.secure = sessions, clock, secure

    async def login(self, request: Request) -> DashboardLogin:
        cookie = request.cookies.get(COOKIE)
        if cookie is None or not 16 <= len(cookie) <= 100:
            raise DashboardRefused(401, "Please sign in", SIGN_IN_AGAIN)
        async with self.sessions() as db:
            login = await login_for(db, cookie, now=self.clock.now())
        if login is None:
            raise DashboardRefused(401, "Your dashboard session has ended", SIGN_IN_AGAIN)
        org_id.set(login.org_id)  # for the log lines (reset by bot.log_format.RequestIds)
        return login

    async def viewing(self, request: Request) -> AsyncIterator[Viewing]:
        login = await self.login(request)
        async with self.sessions.begin() as db:
            yield Viewing(login, OrgScope(
                db=db, org_id=login.org_id, actor=login.actor, clock=self.clock,
                sessions=self.sessions, role=login.role,
            ))  # fmt: skip

    def depends(self) -> Any:
        return Depends(self.viewing, scope="function")

    def set_cookie(self, response: Response, new: NewSession) -> None:
        max_age = int((new.expires_at - self.clock.now()).total_seconds())
        response.set_cookie(
            COOKIE, new.cookie, max_age=max_age, path=COOKIE_PATH, httponly=True,
            secure=self.secure, samesite="lax",
        )  # fmt: skip

    def clear_cookie(self, response: Response) -> None:
        response.delete_cookie(
            COOKIE, path=COOKIE_PATH, httponly=True, secure=self.secure, samesite="lax"
        )


def check_csrf(login: DashboardLogin, sent: str | None) -> None:
    """A form's `csrf` field must be the session's token (compared in constant time)."""
    if sent is None or not secrets.compare_digest(sent.encode(), login.csrf_token.encode()):
        raise DashboardRefused(403, "This form has expired", "Reload the dashboard and try again.")
