"""Attacks through the corpus, each run through the real CLI and served by a real server on
127.0.0.1: links and special files that would publish what lies outside the corpus, a file name
that is not UTF-8, and markup hidden in documents that would come back live in answers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api.background import serve_process, serving
from api.main import create_app
from pydantic import SecretStr

from cancerassist.chunk import _split_oversized
from cancerassist.config import Settings
from cancerassist.ingest import MappedText, parse_blocks
from cancerassist.profile import NEUTRAL
from cancerassist.tables import read_grid

ADMIN_KEY = "an-admin-key-for-ingest-tests"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
SECRET = "Le mot de passe du coffre Quillmark est tartempion-8812."
XSS_PAGE = """<!doctype html><html><head><title>Lettre de la fondation Zorblatt</title></head>
<body><h1>Lettre de la fondation Zorblatt</h1>
<p>La fondation Zorblatt publie une lettre trimestrielle &lt;img src=x onerror=alert(1)&gt;
sur ses bourses de recherche &lt;script&gt;alert(2)&lt;/script&gt; pour les doctorants.</p>
</body></html>"""
MARKDOWN_TRAP = """# Guide Vantorel

Le guide Vantorel explique comment candidater au programme Vantorel de mobilité :
[cliquez ici](javascript:alert(3)) et <script>alert(4)</script> ou
![logo](javascript:alert(5)) avant le 3 mars.
"""


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cancerassist", *args],
        env={**os.environ, **env},
        capture_output=True,
        check=False,
        text=True,
        timeout=600,
    )


@pytest.fixture
def hostile_corpus(scratch_settings: Settings, tmp_path: Path) -> Settings:
    """A copy of the corpus with links out of it, special files, a file name that is not UTF-8,
    and documents carrying markup."""
    corpus = scratch_settings.corpus_dir
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(f"Coffre\n\n{SECRET}\n", encoding="utf-8")
    (corpus / "annexe.txt").symlink_to(outside / "secret.txt")
    (corpus / "perdu.txt").symlink_to(corpus / "absent.txt")
    (corpus / "dossier").symlink_to(outside, target_is_directory=True)
    os.mkfifo(corpus / "tube.txt")
    bad_name = os.fsencode(corpus) + b"/r\xe9sum\xe9.txt"
    with open(bad_name, "wb") as f:
        f.write(b"Resume\n\nUn document au nom mal encode.\n")
    (corpus / "zorblatt.html").write_text(XSS_PAGE, encoding="utf-8")
    (corpus / "vantorel.md").write_text(MARKDOWN_TRAP, encoding="utf-8")
    return scratch_settings


@pytest.fixture
def hostile_server(hostile_corpus: Settings, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The hostile corpus indexed by ``cancerassist index``, then served; yields the server's
    URL and what the build printed."""
    env = {
        "CANCERASSIST_CORPUS_DIR": str(hostile_corpus.corpus_dir),
        "CANCERASSIST_INDEX_DIR": str(hostile_corpus.index_dir),
        "CANCERASSIST_DATA_DIR": str(tmp_path / "data"),
        "CANCERASSIST_RATE_LIMIT_PER_MINUTE": "0",
        "CANCERASSIST_SEARCH_RATE_LIMIT_PER_MINUTE": "0",
    }
    built = run_cli(env, "index", "--no-progress")
    assert built.returncode == 0, built.stderr
    with serve_process(env) as url:
        yield url, built.stdout + built.stderr


def test_links_out_special_files_and_bad_names_are_reported_and_never_served(
    hostile_server: tuple[str, str],
) -> None:
    url, printed = hostile_server
    reported = {line.split(": ")[1] for line in printed.splitlines() if line.startswith("error:")}
    assert {"annexe.txt", "perdu.txt", "dossier", "tube.txt", "r\ufffdsum\ufffd.txt"} <= reported
    assert "outside the corpus" in printed
    assert "not valid UTF-8" in printed
    # The rest was indexed, and nothing from outside the corpus is found or answered.
    hits = httpx.get(url + "/api/search", params={"q": "coffre Quillmark tartempion"}).json()
    assert hits["hits"]
    assert all("tartempion" not in h["chunk"]["text"] for h in hits["hits"])
    reply = httpx.post(
        url + "/api/chat",
        json={"messages": [{"role": "user", "content": "Quel est le mot de passe du coffre ?"}]},
        timeout=60,
    ).json()
    assert "tartempion" not in json.dumps(reply)


