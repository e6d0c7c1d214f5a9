"""The SecretBox for what VizDots stores encrypted: ENCRYPTION_KEY's keys, or on the
embedded default (SQLite, a loopback APP_BASE_URL) a key generated once into the data
folder (beside the SQLite file, mode 0600) and reused. Settings validation has already
refused a production configuration that needs a key and lacks one."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from bot.settings import Settings, encryption_key_file, secret_values
from core.store.cipher import BadKey, SecretBox, new_key

log = logging.getLogger("vizdots.encryption")


def secret_box(settings: Settings) -> SecretBox:
    keys = secret_values(settings.encryption_key)
    if keys:
        return SecretBox(keys)
    if not settings.embedded_default():
        raise BadKey("ENCRYPTION_KEY is unset; it is required outside the embedded default")
    return SecretBox([key_from_file(encryption_key_file(settings))])


def key_from_file(path: Path) -> str:
    """The key in `path`, generated (mode 0600) the first time."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    key = new_key()
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(key + "\n")
    log.info("generated an encryption key in %s (set ENCRYPTION_KEY to share one)", path)
    return key
