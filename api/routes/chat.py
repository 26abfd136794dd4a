"""``POST /api/chat`` and its streamed twin ``POST /api/chat/stream`` (Server-Sent Events)."""

from __future__ import annotations

import json

from fastapi import APIRouter
from sse_starlette.sse import EventSourceResponse

from api.deps import ServiceDep
from cancerassist.models import ChatRequest, ChatResponse

router = APIRouter(prefix="/api", tags=["chat"])


@router.post("/chat", response_model=ChatResponse)
def chat(request: ChatRequest, service: ServiceDep) -> ChatResponse:
    """Answer the last user message of the conversation, with citations."""
    return service.run(request)


@router.post(
    "/chat/stream",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "delta…, citations, done"}
    },
)
def chat_stream(request: ChatRequest, service: ServiceDep) -> EventSourceResponse:
    """The same answer as ``/api/chat`` as events: ``delta`` (text), ``citations``, ``done``
    (the whole ChatResponse)."""
    events = (
        {"event": name, "data": json.dumps(data, ensure_ascii=False)}
        for name, data in service.stream(request)
    )
    return EventSourceResponse(events)