def test_markup_in_documents_never_comes_back_as_markup(hostile_server: tuple[str, str]) -> None:
    url, _ = hostile_server
    questions = {
        "Que publie la fondation Zorblatt ?": "trimestrielle",
        "Comment candidater au programme Vantorel ?": "Vantorel",
    }
    for question, expected in questions.items():
        body = {"messages": [{"role": "user", "content": question}]}
        chat = httpx.post(url + "/api/chat", json=body, timeout=60).json()
        assert expected in chat["answer"]
        documents = [
            httpx.get(url + f"/api/documents/{c['doc_id']}").json() for c in chat["citations"]
        ]
        for text in [json.dumps(chat), *(json.dumps(d) for d in documents)]:
            # Plain text (the widget shows it as text): no tag may open in it.
            for markup in ("<img", "<script", "</script"):
                assert markup not in text, (question, markup)
        search = httpx.get(url + "/api/search", params={"q": question}).text
        assert "<img" not in search
        assert "<script" not in search

        # OpenAI clients render Markdown with HTML: no tag, link or image survives.
        plain = httpx.post(url + "/v1/chat/completions", json=body, timeout=60).json()
        content = plain["choices"][0]["message"]["content"]
        streamed = httpx.post(
            url + "/v1/chat/completions", json={**body, "stream": True}, timeout=60
        ).text
        deltas = "".join(
            choice["delta"].get("content", "")
            for line in streamed.split("\n\n")
            if line.startswith("data: {")
            for choice in json.loads(line[6:]).get("choices", [])
        )
        for rendered in (content, deltas):
            assert expected in rendered
            assert "<" not in rendered
            # Brackets escaped: Markdown makes no link or image of "[text](target)".
            assert not re.search(r"(?<!\\)[\[\]]", rendered)


# 12. A bad metadata.json, a build that runs away, a large file.


@pytest.mark.parametrize(
    ("metadata", "said"),
    [
        ('{"documents": {', "not valid JSON: Expecting property name"),
        (
            '{"documents": {"notes.txt": {"language": "de"}}}',
            "entry \"notes.txt\": language: Input should be 'fr' or 'en', got \"de\"",
        ),
        ('{"aliases": {"Vireo": "VI"}}', 'alias "Vireo": must be a list of names'),
    ],
)
def test_a_bad_metadata_file_is_named_in_one_line_by_the_cli_and_the_admin_job(
    scratch_settings: Settings, tmp_path: Path, metadata: str, said: str
) -> None:
    (scratch_settings.corpus_dir / "metadata.json").write_text(metadata, encoding="utf-8")
    env = {
        "CANCERASSIST_CORPUS_DIR": str(scratch_settings.corpus_dir),
        "CANCERASSIST_INDEX_DIR": str(scratch_settings.index_dir),
    }
    built = run_cli(env, "index", "--no-progress")
    assert built.returncode == 1
    [line] = built.stderr.strip().splitlines()
    assert line.startswith(f"error: {scratch_settings.corpus_dir / 'metadata.json'}: ")
    assert said in line
    assert "Traceback" not in built.stderr

    settings = scratch_settings.model_copy(
        update={"admin_api_key": SecretStr(ADMIN_KEY), "data_dir": tmp_path / "data"}
    )
    with serving(create_app(settings), settings) as url:
        job = _reindexed(url)
    assert job["status"] == "failed"
    assert said in job["error"]
    assert "pydantic" not in job["error"]


