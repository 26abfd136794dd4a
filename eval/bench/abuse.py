"""What one abusive client can take from a served instance, measured in one run (issue 14):

- CPU-seconds one client (one address, 4 connections) takes per minute with 2,000-character
  questions of rare words, on chat and on search, with the default limits and without them;
- CPU-seconds the server still spends after its 504s (a burst of heavy questions, 2 s deadline);
- sockets still open after the header timeout (silent and dribbling connections);
- requests lost on connections that sent a non-UTF-8 header first;
- the rate limiter's cost per call with 1,000 and 200,000 clients, ours beside the session-start
  implementation (read from git) in the same run.

The server's CPU time is read from ``/proc/<pid>/stat``. Run with ``make bench-abuse``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import string
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from api.background import closed_by_peer, serve_process
from api.limits import RateLimiter
from common import ROOT, emit, header, percentiles

BASELINE_COMMIT = "d517b5e"


def rare_question(rng: random.Random) -> str:
    words = (
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 9)))
        for _ in range(400)
    )
    return " ".join(words)[:2000]


def server_pid(url: str) -> int:
    port = urlsplit(url).port
    ss = ["ss", "-ltnpH", f"sport = :{port}"]
    out = subprocess.run(ss, capture_output=True, text=True, check=True)
    return int(out.stdout.split("pid=")[1].split(",")[0])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def served(code: Path | None = None, **settings: str) -> Iterator[tuple[str, int]]:
    """``cancerassist serve`` with ``settings``, from this checkout or from ``code`` (another
    checkout, imported first)."""
    env = {f"CANCERASSIST_{k.upper()}": v for k, v in settings.items()}
    env["CANCERASSIST_DATA_DIR"] = str(ROOT / ".bench-abuse-data")
    env["CANCERASSIST_INDEX_DIR"] = str(ROOT / "indexes")
    if code is not None:
        env["PYTHONPATH"] = f"{code / 'src'}:{code}"
    with serve_process(env, cwd=code) as url:
        yield url, server_pid(url)


@contextmanager
def baseline_checkout() -> Iterator[Path]:
    """The session-start code in a temporary git worktree."""
    path = ROOT / ".bench-abuse-baseline"
    subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, check=False)
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(path), BASELINE_COMMIT],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield path
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, check=False)


def flood(
    url: str, pid: int, send: Callable[[httpx.Client, str], int], seconds: float
) -> dict[str, Any]:
    """One client, 4 connections, heavy requests for ``seconds``: CPU taken, statuses."""
    rng = random.Random(11)
    stop = time.monotonic() + seconds
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def connection() -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            while time.monotonic() < stop:
                with lock:
                    question = rare_question(rng)
                status = send(http, question)
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                if status == 429:
                    time.sleep(0.05)

    before = cpu_seconds(pid)
    threads = [threading.Thread(target=connection) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"cpu_per_min": (cpu_seconds(pid) - before) * 60 / seconds, "statuses": statuses}


def ask(http: httpx.Client, question: str) -> int:
    body = {"messages": [{"role": "user", "content": question}]}
    return http.post("/api/chat", json=body).status_code


def search(http: httpx.Client, question: str) -> int:
    return http.get("/api/search", params={"q": question, "k": 50}).status_code


def work_after_timeouts() -> dict[str, Any]:
    """40 heavy questions at once under a 1 s deadline: CPU spent once every reply is in."""
    with served(
        rate_limit_per_minute="0", request_timeout_s="1", search_rate_limit_per_minute="0"
    ) as (url, pid):
        rng = random.Random(5)
        questions = [rare_question(rng) for _ in range(40)]
        statuses: list[int] = []

        def one(question: str) -> None:
            with httpx.Client(base_url=url, timeout=60) as http:
                statuses.append(ask(http, question))

        threads = [threading.Thread(target=one, args=(q,)) for q in questions]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        before = cpu_seconds(pid)
        time.sleep(10)
        return {"after": cpu_seconds(pid) - before, "504": statuses.count(504), "n": len(statuses)}


def idle_sockets() -> dict[str, Any]:
    """200 silent and 50 dribbling connections; how many are open after the header timeout."""
    with served(header_timeout_s="5") as (url, _):
        host, port = urlsplit(url).hostname or "", urlsplit(url).port or 0
        silent = [socket.create_connection((host, port)) for _ in range(200)]
        dribbling = [socket.create_connection((host, port)) for _ in range(50)]
        deadline = time.monotonic() + 7
        while time.monotonic() < deadline:
            for sock in dribbling:
                with suppress(OSError):
                    sock.send(b"G")
            time.sleep(0.5)
        still = sum(not closed_by_peer(s) for s in silent + dribbling)
        for sock in silent + dribbling:
            sock.close()
        return {"opened": 250, "open_after": still}


def malformed_headers() -> dict[str, Any]:
    """50 connections: a POST with a non-UTF-8 header, then a GET on the same connection."""
    lost = 0
    with served() as (url, _):
        host, port = urlsplit(url).hostname or "", urlsplit(url).port or 0
        body = json.dumps({"messages": [{"role": "user", "content": "ECRIN ?"}]}).encode()
        for _ in range(50):
            with socket.create_connection((host, port), timeout=10) as sock:
                sock.sendall(
                    b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"X-Note: caf\xe9\r\nContent-Length: "
                    + str(len(body)).encode()
                    + b"\r\n\r\n"
                    + body
                    + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                )
                data = b""
                try:
                    while data.count(b"HTTP/1.1 ") < 2 or not data.endswith(b'{"status":"ok"}'):
                        chunk = sock.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                except TimeoutError:
                    pass
                lost += not data.endswith(b'{"status":"ok"}')
    return {"connections": 50, "lost": lost}


def baseline_limiter() -> type:
    """The session-start RateLimiter, read from git."""
    source = subprocess.run(
        ["git", "show", f"{BASELINE_COMMIT}:api/limits.py"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout  # fmt: skip
    module = types.ModuleType("baseline_limits")
    sys.modules[module.__name__] = module
    exec(compile(source, "baseline_limits.py", "exec"), module.__dict__)
    limiter: type = module.RateLimiter
    return limiter


def limiter_cost(limiter_class: type, clients: int) -> tuple[float, float]:
    """µs per call (p50, p95) for 300 new clients once ``clients`` are known, all recent (the
    session-start limiter scanned its buckets on each call past 100,000)."""
    limiter = limiter_class(60)
    for i in range(clients):
        limiter.take(f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}")
    times = []
    for i in range(300):
        started = time.perf_counter()
        limiter.take(f"client-{i}")
        times.append((time.perf_counter() - started) * 1e6)
    p50, p95, _ = percentiles(times)
    return p50, p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60, help="Length of each flood")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    lines = header("Abuse benchmark (issue 14)", "make bench-abuse")
    lines += [
        "## CPU one client takes (4 connections, 2,000-character questions of rare words)",
        "",
        "| endpoint | server | CPU-seconds per minute | responses |",
        "|---|---|---|---|",
    ]
    off = {"rate_limit_per_minute": "0", "search_rate_limit_per_minute": "0"}
    with baseline_checkout() as baseline:
        runs = [
            ("ours, default limits", None, {}),
            ("ours, limits off", None, off),
            (f"session start ({BASELINE_COMMIT}), default limits", baseline, {}),
        ]
        for label, code, settings in runs:
            with served(code, **settings) as (url, pid):
                for name, send in (("POST /api/chat", ask), ("GET /api/search", search)):
                    result = flood(url, pid, send, args.seconds)
                    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(result["statuses"].items()))
                    lines.append(f"| {name} | {label} | {result['cpu_per_min']:.1f} | {statuses} |")
    after = work_after_timeouts()
    sockets = idle_sockets()
    malformed = malformed_headers()
    lines += [
        "",
        "## Work, sockets and connections",
        "",
        f"- CPU-seconds spent in the 10 s after the last reply of 40 heavy questions sent at "
        f"once under a 1 s deadline ({after['504']} of {after['n']} answered 504): "
        f"**{after['after']:.2f}**",
        f"- sockets still open 7 s after opening {sockets['opened']} (200 silent, 50 sending a "
        f"byte every 0.5 s; header timeout 5 s): **{sockets['open_after']}**",
        f"- requests lost after a non-UTF-8 header on the same connection: "
        f"**{malformed['lost']} of {malformed['connections']}**",
        "",
        "## Rate limiter, µs per call (p50 / p95)",
        "",
        f"| clients | ours | session start ({BASELINE_COMMIT}) |",
        "|---|---|---|",
    ]
    old = baseline_limiter()
    for clients in (1_000, 100_000):
        ours = limiter_cost(RateLimiter, clients)
        theirs = limiter_cost(old, clients)
        lines.append(
            f"| {clients:,} | {ours[0]:.1f} / {ours[1]:.1f} | {theirs[0]:.1f} / {theirs[1]:.1f} |"
        )
    emit(lines, args.out)


if __name__ == "__main__":
    main()
