"""The FastAPI application: ``uvicorn api.main:app`` or ``cancerassist serve``.

The index and the models are loaded once, at start-up (building the index first if there is
none); routes are plain functions that FastAPI runs in its thread pool, off the event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

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
from cancerassist.feedback import FeedbackStore, MessageSigner, message_key
from cancerassist.index import Rebuilder


def create_app(settings: Settings | None = None, service: ChatService | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        chat_service = service or ChatService.from_settings(settings)
        app.state.service = chat_service
        app.state.feedback = FeedbackStore(settings.data_dir / "feedback.sqlite3")
        app.state.signer = MessageSigner(message_key(settings.data_dir))
        app.state.rebuilder = Rebuilder(settings, on_built=lambda _: chat_service.reload())
        yield

    production = settings.environment == "production"
    app = FastAPI(
        title="CancerAssist",
        version=__version__,
        description="Cited, bilingual answers about cancer-research networks.",
        lifespan=lifespan,
        responses=limits.COMMON_ERRORS,
        # The interactive pages load their scripts from a CDN: not in production (the
        # description stays at /openapi.json).
        docs_url=None if production else "/docs",
        redoc_url=None if production else "/redoc",
        # A redirect to the same path with or without its last "/" is built from the Host
        # header, which a client chooses: none is made, the exact path answers or 404s.
        redirect_slashes=False,
    )
    limits.install(app, settings, Prompts.load(settings.prompts_dir))
    for module in (chat, openai_compat, search, facts, documents, feedback, health, widget, admin):
        app.include_router(module.router)
    return app


app = create_app()
