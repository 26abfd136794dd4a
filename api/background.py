"""Real servers on a free 127.0.0.1 port, for tests and benchmarks: an app under uvicorn in a
background thread, or ``cancerassist serve`` in its own process, as deployed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx
import uvicorn
from fastapi import FastAPI

from api.server import server_options
from cancerassist.config import Settings


def closed_by_peer(sock: socket.socket) -> bool:
    """Whether the other end has closed ``sock``, without waiting (it is left non-blocking)."""
    sock.setblocking(False)
    try:
        return sock.recv(1024) == b""
    except BlockingIOError:
        return False
    except OSError:  # reset
        return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serving(
    app: FastAPI, settings: Settings | None = None, timeout_s: float = 120
) -> Iterator[str]:
    """``app`` served for the duration of the block as ``cancerassist serve`` would with
    ``settings``; yields its base URL."""
    port = free_port()
    options = server_options(settings or Settings())
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def serve_process(
    env: dict[str, str],
    workers: int = 1,
    *,
    output: IO[Any] | int = subprocess.DEVNULL,
    timeout_s: float = 180,
    prefix: Sequence[str] = (),
    cwd: Path | None = None,
) -> Iterator[str]:
    """``cancerassist serve`` in its own process, ``env`` added to this process's environment,
    its output to ``output``, started through ``prefix`` (``prlimit --nofile=64`` to lower a
    limit, say) in ``cwd`` (another checkout, whose packages come first); yields the base URL
    once ``/readyz`` answers."""
    port = free_port()
    command = ["cancerassist", "serve", "--port", str(port), "--workers", str(workers)]
    process = subprocess.Popen(
        [*prefix, sys.executable, "-m", *command],
        stdout=output,
        stderr=subprocess.STDOUT,
        env={**os.environ, **env},
        cwd=cwd,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"cancerassist serve did not start (exit {process.poll()})")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
