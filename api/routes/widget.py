"""The embeddable widget (``/widget.js``) and the demo page that hosts it (``/``)."""

from __future__ import annotations

import json
from functools import lru_cache
from html import escape
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

from api.deps import ServiceDep
from cancerassist.answer import Prompts
from cancerassist.models import MAX_HISTORY_CHARS, MAX_MESSAGES, Language

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
def widget_source(prompts: Prompts) -> str:
    """widget.js with its FR/EN interface sentences ([widget] tables of the prompts, as the
    corpus profile words them)."""
    strings = {
        language: {
            key.removeprefix("widget."): text
            for key, text in table.items()
            if key.startswith("widget.")
        }
        for language, table in prompts.templates.items()
    }
    limits = {"MAX_MESSAGES": MAX_MESSAGES, "MAX_HISTORY_CHARS": MAX_HISTORY_CHARS}
    source = (WIDGET_DIR / "widget.js").read_text(encoding="utf-8")
    return source.replace(PLACEHOLDER, json.dumps(strings, ensure_ascii=False)).replace(
        LIMITS_PLACEHOLDER, json.dumps(limits)
    )


@lru_cache(maxsize=4)
def demo_source(prompts: Prompts, examples: tuple[tuple[Language, str], ...]) -> str:
    """The demo page: what the assistant covers and the profile's example questions, as
    buttons the widget asks (text escaped: the profile is data, not markup)."""
    about = "\n".join(
        f'    <p lang="{language}">{escape(prompts.say(language, "demo.about"))}</p>'
        for language in ("fr", "en")
    )
    title = " / ".join(dict.fromkeys(prompts.say(lang, "demo.examples") for lang in ("fr", "en")))
    buttons = "".join(
        f'\n      <li><button type="button" lang="{language}" data-cancerassist-ask="'
        f'{escape(question)}">{escape(question)}</button></li>'
        for language, question in examples
    )
    page = (WIDGET_DIR / "index.html").read_text(encoding="utf-8")
    return (
        page.replace("    <!--ABOUT-->", about)
        .replace("<!--EXAMPLES-TITLE-->", escape(title))
        .replace("<!--EXAMPLES-->", buttons + ("\n    " if buttons else ""))
    )


@router.get("/")
def demo_page(service: ServiceDep) -> HTMLResponse:
    headers = {**SECURITY_HEADERS, "Content-Security-Policy": PAGE_CSP}
    examples = tuple(
        (language, question)
        for language, questions in service.index.profile.examples.items()
        for question in questions
    )
    return HTMLResponse(demo_source(service.prompts, examples), headers=headers)


@router.get("/widget.js")
def widget_script(service: ServiceDep) -> Response:
    headers = {**SECURITY_HEADERS, "Cache-Control": "public, max-age=300"}
    return Response(
        widget_source(service.prompts),
        media_type="text/javascript; charset=utf-8",
        headers=headers,
    )


@router.get("/demo.css")
def demo_style() -> FileResponse:
    return FileResponse(
        WIDGET_DIR / "demo.css", media_type="text/css; charset=utf-8", headers=SECURITY_HEADERS
    )
