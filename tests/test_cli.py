"""The command line, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cancerassist.config import Settings
from cancerassist.index import BuildReport


def run_cli(
    settings: Settings, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CANCERASSIST_CORPUS_DIR": str(settings.corpus_dir),
        "CANCERASSIST_INDEX_DIR": str(settings.index_dir),
    }
    return subprocess.run(
        [sys.executable, "-m", "cancerassist", *args],
        env=env,
        input=stdin,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_search_json(settings: Settings, build_report: BuildReport) -> None:
    out = run_cli(
        settings,
        "search",
        "Qui contacter pour la valorisation à l'Institut Curie ?",
        "-k",
        "2",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert len(result["hits"]) == 2
    assert "techtransfer@curie.fr" in result["hits"][0]["chunk"]["text"]
    assert "anchors" not in result["hits"][0]["chunk"]


def test_interactive_search(settings: Settings, build_report: BuildReport) -> None:
    out = run_cli(settings, "search", "-k", "1", stdin="Who coordinates BONE-NET?\n\n")
    assert out.returncode == 0, out.stderr
    assert "BONE-NET" in out.stdout


def test_index_reports_problems_and_builds(
    tmp_path: Path, settings: Settings, build_report: BuildReport
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "note.txt").write_text(
        "Le Cancéropôle Est soutient la recherche.\n", encoding="utf-8"
    )
    (corpus / "empty.md").write_text("", encoding="utf-8")
    scratch = Settings(corpus_dir=corpus, index_dir=tmp_path / "indexes")
    out = run_cli(scratch, "index", "--no-progress")
    assert out.returncode == 0, out.stderr
    assert "empty.md: empty: no text to index" in out.stderr
    assert "1 documents" in out.stdout


def test_search_without_an_index_says_what_to_do(tmp_path: Path) -> None:
    out = run_cli(Settings(corpus_dir=tmp_path, index_dir=tmp_path / "none"), "search", "x")
    assert out.returncode == 1
    assert "cancerassist index" in out.stderr
    assert "Traceback" not in out.stderr
