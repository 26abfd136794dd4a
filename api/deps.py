"""Typed dependencies: what a route needs, loaded once per process by the app's lifespan."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Request

from api.limits import ApiError
from cancerassist.chat import ChatService
from cancerassist.config import Settings
from cancerassist.feedback import FeedbackStore, MessageSigner
from cancerassist.index import Rebuilder


def get_service(request: Request) -> ChatService:
    service: ChatService = request.app.state.service
    return service


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_feedback(request: Request) -> FeedbackStore:
    store: FeedbackStore = request.app.state.feedback
    return store


def get_signer(request: Request) -> MessageSigner:
    signer: MessageSigner = request.app.state.signer
    return signer


ServiceDep = Annotated[ChatService, Depends(get_service)]
SignerDep = Annotated[MessageSigner, Depends(get_signer)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
FeedbackDep = Annotated[FeedbackStore, Depends(get_feedback)]


def get_rebuilder(request: Request) -> Rebuilder:
    rebuilder: Rebuilder = request.app.state.rebuilder
    return rebuilder


RebuilderDep = Annotated[Rebuilder, Depends(get_rebuilder)]


def is_admin(
    settings: SettingsDep,
    authorization: Annotated[str | None, Header(max_length=512)] = None,
    x_api_key: Annotated[str | None, Header(max_length=512)] = None,
) -> bool:
    """The request carries the admin key, as ``Authorization: Bearer <key>`` or
    ``X-API-Key``; never without a key in the settings."""
    if settings.admin_api_key is None:
        return False
    scheme, _, token = (authorization or "").partition(" ")
    given = x_api_key or (token.strip() if scheme.lower() == "bearer" else "")
    expected = settings.admin_api_key.get_secret_value()
    # Constant time: how much of a guess was right must not show in the response time.
    return hmac.compare_digest(given.encode(), expected.encode())


AdminDep = Annotated[bool, Depends(is_admin)]


def require_admin(settings: SettingsDep, admin: AdminDep) -> None:
    """The admin key (see :func:`is_admin`). Without a key in the settings the admin API does
    not exist (404)."""
    if settings.admin_api_key is None:
        raise ApiError(404, "not_found")
    if not admin:
        raise ApiError(401, "unauthorized", headers={"WWW-Authenticate": "Bearer"})
