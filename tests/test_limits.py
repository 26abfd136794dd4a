"""Request limits and the shape of every error."""

from __future__ import annotations

from collections.abc import Iterator

from api.main import create_app
from fastapi.testclient import TestClient

from cancerassist.chat import ChatService
from cancerassist.config import Settings

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
    too_many = client.post("/api/chat", json={"messages": [{"role": "user", "content": "q"}] * 41})
    assert too_many.status_code == 422


def test_not_found_is_json(client: TestClient) -> None:
    missing = client.get("/api/documents/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert "Traceback" not in missing.text


def test_rate_limit_answers_429_with_headers(api_settings: Settings, service: ChatService) -> None:
    limited = api_settings.model_copy(update={"rate_limit_per_minute": 3})
    with TestClient(create_app(limited, service)) as client:
        replies = [client.post("/api/chat", json=QUESTION) for _ in range(4)]
        assert [r.status_code for r in replies] == [200, 200, 200, 429]
        assert replies[0].headers["X-RateLimit-Limit"] == "3"
        assert replies[2].headers["X-RateLimit-Remaining"] == "0"
        refused = replies[3]
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.json()["error"]["code"] == "rate_limited"
        assert client.get("/healthz").status_code == 200  # reads are not limited
