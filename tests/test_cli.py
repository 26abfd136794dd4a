"""The command line, as a user runs it."""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from cancerassist.config import Settings
from cancerassist.index import BuildReport


def run_cli(
    settings: Settings, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CANCERASSIST_CORPUS_DIR": str(settings.corpus_dir),
        "CANCERASSIST_INDEX_DIR": str(settings.index_dir),
        **(env or {}),
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


def test_ask_exits_with_1_when_the_documents_give_no_answer(
    settings: Settings, build_report: BuildReport
) -> None:
    answered = run_cli(settings, "ask", "Who coordinates BONE-NET?", "--json")
    assert answered.returncode == 0, answered.stderr
    assert json.loads(answered.stdout)["status"] == "answered"
    refused = run_cli(settings, "ask", "Who is the CEO of a bakery in Lyon?")
    assert refused.returncode == 1, refused.stderr
    assert refused.stdout.strip()  # the refusal is said, not only signalled


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


def test_index_while_another_build_runs_waits_then_says_so(scratch_settings: Settings) -> None:
    with (scratch_settings.index_dir / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as a build in another process holds it
        out = run_cli(scratch_settings, "index", "--no-progress", "--wait", "0.5")
    assert out.returncode == 1
    assert "another build of" in out.stderr
    assert "is running (waited 0.5 s)" in out.stderr
    assert "Traceback" not in out.stderr


def test_invalid_settings_are_named_without_a_traceback(settings: Settings) -> None:
    for env, expected in (
        ({"CANCERASSIST_PORT": "70000"}, "CANCERASSIST_PORT: Input should be less than or equal"),
        (
            {"CANCERASSIST_ENVIRONMENT": "production", "CANCERASSIST_CORS_ORIGINS": '["*"]'},
            "CANCERASSIST_CORS_ORIGINS must list the sites that embed the widget in production",
        ),
        ({"CANCERASSIST_CORS_ORIGINS": "https://a.example"}, 'field "cors_origins"'),
    ):
        out = run_cli(settings, "search", "x", env=env)
        assert out.returncode == 1, env
        assert "error: invalid settings: " in out.stderr
        assert expected in out.stderr, out.stderr
        assert "Traceback" not in out.stderr


def test_search_without_an_index_says_what_to_do(tmp_path: Path) -> None:
    out = run_cli(Settings(corpus_dir=tmp_path, index_dir=tmp_path / "none"), "search", "x")
    assert out.returncode == 1
    assert "cancerassist index" in out.stderr
    assert "Traceback" not in out.stderr


def test_facts_listing_formats(settings: Settings, build_report: BuildReport) -> None:
    out = run_cli(settings, "facts", "--type", "contact", "--format", "json")
    assert out.returncode == 0, out.stderr
    contacts = json.loads(out.stdout)
    assert {c["type"] for c in contacts} == {"contact"}
    assert "techtransfer@curie.fr" in {c.get("email") for c in contacts}
    assert all(c["provenance"]["quote"] for c in contacts)

    out = run_cli(settings, "facts", "--type", "funding", "--format", "csv")
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    region_2010 = [r for r in rows if r["funder"] == "Région Île-de-France" and r["year"] == "2010"]
    assert [r["amount"] for r in region_2010] == ["4132000"]
    assert region_2010[0]["quote"] == "2010 4.132 millions d’euros"

    out = run_cli(settings, "facts", "--type", "biobank")
    assert out.returncode == 0, out.stderr
    assert "Dr Denoux" in out.stdout
