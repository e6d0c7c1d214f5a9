"""The Teams app package (`vizdots teams-package`): manifest.json and two icons, zipped.

Manifest schema 1.20; the bot is MICROSOFT_APP_ID, in personal chats (and teams, so
that adding it to a team brings the roster), with a commandList that Teams suggests as
people type. The icons are drawn here (a colour 192×192 and a transparent 32×32 white
outline) and written as PNG with zlib alone: no imaging library needed.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from typing import Any
from urllib.parse import urlsplit

MANIFEST_VERSION = "1.20"
SCHEMA = (
    f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}"
    "/MicrosoftTeams.schema.json"
)
ACCENT = (79, 70, 229)
COMMANDS = (
    ("help", "Everything you can ask VizDots"),
    ("skip", "Skip today's check-in"),
    ("start", "Start today's check-in now"),
    ("schedule show", "When check-ins come"),
    ("schedule set", "Admins: schedule set daily mon-fri 09:30"),
    ("vacation until", "No check-ins until a date, e.g. vacation until 2030-08-31"),
    ("time", "Your own check-in time, e.g. time 08:30"),
    ("email off", "No reminder emails"),
    ("members", "Admins: who takes part"),
    ("report", "Admins: the team's dots this week"),
)


def manifest(*, app_id: str, base_url: str, version: str = "1.0.0") -> dict[str, Any]:
    site = base_url.rstrip("/")
    return {
        "$schema": SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": app_id,
        "developer": {
            "name": "VizDots",
            "websiteUrl": site,
            "privacyUrl": f"{site}/privacy",
            "termsOfUseUrl": f"{site}/terms",
        },
        "name": {"short": "VizDots", "full": "VizDots check-ins"},
        "description": {
            "short": "Short daily check-ins with your team, in chat.",
            "full": "VizDots runs short, scheduled check-in conversations with each person "
            "in their own chat and shows the team's mood, blockers and wins over time.",
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": "#{:02X}{:02X}{:02X}".format(*ACCENT),
        "bots": [
            {
                "botId": app_id,
                "scopes": ["personal", "team"],
                "supportsFiles": False,
                "isNotificationOnly": False,
                "commandLists": [
                    {
                        "scopes": ["personal"],
                        "commands": [{"title": t, "description": d} for t, d in COMMANDS],
                    }
                ],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [urlsplit(site).hostname or "localhost"],
    }


def package(*, app_id: str, base_url: str) -> bytes:
    """The zip to upload in the Teams admin center."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest(app_id=app_id, base_url=base_url),
                                                     indent=2))  # fmt: skip
        archive.writestr("color.png", colour_icon())
        archive.writestr("outline.png", outline_icon())
    return out.getvalue()


def colour_icon(size: int = 192) -> bytes:
    """A white dot on the accent colour, opaque."""

    def pixel(x: int, y: int) -> tuple[int, int, int, int]:
        inside = _in_dot(x, y, size, 0.28)
        return (255, 255, 255, 255) if inside else (*ACCENT, 255)

    return _png(size, pixel)


def outline_icon(size: int = 32) -> bytes:
    """A white ring on a transparent background (Teams' outline icon rule)."""

    def pixel(x: int, y: int) -> tuple[int, int, int, int]:
        ring = _in_dot(x, y, size, 0.42) and not _in_dot(x, y, size, 0.30)
        return (255, 255, 255, 255) if ring else (0, 0, 0, 0)

    return _png(size, pixel)


def _in_dot(x: int, y: int, size: int, radius: float) -> bool:
    centre = (size - 1) / 2
    return (x - centre) ** 2 + (y - centre) ** 2 <= (radius * size) ** 2


def _png(size: int, pixel: Any) -> bytes:
    rows = b"".join(
        b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(size)) for y in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))  # fmt: skip
