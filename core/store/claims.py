"""Claiming rows for work so that concurrent workers never take the same one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, Update, select, update


def claim(
    model: Any,
    *,
    candidates: Select[Any],
    still_free: ColumnElement[bool],
    limit: int,
    values: Mapping[str, Any],
    returning: Sequence[Any],
) -> Update:
    """`WITH picked AS (candidates LIMIT n FOR UPDATE SKIP LOCKED) UPDATE … WHERE id IN
    picked AND still_free RETURNING …`. On PostgreSQL a row another worker is claiming is
    skipped, not waited for; on SQLite writers are serialised, and `still_free` re-checked
    inside the UPDATE keeps a row from being taken twice.

    The candidates are a CTE, evaluated once: as a plain `IN (subquery)` PostgreSQL may
    scan the subquery again while updating, skip the rows this very UPDATE already
    changed, and so claim more than `limit` rows."""
    picked = candidates.limit(limit).with_for_update(skip_locked=True).cte("picked")
    return (
        update(model)
        .where(model.id.in_(select(picked.c.id)), still_free)
        .values(**values)
        .returning(*returning)
    )