def test_an_admin_reindex_that_runs_past_its_limit_is_stopped_and_the_build_kept(
    scratch_settings: Settings, tmp_path: Path
) -> None:
    settings = scratch_settings.model_copy(
        update={
            "admin_api_key": SecretStr(ADMIN_KEY),
            "data_dir": tmp_path / "data",
            "reindex_timeout_s": 0.5,
        }
    )
    with serving(create_app(settings), settings) as url:
        before = httpx.get(url + "/readyz", headers=ADMIN).json()["build_id"]
        job = _reindexed(url)
        after = httpx.get(url + "/readyz", headers=ADMIN).json()["build_id"]
    assert job["status"] == "failed"
    assert "took more than 0.5 s and was stopped" in job["error"]
    assert after == before


def _reindexed(url: str) -> dict[str, Any]:
    assert httpx.post(url + "/api/admin/reindex", headers=ADMIN).status_code == 202
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job: dict[str, Any] = httpx.get(url + "/api/admin/reindex", headers=ADMIN).json()
        if job["status"] != "running":
            return job
        time.sleep(0.2)
    raise AssertionError("the re-index did not finish")


def test_layout_parsing_grows_linearly_with_a_file_written_as_one_paragraph() -> None:
    """A page hard-wrapped without a blank line is one block built line after line: four
    times the text must cost about four times as much, not sixteen (a 2.6 MB file ran for
    minutes). Compared within the test, so the machine's speed does not matter."""
    line = "la recherche sur le cancer du réseau régional finance des projets inter-\n"

    def cost(lines: int) -> float:
        text = "Rapport\n\n" + line * lines
        started = time.perf_counter()
        parse_blocks(text, NEUTRAL)
        return time.perf_counter() - started

    small, large = grows_linearly(cost, 2_000)
    assert large < 8 * small, f"{large:.3f} s for 4x the text of {small:.3f} s"


def grows_linearly(cost: Callable[[int], float], size: int) -> tuple[float, float]:
    """The best of three timings of ``cost`` at ``size`` and at four times ``size``."""

    def best(n: int) -> float:
        return min(cost(n) for _ in range(3))

    return best(size), best(4 * size)


def test_a_long_table_is_read_in_time_linear_in_its_rows() -> None:
    """Every row of figures looks for the header row above it: asked again from each row, a
    15,000-row table kept fact extraction busy for minutes."""

    def cost(rows: int) -> float:
        grid = [["Lab", "Year", "Grant", "Staff"]] + [
            [f"Lab {i}", str(1990 + i % 30), str(1000 + i), str(i % 50)] for i in range(rows)
        ]
        started = time.perf_counter()
        cells = read_grid(grid)
        elapsed = time.perf_counter() - started
        assert len(cells) == 2 * rows  # two figures a row, each under its header
        return elapsed

    small, large = grows_linearly(cost, 1_000)
    assert large < 8 * small, f"{large:.3f} s for 4x the rows of {small:.3f} s"


def test_a_line_with_no_sentence_end_is_cut_in_time_linear_in_its_length() -> None:
    """A line longer than a chunk is cut where a space falls before the limit: slicing the rest
    off at every cut copied the line again and again (a 3 MB line: 27 s, now 0.1 s). Timed on
    the cutting alone, as the language detection of each chunk would hide it."""

    def cost(words: int) -> float:
        text = " ".join(f"mot{i % 97}" for i in range(words))
        line = MappedText(text, list(range(len(text))))
        started = time.perf_counter()
        pieces = list(_split_oversized([line], 1000))
        elapsed = time.perf_counter() - started
        assert all(len(p.text) <= 1000 for p in pieces)
        assert " ".join(p.text for p in pieces) == text
        assert [p.offsets[0] for p in pieces] == sorted(p.offsets[0] for p in pieces)
        return elapsed

    small, large = grows_linearly(cost, 130_000)
    assert large < 8 * small, f"{large:.3f} s for 4x the text of {small:.3f} s"
