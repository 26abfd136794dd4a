"""Typed dependencies: what a route needs, loaded once per process by the app's lifespan."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from cancerassist.chat import ChatService
from cancerassist.config import Settings
from cancerassist.feedback import FeedbackStore


def get_service(request: Request) -> ChatService:
    service: ChatService = request.app.state.service
    return service


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_feedback(request: Request) -> FeedbackStore:
    store: FeedbackStore = request.app.state.feedback
    return store


ServiceDep = Annotated[ChatService, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
FeedbackDep = Annotated[FeedbackStore, Depends(get_feedback)]
