"""slack_sdk's SQLAlchemy installation store, its tokens encrypted at rest.

Not a fork: every query stays slack_sdk's. The token fields of an Installation or Bot
are sealed (core.store.cipher.SecretBox) before the store saves them, and opened on
the way out of its finds. `reseal_stored_tokens` re-encrypts what the tables hold
with the first ENCRYPTION_KEY key (`vizdots rotate-key`), plain rows included.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TypeVar

from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from core.store.cipher import SecretBox

#: The credential fields of slack_sdk's Installation and Bot (and their columns).
SECRET_FIELDS = (
    "bot_token",
    "bot_refresh_token",
    "user_token",
    "user_refresh_token",
    "incoming_webhook_url",
)
Entity = TypeVar("Entity", Installation, Bot)


def _with(entity: Entity, change: Callable[[str | None], str | None]) -> Entity:
    """A copy of `entity` with `change` applied to each of its secret fields."""
    changed = copy.copy(entity)
    for name in SECRET_FIELDS:
        if hasattr(changed, name):
            setattr(changed, name, change(getattr(changed, name)))
    return changed


class EncryptedInstallationStore(AsyncSQLAlchemyInstallationStore):
    def __init__(self, client_id: str, engine: AsyncEngine, *, box: SecretBox) -> None:
        super().__init__(client_id, engine)
        self.box = box

    async def async_save(self, installation: Installation) -> None:
        # slack_sdk saves the bot part through async_save_bot: sealing is idempotent
        await super().async_save(_with(installation, self.box.seal))

    async def async_save_bot(self, bot: Bot) -> None:
        await super().async_save_bot(_with(bot, self.box.seal))

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        found = await super().async_find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return _with(found, self.box.open) if found is not None else None

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found = await super().async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )
        return _with(found, self.box.open) if found is not None else None


async def reseal_stored_tokens(store: EncryptedInstallationStore, *, batch: int = 100) -> int:
    """Re-encrypt every stored token not sealed with the first key; how many rows changed.
    Each batch commits on its own, so an interrupted run is resumed by running it again."""
    changed = 0
    for table in (store.bots, store.installations):
        changed += await _reseal_table(store.engine, table, store.box, batch)
    return changed


async def _reseal_table(engine: AsyncEngine, table: Table, box: SecretBox, batch: int) -> int:
    columns = [table.c[name] for name in SECRET_FIELDS if name in table.c]
    changed, after = 0, -1
    while True:
        async with engine.begin() as connection:
            rows = (
                await connection.execute(
                    select(table.c.id, *columns)
                    .where(table.c.id > after)
                    .order_by(table.c.id)
                    .limit(batch)
                )
            ).all()
            for row in rows:
                stored = row._mapping
                stale = {
                    c.name: box.reseal(stored[c.name])
                    for c in columns
                    if not box.is_current(stored[c.name])
                }
                if stale:
                    await connection.execute(
                        update(table).where(table.c.id == row.id).values(**stale)
                    )
                    changed += 1
        if len(rows) < batch:
            return changed
        after = rows[-1].id
