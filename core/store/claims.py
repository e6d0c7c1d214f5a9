"""Claiming rows for work so that concurrent workers never take the same one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, Update, update


def claim(
    model: Any,
    *,
    candidates: Select[Any],
    still_free: ColumnElement[bool],
    limit: int,
    values: Mapping[str, Any],
    returning: Sequence[Any],
) -> Update:
    """`UPDATE … WHERE id IN (candidates LIMIT n FOR UPDATE SKIP LOCKED) AND still_free
    RETURNING …`. On PostgreSQL a row another worker is claiming is skipped, not waited
    for; on SQLite writers are serialised, and `still_free` re-checked inside the UPDATE
    keeps a row from being taken twice."""
    picked = candidates.limit(limit).with_for_update(skip_locked=True).scalar_subquery()
    return (
        update(model).where(model.id.in_(picked), still_free).values(**values).returning(*returning)
    )
