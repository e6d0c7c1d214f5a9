"""Secrets at rest: credentials VizDots must read back (Slack workspace tokens) are
stored Fernet-encrypted with ENCRYPTION_KEY.

ENCRYPTION_KEY holds one or more Fernet keys, comma-separated: the first encrypts,
all decrypt (MultiFernet), so a key is rotated by putting the new one first, running
`vizdots rotate-key`, then dropping the old one. A stored value carries the prefix
`fernet:`; a value without it is a plain one written before encryption at rest
(migration 0015 leaves those readable) and is read as it is until re-sealed.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PREFIX = "fernet:"


class BadKey(ValueError):
    """ENCRYPTION_KEY is no Fernet key, or a stored value was sealed with a key it lacks."""


def read_keys(keys: Sequence[str]) -> list[Fernet]:
    """Fernet keys from their text (32 url-safe base64 bytes each), in order."""
    if not keys:
        raise BadKey("ENCRYPTION_KEY holds no key")
    try:
        return [Fernet(key.encode()) for key in keys]
    except (ValueError, TypeError):
        raise BadKey(
            "ENCRYPTION_KEY is not a comma-separated list of Fernet keys "
            "(each 32 url-safe base64-encoded bytes)"
        ) from None


def new_key() -> str:
    return Fernet.generate_key().decode()


class SecretBox:
    """Seals and opens stored secrets with the ENCRYPTION_KEY keys, first key first."""

    def __init__(self, keys: Sequence[str]) -> None:
        fernets = read_keys(keys)
        self._current = fernets[0]
        self._all = MultiFernet(fernets)

    def seal(self, value: str | None) -> str | None:
        """`value` encrypted with the first key; an already sealed value is left as it is."""
        if value is None or value.startswith(PREFIX):
            return value
        return PREFIX + self._current.encrypt(value.encode()).decode()

    def open(self, stored: str | None) -> str | None:
        """The plain value of `stored` (a value without the prefix is plain already)."""
        if stored is None or not stored.startswith(PREFIX):
            return stored
        try:
            return self._all.decrypt(stored.removeprefix(PREFIX).encode()).decode()
        except InvalidToken:
            raise BadKey("a stored secret was sealed with a key ENCRYPTION_KEY lacks") from None

    def is_current(self, stored: str | None) -> bool:
        """Whether `stored` needs nothing from `reseal`: empty, or sealed with the first key."""
        if stored is None:
            return True
        if not stored.startswith(PREFIX):
            return False
        try:
            self._current.decrypt(stored.removeprefix(PREFIX).encode())
        except InvalidToken:
            return False
        return True

    def reseal(self, stored: str | None) -> str | None:
        """`stored` sealed with the first key (a plain value is sealed for the first time)."""
        return self.seal(self.open(stored))
