"""How uvicorn serves the app: the options ``cancerassist serve`` and the test servers share,
and the HTTP protocol they use."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from cancerassist.config import Settings


def server_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` or ``uvicorn.Config``."""
    return {
        "http": "api.server:NoDelayH11Protocol",
        "timeout_keep_alive": settings.keep_alive_s,
        # uvicorn's access log would print query strings (questions); ours logs path and status.
        "access_log": False,
    }


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with Nagle's algorithm off on every connection.

    With several workers uvicorn binds the listening socket itself without ``IPPROTO_TCP``, so
    asyncio leaves ``TCP_NODELAY`` off on accepted connections and every keep-alive response
    waits for the client's delayed ACK (Kludex/uvicorn#3149): 44 ms per request instead of
    1.6 ms with 2 workers on this machine.
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
