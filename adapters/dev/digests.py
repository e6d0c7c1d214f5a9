"""The dev chat's team channels: digests "posted" to a report channel are shown on a page.

The digests table is the transport, as the messages table is for the dev chat's DMs:
posting only names the message, and GET /dev/digests lists what was posted, newest
first. Served with the dev chat (only when no real chat is configured); its own words in the
current language (the caller's `speaking`).
"""

from __future__ import annotations

import html
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.digest_posting import POSTED
from core.domain import Provider
from core.i18n import _, current_language
from core.markup import to_html
from core.ports import ChatPlace, OutgoingMessage, SentMessage
from core.store.models import Digest, Organization

#: How many digests the page shows.
SHOWN = 50


class DevChannelPoster:
    provider = Provider.DEV

    async def post(self, to: ChatPlace, message: OutgoingMessage) -> SentMessage:
        return SentMessage(message_id=f"dev-digest-{uuid.uuid4().hex[:12]}")

    async def find_posted(self, to: ChatPlace, key: str) -> SentMessage | None:
        return None  # posting again only names the message again


async def digests_page(sessions: async_sessionmaker[AsyncSession], *, back_to: str = "/dev") -> str:
    """The page of GET /dev/digests: the latest digests the dev chat "posted"."""
    async with sessions() as db:
        rows = (
            await db.execute(
                select(Digest, Organization.slug)
                .join(Organization, Organization.id == Digest.org_id)
                .where(Digest.state == POSTED, Digest.provider == Provider.DEV.value)
                .order_by(Digest.posted_at.desc(), Digest.id.desc())
                .limit(SHOWN)
            )
        ).all()
    return _page([_article(digest, slug) for digest, slug in rows], back_to=back_to)


def _article(digest: Digest, org_slug: str) -> str:
    where = html.escape(f"{org_slug} · #{digest.channel} · {digest.local_date.isoformat()}")
    return f'<article class="digest"><h2>{where}</h2><p>{to_html(digest.text or "")}</p></article>'


def _page(articles: list[str], *, back_to: str) -> str:
    none = html.escape(_("No digest has been posted yet."))
    body = "\n".join(articles) or f'<p class="empty">{none}</p>'
    title, back = html.escape(_("Team digests")), html.escape(_("Back to the chat"))
    return f"""<!doctype html>
<html lang="{current_language()}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>VizDots · {title}</title>
<style>
  body {{ margin:0 auto; max-width:760px; padding:16px; font:15px/1.45 system-ui, sans-serif;
          color:#1d2433; }}
  .digest {{ border:1px solid #e3e6ee; border-radius:10px; padding:12px 16px; margin:12px 0; }}
  .digest h2 {{ font-size:13px; color:#6b7385; margin:0 0 8px; overflow-wrap:anywhere; }}
  .empty {{ color:#6b7385; }}
</style></head>
<body><h1>{title}</h1><p><a href="{html.escape(back_to)}">{back}</a></p>
{body}
</body></html>"""
