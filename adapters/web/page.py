"""The HTML frame of the app's few browser pages: no scripts, no external assets.

Readable from 320 px up, real buttons and labelled fields (keyboard and screen readers),
a status region announced politely. Every piece of text reaching `frame` is escaped
by its caller (html.escape, or core.markup.to_html for core's markup).
"""

from __future__ import annotations

from html import escape

from fastapi.responses import HTMLResponse

from core.i18n import current_language

#: No scripts at all; forms post only back here; never framed; the token in the address
#: never leaves in a Referer; nothing cached or indexed.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
}

_STYLE = """
:root { --ink:#1d2433; --muted:#5b6376; --line:#d9dce6; --brand:#4338ca;
        --me:#eef2ff; --bot:#f4f5f9; }
* { box-sizing:border-box; }
body { margin:0; font:16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--ink); }
main { max-width:640px; margin:0 auto; padding:16px; }
h1 { font-size:20px; margin:0 0 4px; } .sub { color:var(--muted); margin:0 0 16px; font-size:14px; }
.bubble { width:fit-content; max-width:88%; padding:9px 13px; border-radius:14px; margin:6px 0;
          overflow-wrap:anywhere; }
.agent { background:var(--bot); border-top-left-radius:4px; }
.member-turn { background:var(--me); margin-left:auto; border-top-right-radius:4px; }
.bubble code { background:#e6e8f0; padding:0 4px; border-radius:4px; }
.bubble a { color:var(--brand); }
.note { color:var(--muted); font-size:14px; margin:12px 0; }
.problem { color:#b42318; }
.buttons { display:flex; flex-wrap:wrap; gap:8px; margin:12px 0; padding:0; border:0; }
.buttons legend { position:absolute; left:-9999px; }
button { font:inherit; cursor:pointer; min-height:44px; }
.buttons button { border:1px solid var(--line); background:#fff; border-radius:999px;
                  padding:6px 14px; }
.buttons button:hover, .buttons button:focus-visible { border-color:var(--brand); }
.say { display:flex; flex-direction:column; gap:8px; margin-top:12px; }
.say label { font-weight:600; font-size:14px; }
textarea { width:100%; min-height:80px; padding:10px 12px; border:1px solid var(--line);
           border-radius:10px; font:inherit; resize:vertical; }
.primary { align-self:flex-end; background:var(--brand); color:#fff; border:0; border-radius:10px;
           padding:0 20px; }
.sr-only { position:absolute; left:-9999px; }
:focus-visible { outline:3px solid #a5b4fc; outline-offset:2px; }
"""


def frame(*, title: str, body: str, refresh_seconds: int | None = None) -> str:
    """A whole page in the current language; `title` is plain text, `body` HTML its caller
    escaped."""
    refresh = f'<meta http-equiv="refresh" content="{refresh_seconds}">' if refresh_seconds else ""
    return (
        f'<!doctype html>\n<html lang="{current_language()}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="robots" content="noindex">{refresh}\n'
        f"<title>{escape(title)} · VizDots</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def html_page(
    *, title: str, body: str, status_code: int = 200, refresh_seconds: int | None = None
) -> HTMLResponse:
    content = frame(title=title, body=body, refresh_seconds=refresh_seconds)
    return HTMLResponse(content, status_code=status_code, headers=HEADERS)


def message_page(*, title: str, message: str, status_code: int) -> HTMLResponse:
    """A page that only says something (an expired link, a refused request)."""
    body = f'<h1>{escape(title)}</h1>\n<p class="note" role="status">{escape(message)}</p>'
    return html_page(title=title, body=body, status_code=status_code)
