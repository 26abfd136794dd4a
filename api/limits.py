"""Request limits and the one shape every error takes.

Errors are JSON, ``{"error": {"code", "message", "details"?}}``, with the message in the
language the client asks for (``Accept-Language``), and never a stack trace. The body-size limit
counts the bytes actually received, so a missing or false ``Content-Length`` does not get around
it; the rate limit is a token bucket per client address, announced in ``X-RateLimit-*`` headers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cancerassist.answer import Prompts
from cancerassist.models import Language

LIMITED_PATHS = ("/api/chat", "/api/feedback", "/v1/chat/completions")
# One line per request: id, method, path, status, duration. Never the query string or the body:
# questions are personal and stay out of the logs.
access_log = logging.getLogger("cancerassist.access")


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable identifier of the error, e.g. rate_limited")
    message: str = Field(description="For people, in the client's language (Accept-Language)")
    details: Any = Field(default=None, description="Which fields were invalid, when relevant")


class ErrorBody(BaseModel):
    error: ErrorDetail


_MEANINGS = {
    400: "Body is not valid JSON",
    401: "Missing or invalid admin key",
    404: "Not found",
    409: "Conflict with work in progress",
    413: "Request body too large",
    422: "Invalid request",
    429: "Rate limit reached (see Retry-After)",
    500: "Internal error",
    504: "The response did not start in time",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for these error statuses, all in the one error shape."""
    return {code: {"model": ErrorBody, "description": _MEANINGS[code]} for code in codes}


# What any operation may answer: the limits apply to every request.
COMMON_ERRORS = error_responses(400, 413, 422, 429, 500, 504)


def client_language(headers: Any) -> Language:
    accepted = (headers.get("accept-language") or "fr").lower()
    return "en" if accepted.startswith("en") else "fr"


def _headers(scope: Scope) -> dict[str, str]:
    """A raw ASGI request's headers, by lower-case name."""
    return {k.decode().lower(): v.decode() for k, v in scope["headers"]}


def error_body(
    prompts: Prompts, language: Language, code: str, details: Any = None, **values: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "message": prompts.say(language, f"errors.{code}", **values),
    }
    if details is not None:
        body["details"] = details
    return {"error": body}


class ApiError(StarletteHTTPException):
    """An error a route raises on purpose, answered in the shared shape under ``code`` with the
    message ``errors.<code>`` of the prompts."""

    def __init__(
        self, status_code: int, code: str, headers: dict[str, str] | None = None, **values: Any
    ) -> None:
        super().__init__(status_code, headers=headers)
        self.code, self.values = code, values


class Timeout:
    """Answers 504 when a response has not started within ``seconds``. A stream that has
    started runs on: its first event came in time."""

    def __init__(self, app: ASGIApp, seconds: float, prompts: Prompts) -> None:
        self.app, self.seconds, self.prompts = app, seconds, prompts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = asyncio.Event()

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.set()
            await send(message)

        handler = asyncio.ensure_future(self.app(scope, receive, watch))
        waiter = asyncio.ensure_future(started.wait())
        await asyncio.wait({handler, waiter}, timeout=self.seconds, return_when="FIRST_COMPLETED")
        waiter.cancel()
        if handler.done() or started.is_set():
            await handler
            return
        # The work in the thread pool cannot be interrupted; its result is dropped.
        handler.cancel()
        headers = _headers(scope)
        seconds = f"{self.seconds:g}"
        body = error_body(self.prompts, client_language(headers), "timeout", seconds=seconds)
        await JSONResponse(body, status_code=504)(scope, _no_receive, send)


class BodyLimit:
    """Refuses a request body larger than ``limit`` bytes with 413, whatever its headers say."""

    def __init__(self, app: ASGIApp, limit: int, prompts: Prompts) -> None:
        self.app, self.limit, self.prompts = app, limit, prompts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, send, headers)
            return
        chunks: list[bytes] = []
        received = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.limit:
                await self._refuse(scope, send, headers)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send, headers: dict[str, str]) -> None:
        language = client_language(headers)
        body = error_body(self.prompts, language, "payload_too_large", limit=self.limit)
        response = JSONResponse(body, status_code=413, headers={"Connection": "close"})
        await response(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


class RateLimiter:
    """A token bucket per client: ``per_minute`` requests, refilled continuously."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str) -> tuple[bool, int, float]:
        """(allowed, tokens left, seconds until a token is back)."""
        rate = self.per_minute / 60.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(client, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * rate)
            allowed = tokens >= 1
            if allowed:
                tokens -= 1
            self._buckets[client] = (tokens, now)
            if len(self._buckets) > 100_000:  # forget idle clients rather than grow without bound
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 120}
        wait = 0.0 if tokens >= 1 else (1 - tokens) / rate
        return allowed, int(tokens), wait


def install(
    app: FastAPI,
    prompts: Prompts,
    max_body_bytes: int,
    rate_limit_per_minute: int,
    timeout_s: float,
) -> None:
    """Error handlers, the body limit, the rate limit and the timeout, on ``app``."""
    limiter = RateLimiter(rate_limit_per_minute) if rate_limit_per_minute else None

    @app.middleware("http")
    async def log_request(request: Request, call_next: Any) -> Any:
        request_id = uuid.uuid4().hex[:12]
        started = time.perf_counter()
        response = await call_next(request)
        response.headers["X-Request-ID"] = request_id
        elapsed = (time.perf_counter() - started) * 1000
        access_log.info(
            "%s %s %s %d %.1fms",
            request_id,
            request.method,
            request.url.path,
            response.status_code,
            elapsed,
        )
        return response

    @app.middleware("http")
    async def rate_limit(request: Request, call_next: Any) -> Any:
        if (
            limiter is None
            or request.method != "POST"
            or not request.url.path.startswith(LIMITED_PATHS)
        ):
            return await call_next(request)
        allowed, left, wait = limiter.take(request.client.host if request.client else "unknown")
        headers = {
            "X-RateLimit-Limit": str(limiter.per_minute),
            "X-RateLimit-Remaining": str(left),
            "X-RateLimit-Reset": str(math.ceil(wait)),
        }
        if not allowed:
            retry = str(max(1, math.ceil(wait)))
            body = error_body(
                prompts, client_language(request.headers), "rate_limited", seconds=retry
            )
            return JSONResponse(body, status_code=429, headers={**headers, "Retry-After": retry})
        response = await call_next(request)
        response.headers.update(headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"location": list(e.get("loc", ())), "problem": e.get("msg", "")} for e in exc.errors()
        ]
        body = error_body(
            prompts, client_language(request.headers), "invalid_request", details=details
        )
        return JSONResponse(json.loads(json.dumps(body, default=str)), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        language = client_language(request.headers)
        if isinstance(exc, ApiError):
            body = error_body(prompts, language, exc.code, **exc.values)
        else:
            codes = {400: "malformed_body", 404: "not_found", 405: "method_not_allowed"}
            code = codes.get(exc.status_code, "http_error")
            body = error_body(prompts, language, code, details=exc.detail)
        return JSONResponse(
            body, status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            error_body(prompts, client_language(request.headers), "internal_error"), status_code=500
        )

    app.add_middleware(BodyLimit, limit=max_body_bytes, prompts=prompts)
    # Outside the body limit: a client that sends its body slowly runs into the timeout too.
    app.add_middleware(Timeout, seconds=timeout_s, prompts=prompts)
