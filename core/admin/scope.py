"""The one place an admin's reads and changes are tied to their organisation.

Every admin query starts from `OrgScope.select` or `OrgScope.get`, which add
`org_id = <the caller's org>`: a row of another organisation is simply not found
(the API answers 404, exactly as for an id that does not exist)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.admin.audit import ChangeActor, record_change
from core.admin.tokens import TokenRole
from core.ports import Clock

Row = TypeVar("Row")
MAX_PAGE = 200


class NotFound(LookupError):
    """No such row in the caller's organisation."""


class BadInput(ValueError):
    """A value the caller can correct (the message says how); nothing was changed."""


class Conflict(ValueError):
    """The change clashes with what exists (e.g. a second schedule for one agent)."""


@dataclass(frozen=True, slots=True)
class Page(Generic[Row]):
    items: Sequence[Row]
    #: Pass as `cursor` for the next (older) page; None on the last one.
    next_cursor: int | None


@dataclass(frozen=True, slots=True)
class OrgScope:
    """An open transaction, the caller's organisation, who acts, and the clock.

    `sessions` is for work that outlives the transaction (a streamed CSV)."""

    db: AsyncSession
    org_id: int
    actor: ChangeActor
    clock: Clock
    sessions: async_sessionmaker[AsyncSession]
    #: What the caller may do (a chat command or the CLI acts as an owner).
    role: TokenRole = TokenRole.OWNER

    def select(self, model: Any, *columns: Any) -> Select[Any]:
        """SELECT `columns` (default: the model) of the org's rows of `model`."""
        return select(*(columns or (model,))).where(model.org_id == self.org_id)

    async def get(self, model: type[Row], row_id: int) -> Row:
        found = await self.db.scalar(self.select(model).where(model.id == row_id))  # type: ignore[attr-defined]
        if found is None:
            raise NotFound(f"no {model.__tablename__[:-1]} {row_id} in your organisation")  # type: ignore[attr-defined]
        return found  # type: ignore[no-any-return]

    async def page(
        self, query: Select[Any], model: Any, *, limit: int, cursor: int | None
    ) -> Page[Any]:
        """Newest first, `limit` rows with an id below `cursor`."""
        limit = max(1, min(limit, MAX_PAGE))
        if cursor is not None:
            query = query.where(model.id < cursor)
        rows = (await self.db.scalars(query.order_by(model.id.desc()).limit(limit + 1))).all()
        more = len(rows) > limit
        return Page(items=rows[:limit], next_cursor=rows[limit - 1].id if more else None)

    def record(self, action: str, **detail: object) -> None:
        record_change(self.db, org_id=self.org_id, actor=self.actor, action=action, **detail)
