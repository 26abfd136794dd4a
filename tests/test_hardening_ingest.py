"""Attacks through the corpus, each run through the real CLI and served by a real server on
127.0.0.1: links and special files that would publish what lies outside the corpus, a file name
that is not UTF-8, and markup hidden in documents that would come back live in answers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api.background import serve_process

from cancerassist.config import Settings

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
