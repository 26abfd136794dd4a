"""The embeddable widget (``/widget.js``) and the demo page that hosts it (``/``)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

router = APIRouter(tags=["widget"], include_in_schema=False)
WIDGET_DIR = Path(__file__).resolve().parent.parent / "widget"

# The demo page loads only its own script, style and API; nothing may frame it.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


@router.get("/")
def demo_page() -> FileResponse:
    headers = {**SECURITY_HEADERS, "Content-Security-Policy": PAGE_CSP}
    return FileResponse(
        WIDGET_DIR / "index.html", media_type="text/html; charset=utf-8", headers=headers
    )


@router.get("/widget.js")
def widget_script() -> FileResponse:
    headers = {**SECURITY_HEADERS, "Cache-Control": "public, max-age=300"}
    return FileResponse(
        WIDGET_DIR / "widget.js", media_type="text/javascript; charset=utf-8", headers=headers
    )


@router.get("/demo.css")
def demo_style() -> FileResponse:
    return FileResponse(
        WIDGET_DIR / "demo.css", media_type="text/css; charset=utf-8", headers=SECURITY_HEADERS
    )
