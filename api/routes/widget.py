"""The embeddable widget (``/widget.js``) and the demo page that hosts it (``/``)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from api.deps import SettingsDep
from cancerassist.answer import Prompts
from cancerassist.models import MAX_HISTORY_CHARS, MAX_MESSAGES

router = APIRouter(tags=["widget"], include_in_schema=False)
WIDGET_DIR = Path(__file__).resolve().parent.parent / "widget"
PLACEHOLDER = "/*__STRINGS__*/ null"
LIMITS_PLACEHOLDER = "/*__LIMITS__*/ null"

# The demo page loads only its own script, style and API; nothing may frame it.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


@lru_cache(maxsize=4)
def widget_source(prompts_dir: Path) -> str:
    """widget.js with its FR/EN interface sentences from prompts/ ([widget] tables)."""
    templates = Prompts.load(prompts_dir).templates
    strings = {
        language: {
            key.removeprefix("widget."): text
            for key, text in table.items()
            if key.startswith("widget.")
        }
        for language, table in templates.items()
    }
    limits = {"MAX_MESSAGES": MAX_MESSAGES, "MAX_HISTORY_CHARS": MAX_HISTORY_CHARS}
    source = (WIDGET_DIR / "widget.js").read_text(encoding="utf-8")
    return source.replace(PLACEHOLDER, json.dumps(strings, ensure_ascii=False)).replace(
        LIMITS_PLACEHOLDER, json.dumps(limits)
    )


@router.get("/")
def demo_page() -> FileResponse:
    headers = {**SECURITY_HEADERS, "Content-Security-Policy": PAGE_CSP}
    return FileResponse(
        WIDGET_DIR / "index.html", media_type="text/html; charset=utf-8", headers=headers
    )


@router.get("/widget.js")
def widget_script(settings: SettingsDep) -> Response:
    headers = {**SECURITY_HEADERS, "Cache-Control": "public, max-age=300"}
    return Response(
        widget_source(settings.prompts_dir),
        media_type="text/javascript; charset=utf-8",
        headers=headers,
    )


@router.get("/demo.css")
def demo_style() -> FileResponse:
    return FileResponse(
        WIDGET_DIR / "demo.css", media_type="text/css; charset=utf-8", headers=SECURITY_HEADERS
    )
