"""The FastAPI application: ``uvicorn api.main:app`` or ``cancerassist serve``.

The index and the models are loaded once, at start-up (building the index first if there is
none); routes are plain functions that FastAPI runs in its thread pool, off the event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api import limits
from api.routes import (
    admin,
    chat,
    documents,
    facts,
    feedback,
    health,
    openai_compat,
    search,
    widget,
)
from cancerassist import __version__
from cancerassist.answer import Prompts
from cancerassist.chat import ChatService
from cancerassist.config import Settings, get_settings
from cancerassist.feedback import FeedbackStore
from cancerassist.index import Rebuilder


def create_app(settings: Settings | None = None, service: ChatService | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        chat_service = service or ChatService.from_settings(settings)
        app.state.service = chat_service
        app.state.feedback = FeedbackStore(settings.data_dir / "feedback.sqlite3")
        app.state.rebuilder = Rebuilder(settings, on_built=lambda _: chat_service.reload())
        yield

    app = FastAPI(
        title="CancerAssist",
        version=__version__,
        description="Cited, bilingual answers about cancer-research networks.",
        lifespan=lifespan,
        responses=limits.COMMON_ERRORS,
    )
    limits.install(
        app,
        Prompts.load(settings.prompts_dir),
        settings.max_body_bytes,
        settings.rate_limit_per_minute,
        settings.request_timeout_s,
    )
    # Added last, so outermost: refusals (413, 429) carry CORS headers the widget can read.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type", "Authorization"],
        allow_credentials=False,
        # Cross-origin pages (the widget) may read when to retry after a 429.
        expose_headers=[
            "Retry-After",
            "X-RateLimit-Limit",
            "X-RateLimit-Remaining",
            "X-RateLimit-Reset",
        ],
    )
    for module in (chat, openai_compat, search, facts, documents, feedback, health, widget, admin):
        app.include_router(module.router)
    return app


app = create_app()
