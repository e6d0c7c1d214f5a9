"""`vizdots teams-package`: a manifest valid against Microsoft's own JSON schema for its
version (from the npm package @microsoft/app-manifest, downloaded once and cached), and
icons of the sizes Teams requires."""

from __future__ import annotations

import io
import json
import os
import struct
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from adapters.teams.package import MANIFEST_VERSION, package

REGISTRY = "https://registry.npmjs.org/@microsoft/app-manifest"
CACHE = Path(os.environ.get("VIZDOTS_CACHE", Path.home() / ".cache" / "vizdots"))
APP_ID = "11111111-2222-3333-4444-555555555555"


def schema() -> dict[str, Any]:
    """Microsoft's schema for our manifest version; skipped only when offline and
    VIZDOTS_REQUIRE_NETWORK is unset."""
    cached = CACHE / f"MicrosoftTeams.v{MANIFEST_VERSION}.schema.json"
    if not cached.exists():
        try:
            meta = httpx.get(REGISTRY, timeout=20, follow_redirects=True).json()
            latest = meta["dist-tags"]["latest"]
            tarball = httpx.get(meta["versions"][latest]["dist"]["tarball"], timeout=60)
        except httpx.HTTPError as error:
            if os.environ.get("VIZDOTS_REQUIRE_NETWORK"):
                raise
            pytest.skip(f"npm registry unreachable ({type(error).__name__})")
        name = f"package/build/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
        with tarfile.open(fileobj=io.BytesIO(tarball.content)) as archive:
            member = archive.extractfile(name)
            assert member is not None, name
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_bytes(member.read())
    return dict(json.loads(cached.read_text(encoding="utf-8")))


def unzipped() -> dict[str, bytes]:
    data = package(app_id=APP_ID, base_url="https://vizdots.example.com")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def png_size(data: bytes) -> tuple[int, int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, _depth, colour = struct.unpack(">IIBB", data[16:26])
    return width, height, colour


def test_the_manifest_is_valid_against_microsofts_schema() -> None:
    manifest = json.loads(unzipped()["manifest.json"])
    jsonschema.validate(manifest, schema())
    [bot] = manifest["bots"]
    assert bot["botId"] == APP_ID and "personal" in bot["scopes"]
    assert {c["title"] for c in bot["commandLists"][0]["commands"]} >= {"help", "schedule set"}


def test_the_icons_have_teams_sizes() -> None:
    files = unzipped()
    assert png_size(files["color.png"]) == (192, 192, 6)
    assert png_size(files["outline.png"]) == (32, 32, 6)  # RGBA: transparent background
