"""How uvicorn serves the app: the options ``cancerassist serve`` and the test servers share,
the HTTP protocol they use, and the logging that keeps a flood of errors from filling a disk."""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import socket
import time
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from cancerassist.config import Settings, get_settings

# File descriptors kept for what the process opens besides connections (index files, the
# feedback database, a re-index's pipes, logs): past ``limit - _SPARE_FDS`` connections a new
# one is refused, so the process never runs out and can still answer the connections it holds.
_SPARE_FDS = 32


def server_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` or ``uvicorn.Config``."""
    trusted = settings.forwarded_allow_ips.strip()
    return {
        "http": "api.server:GuardedH11Protocol",
        "timeout_keep_alive": settings.keep_alive_s,
        # uvicorn's access log would print query strings (questions); ours logs path and status.
        "access_log": False,
        # uvicorn believes X-Forwarded-For from 127.0.0.1 by default: any local client could
        # then choose the address the rate limit counts. Only from proxies named in the settings.
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted or None,
    }


def connection_limit(settings: Settings) -> int:
    """Connections a process accepts at once: the setting, within its file-descriptor limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return settings.max_connections
    return max(1, min(settings.max_connections, soft - _SPARE_FDS))


# Sent, before any request is read, to a connection over the limit; the language is not known
# yet, so both. The body is the API's one error shape.
_BUSY = json.dumps(
    {
        "error": {
            "code": "overloaded",
            "message": "Service saturé : réessayez dans un instant. / "
            "Service busy: try again in a moment.",
        }
    },
    ensure_ascii=False,
).encode()
_BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
    b"retry-after: 1\r\nconnection: close\r\ncontent-length: "
    + str(len(_BUSY)).encode()
    + b"\r\n\r\n"
    + _BUSY
)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with three guards for connections that cost without asking:

    - a request's headers must all arrive within ``header_timeout_s`` of its first byte (or of
      the connection's opening): uvicorn closes idle kept-alive connections but waits forever
      for a connection that sends nothing, or one header byte at a time;
    - past :func:`connection_limit` open connections a new one gets a 503 and is closed at
      once, rather than the process running out of file descriptors and answering nobody;
    - Nagle's algorithm off: with several workers uvicorn binds the listening socket itself
      without ``IPPROTO_TCP``, so asyncio leaves ``TCP_NODELAY`` off on accepted connections and
      every keep-alive response waits for the client's delayed ACK (Kludex/uvicorn#3149): 44 ms
      per request instead of 1.6 ms with 2 workers on this machine.

    The limits are read from the settings of the process (its environment), as the workers of
    ``cancerassist serve --workers N`` read them."""

    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
        settings = get_settings()
        if len(self.connections) > connection_limit(settings):
            throttled_warning("connection refused: %d open connections", len(self.connections))
            transport.write(_BUSY_RESPONSE)
            transport.close()
            return
        self._await_head()

    def data_received(self, data: bytes) -> None:
        if self._head_timer is None and self._between_requests():
            self._await_head()
        super().data_received(data)
        if not self._between_requests():
            self._cancel_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _between_requests(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _await_head(self) -> None:
        timeout = get_settings().header_timeout_s
        self._head_timer = self.loop.call_later(timeout, self._head_too_slow)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self._between_requests() and not self.transport.is_closing():
            self.transport.close()


class ThrottledLog(logging.Filter):
    """Lets through ``burst`` records of one kind (logger and message template) a minute and
    drops the rest, saying how many on the next one let through: a client that provokes an
    error on every request, or a process out of file descriptors, must not write megabytes of
    tracebacks a second."""

    def __init__(self, burst: int = 10, window_s: float = 60.0) -> None:
        super().__init__()
        self.burst, self.window_s = burst, window_s
        self._seen: dict[tuple[str, str], tuple[float, int, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = time.monotonic()
        start, count, dropped = self._seen.get(key, (now, 0, 0))
        if now - start > self.window_s:
            start, count = now, 0
        count += 1
        if count > self.burst:
            self._seen[key] = (start, count, dropped + 1)
            return False
        if dropped:
            record.msg = f"{record.msg} ({dropped} similar messages dropped)"
        self._seen[key] = (start, count, 0)
        if len(self._seen) > 10_000:  # kinds are few; this bounds a flood of distinct ones
            self._seen.clear()
        return True


_warnings = logging.getLogger("cancerassist.server")


def throttled_warning(message: str, *args: Any) -> None:
    _warnings.warning(message, *args)


def log_config(base: dict[str, Any]) -> dict[str, Any]:
    """uvicorn's logging configuration ``base`` with our loggers, every handler throttled, and
    the root logger (asyncio's errors) on the same handler."""
    config: dict[str, Any] = json.loads(json.dumps(base))
    config["filters"] = {**config.get("filters", {}), "throttle": {"()": ThrottledLog}}
    for handler in config["handlers"].values():
        handler["filters"] = [*handler.get("filters", []), "throttle"]
    config["loggers"]["cancerassist"] = {
        "handlers": ["default"],
        "level": "INFO",
        "propagate": False,
    }
    config["root"] = {"handlers": ["default"], "level": "WARNING"}
    return config
