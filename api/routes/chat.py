"""``POST /api/chat`` and its streamed twin ``POST /api/chat/stream`` (Server-Sent Events)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from fastapi import APIRouter, Request
from sse_starlette.sse import EventSourceResponse

from api.deps import ServiceDep, SignerDep
from api.limits import late_error
from cancerassist.deadline import DeadlineExceededError
from cancerassist.models import ChatRequest, ChatResponse

router = APIRouter(prefix="/api", tags=["chat"])


@router.post("/chat", response_model=ChatResponse)
def chat(request: ChatRequest, service: ServiceDep, signer: SignerDep) -> ChatResponse:
    """Answer the last user message of the conversation, with citations. Its ``message_id``
    is signed: feedback may rate it, from any worker."""
    response = service.run(request)
    response.message_id = signer.sign(response.message_id)
    return response


@router.post(
    "/chat/stream",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "delta…, citations, done"}
    },
)
def chat_stream(
    request: ChatRequest, service: ServiceDep, signer: SignerDep, http: Request
) -> EventSourceResponse:
    """The same answer as ``/api/chat`` as events: ``delta`` (text), ``citations``, ``done``
    (the whole ChatResponse); or, when the request's time runs out, ``error`` (the 504's body)
    as the last event."""

    def events() -> Iterator[dict[str, str]]:
        try:
            for name, data in service.stream(request):
                if name == "done":
                    data["message_id"] = signer.sign(data["message_id"])
                yield {"event": name, "data": json.dumps(data, ensure_ascii=False)}
        except DeadlineExceededError as exc:
            late = late_error(service.prompts, http.headers, exc)
            yield {"event": "error", "data": json.dumps(late, ensure_ascii=False)}

    return EventSourceResponse(events())
