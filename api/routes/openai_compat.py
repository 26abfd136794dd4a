"""``POST /v1/chat/completions``: the assistant behind the OpenAI chat API, so any OpenAI client
can use it. Citations travel in an extra ``citations`` field and, for clients that ignore it, as
a "Sources:" line after the answer."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, StrictBool, ValidationError

from api.deps import ServiceDep
from api.limits import late_error
from cancerassist.deadline import DeadlineExceededError
from cancerassist.models import (
    MAX_MESSAGE_CHARS,
    MAX_MESSAGES,
    ChatRequest,
    ChatResponse,
)

router = APIRouter(prefix="/v1", tags=["openai"])
MODEL = "cancerassist"


class OpenAIMessage(BaseModel):
    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return " ".join(
                str(part.get("text", "")) for part in self.content if part.get("type") == "text"
            )
        return self.content or ""


class CompletionRequest(BaseModel):
    model: str = Field(default=MODEL, max_length=200)
    messages: list[OpenAIMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    # Strict: the schema says boolean, so 0 or "yes" is a 422, not a guess (found by
    # schemathesis: `"stream": 0` was accepted).
    stream: StrictBool = False
    language: Literal["fr", "en"] | None = None


def _to_chat(request: CompletionRequest) -> ChatRequest:
    # System prompts are the client's, not ours: the assistant keeps its own rules.
    messages = [
        {"role": m.role, "content": m.text()[:MAX_MESSAGE_CHARS]}
        for m in request.messages
        if m.role in ("user", "assistant") and m.text().strip()
    ]
    try:
        return ChatRequest.model_validate({"messages": messages, "language": request.language})
    except ValidationError as exc:  # what is left of the conversation is not a question
        raise RequestValidationError(exc.errors(include_url=False)) from exc


def sources_line(response: ChatResponse) -> str:
    if not response.citations:
        return ""
    cited = "; ".join(
        dict.fromkeys(
            f"{c.title} › {c.section}".rstrip(" ›") + (f", p. {c.page}" if c.page else "")
            for c in response.citations
        )
    )
    return f"\n\nSources: {cited}"


# Answers are plain text, but OpenAI chat clients render what they get as Markdown with HTML:
# characters that would make markup or a link out of a document's words are escaped, one by one
# so that a tag cut across two streamed deltas is escaped all the same.
_MARKDOWN_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "[": "\\[", "]": "\\]"})


def markdown_safe(text: str) -> str:
    """``text`` as Markdown that shows it as written: no raw HTML, no link, no image."""
    return text.translate(_MARKDOWN_ESCAPES)


def _completion(response: ChatResponse, model: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{response.message_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": markdown_safe(response.answer + sources_line(response)),
                },
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "citations": [c.model_dump() for c in response.citations],
        "conflicts": [c.model_dump() for c in response.conflicts],
        "status": response.status,
        "language": response.language,
    }


@router.post(
    "/chat/completions",
    responses={
        200: {
            "content": {"application/json": {}, "text/event-stream": {}},
            "description": "A chat.completion, or chat.completion.chunk events with stream=true",
        }
    },
)
def chat_completions(request: CompletionRequest, service: ServiceDep, http: Request) -> Any:
    chat_request = _to_chat(request)
    if not request.stream:
        return _completion(service.run(chat_request), request.model)
    return StreamingResponse(
        _stream_in_time(service, chat_request, request.model, http.headers),
        media_type="text/event-stream",
    )


def _stream_in_time(service: Any, request: ChatRequest, model: str, headers: Any) -> Iterator[str]:
    """:func:`_stream`, ended by an ``error`` object (OpenAI's streamed error) when the request's
    time runs out."""
    try:
        yield from _stream(service, request, model)
    except DeadlineExceededError as exc:
        yield _sse(late_error(service.prompts, headers, exc))
        yield "data: [DONE]\n\n"


def _stream(service: Any, request: ChatRequest, model: str) -> Iterator[str]:
    created = int(time.time())
    response: ChatResponse | None = None
    chunk_id = "chatcmpl-pending"
    for event, data in service.stream(request):
        if event == "delta":
            yield _sse(
                {
                    "id": chunk_id,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "delta": {"role": "assistant", "content": markdown_safe(data["text"])},
                            "finish_reason": None,
                        }
                    ],
                }
            )
        elif event == "done":
            response = ChatResponse.model_validate(data)
    assert response is not None
    tail = sources_line(response)
    final: dict[str, Any] = {
        "id": f"chatcmpl-{response.message_id}",
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "delta": {"content": markdown_safe(tail)} if tail else {},
                "finish_reason": "stop",
            }
        ],
        "citations": [c.model_dump() for c in response.citations],
        "conflicts": [c.model_dump() for c in response.conflicts],
    }
    yield _sse(final)
    yield "data: [DONE]\n\n"


def _sse(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


@router.get("/models")
def models() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": MODEL, "object": "model", "owned_by": "cancerassist"}],
    }
