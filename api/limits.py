"""Request limits and the one shape every error takes.

Errors are JSON, ``{"error": {"code", "message", "details"?}}``, with the message in the
language the client asks for (``Accept-Language``), and never a stack trace. The middleware, from
the outside in:

- :class:`RequestLog`: a request id and one access-log line for every request, refusals included;
  a header that is not UTF-8 is a 400 here, and an unexpected exception a 500 in the one shape;
- CORS (so that the widget can read a refusal);
- :class:`RateLimit`: a token bucket per client address and per kind of work (chat, search,
  admin), announced in ``X-RateLimit-*`` headers;
- :class:`Timeout`: the request's deadline, which the work itself checks (see
  :mod:`cancerassist.deadline`), 504 when no response has started by then, and a stream cut
  when it runs past it;
- :class:`BodyLimit`: counts the bytes actually received, so a missing or false
  ``Content-Length`` does not get around it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import math
import threading
import time
import uuid
from collections import OrderedDict
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cancerassist.answer import Prompts
from cancerassist.config import Settings
from cancerassist.deadline import DeadlineExceededError, deadline_in
from cancerassist.models import Language

# Which bucket a path draws on. Every route that computes something is in one; what is left
# (health, the widget's static files, the API description) costs a file read at most.
_BUCKETS = (
    ("/api/chat", "chat"),
    ("/api/feedback", "chat"),
    ("/v1/chat/completions", "chat"),
    ("/api/search", "search"),
    ("/api/facts", "search"),
    ("/api/documents", "search"),
    ("/api/admin", "admin"),
)
# A streamed answer that has not ended this long after its deadline is waiting on a client that
# does not read: the connection is closed.
STREAM_GRACE_S = 5.0
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
    400: "Body is not valid JSON, or a header is not UTF-8",
    401: "Missing or invalid admin key",
    404: "Not found",
    409: "Conflict with work in progress",
    413: "Request body too large",
    422: "Invalid request",
    429: "Rate limit reached (see Retry-After)",
    500: "Internal error",
    503: "Storage failing, or too many connections",
    504: "The response did not start in time",
    507: "Storage full: nothing was stored",
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
    """A raw ASGI request's headers, by lower-case name. Latin-1 reads any byte (as Starlette
    does): a header that is not UTF-8 is refused by :class:`RequestLog`, not a crash here."""
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


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


class RequestLog:
    """Outermost: gives every request an ``X-Request-ID`` and writes its access-log line, whatever
    answered it (a refusal, a timeout, a crash). Refuses a request whose headers are not UTF-8
    with 400, and answers an exception that escaped the routes with 500 in the one shape, so the
    kept-alive connection stays usable for the client's next request."""

    def __init__(self, app: ASGIApp, prompts: Prompts) -> None:
        self.app, self.prompts = app, prompts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex[:12]
        started = time.perf_counter()
        status = 0

        async def stamp(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            bad = _non_utf8_header(scope)
            if bad is not None:
                language = client_language(_headers(scope))
                body = error_body(self.prompts, language, "malformed_header", header=bad)
                await JSONResponse(body, status_code=400)(scope, receive, stamp)
            else:
                await self.app(scope, receive, stamp)
        except Exception:
            access_log.exception("%s unhandled error", request_id)
            if status == 0:
                language = client_language(_headers(scope))
                body = error_body(self.prompts, language, "internal_error")
                await JSONResponse(body, status_code=500)(scope, receive, stamp)
        finally:
            access_log.info(
                "%s %s %s %s %.1fms",
                request_id,
                scope["method"],
                printable(scope["path"]),
                status or "-",
                (time.perf_counter() - started) * 1000,
            )


def _non_utf8_header(scope: Scope) -> str | None:
    """The name of the first header whose value is not UTF-8, if any."""
    for name, value in scope["headers"]:
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            return printable(name.decode("latin-1"))
    return None


def printable(text: str) -> str:
    """``text`` with control characters escaped: a path or header is never a forged log line."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


class Timeout:
    """Gives the request its deadline (``seconds`` from now) and answers 504 when no response
    has started by then. The work checks the same deadline and stops; a stream that started in
    time ends at the deadline with an error event (see the chat routes), and one still running
    :data:`STREAM_GRACE_S` later (a client that does not read) is cut."""

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

        # The handler's task copies this context: the routes, the thread pool and the embedding
        # thread all see the deadline.
        with deadline_in(self.seconds):
            handler = asyncio.ensure_future(self.app(scope, receive, watch))
        waiter = asyncio.ensure_future(started.wait())
        await asyncio.wait({handler, waiter}, timeout=self.seconds, return_when="FIRST_COMPLETED")
        waiter.cancel()
        if started.is_set() and not handler.done():
            await asyncio.wait({handler}, timeout=self.seconds + STREAM_GRACE_S)
        if handler.done():
            await handler
            return
        handler.cancel()
        if started.is_set():
            access_log.warning("stream cut %.0f s after its deadline", STREAM_GRACE_S)
            return
        await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        seconds = f"{self.seconds:g}"
        body = error_body(
            self.prompts, client_language(_headers(scope)), "timeout", seconds=seconds
        )
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
    """A token bucket per client: ``per_minute`` requests, refilled continuously.

    The buckets are kept in least-recently-used order and the oldest is forgotten past
    ``capacity`` clients, so a call costs the same with a hundred clients or a million (a full
    scan of the buckets cost 12 ms a call under the lock past 100,000 of them). A client forgotten
    that way had not asked anything for longer than every other one, so its bucket was full."""

    def __init__(self, per_minute: int, capacity: int = 100_000) -> None:
        self.per_minute = per_minute
        self.capacity = capacity
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str) -> tuple[bool, int, float]:
        """(allowed, tokens left, seconds until a token is back)."""
        rate = self.per_minute / 60.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.pop(client, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * rate)
            allowed = tokens >= 1
            if allowed:
                tokens -= 1
            self._buckets[client] = (tokens, now)
            if len(self._buckets) > self.capacity:
                self._buckets.popitem(last=False)
        wait = 0.0 if tokens >= 1 else (1 - tokens) / rate
        return allowed, int(tokens), wait


def client_key(host: str) -> str:
    """Whom a bucket counts: the address, or its /64 network for IPv6, since one host is given a
    whole /64 and would otherwise have 2**64 buckets."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class RateLimit:
    """Refuses with 429 a client that has used its quota of the kind of work a path does
    (``limits``: bucket name → requests a minute; 0 or absent: unlimited)."""

    def __init__(self, app: ASGIApp, limits: dict[str, int], prompts: Prompts) -> None:
        self.app, self.prompts = app, prompts
        self.limiters = {name: RateLimiter(n) for name, n in limits.items() if n > 0}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limiter = self._limiter(scope)
        if limiter is None:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        allowed, left, wait = limiter.take(client_key(client[0]) if client else "unknown")
        headers = {
            "X-RateLimit-Limit": str(limiter.per_minute),
            "X-RateLimit-Remaining": str(left),
            "X-RateLimit-Reset": str(math.ceil(wait)),
        }
        if not allowed:
            retry = str(max(1, math.ceil(wait)))
            language = client_language(_headers(scope))
            body = error_body(self.prompts, language, "rate_limited", seconds=retry)
            response = JSONResponse(
                body, status_code=429, headers={**headers, "Retry-After": retry}
            )
            await response(scope, receive, send)
            return
        extra = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

        async def announce(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, announce)

    def _limiter(self, scope: Scope) -> RateLimiter | None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            return None
        path = scope["path"]
        for prefix, name in _BUCKETS:
            if path == prefix or path.startswith(prefix + "/"):
                return self.limiters.get(name)
        return None


def install(app: FastAPI, settings: Settings, prompts: Prompts) -> None:
    """Error handlers and the middleware stack (see the module's docstring for its order)."""

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

    @app.exception_handler(DeadlineExceededError)
    async def late(request: Request, exc: DeadlineExceededError) -> JSONResponse:
        return JSONResponse(late_error(prompts, request.headers, exc), status_code=504)

    # Starlette adds each middleware outside the ones before it: innermost first.
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, prompts=prompts)
    # Outside the body limit: a client that sends its body slowly runs into the timeout too.
    app.add_middleware(Timeout, seconds=settings.request_timeout_s, prompts=prompts)
    limits = {
        "chat": settings.rate_limit_per_minute,
        "search": settings.search_rate_limit_per_minute,
        "admin": settings.admin_rate_limit_per_minute,
    }
    app.add_middleware(RateLimit, limits=limits, prompts=prompts)
    # Outside the rate limit: refusals (413, 429) carry CORS headers the widget can read.
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
            "X-Request-ID",
        ],
    )
    app.add_middleware(RequestLog, prompts=prompts)


def late_error(prompts: Prompts, headers: Any, exc: DeadlineExceededError) -> dict[str, Any]:
    """The error body of a request whose deadline passed: a 504's, or a stream's last event."""
    seconds = f"{exc.seconds:g}"
    return error_body(prompts, client_language(headers), "timeout", seconds=seconds)
