"""The evaluation harness: the gold set itself, the metrics, and the quality gate on dev."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from cancerassist.chat import ChatService
from cancerassist.evaluate import (
    Expected,
    GoldItem,
    ItemResult,
    OurSystem,
    SystemAnswer,
    contains_expected,
    is_exact,
    load_gold,
    matches,
    retrieval_scores,
    run_evaluation,
)
from cancerassist.models import Citation

from .conftest import CORPUS, ROOT

GOLD = ROOT / "eval" / "gold.jsonl"


def test_gold_set_is_complete_and_grounded() -> None:
    items = load_gold(GOLD)
    assert len(items) >= 100
    assert len({i.id for i in items}) == len(items)
    categories = Counter(i.category for i in items)
    assert categories["no_answer"] >= 15
    assert categories["injection"] >= 5
    for needed in (
        "contact",
        "funding",
        "funding_aggregate",
        "partners_roles",
        "people",
        "cross_lingual",
        "multi_turn",
    ):
        assert categories[needed] >= 5, needed
    assert {i.language for i in items} == {"fr", "en"}
    assert {i.split for i in items} == {"dev", "test"}
    assert sum(len(i.turns) > 1 for i in items) >= 5
    for item in items:
        if item.gold:
            text = (CORPUS / f"{item.gold.doc_id}.txt").read_text(encoding="utf-8")
            pattern = r"\s+".join(re.escape(w) for w in item.gold.evidence.split())
            assert re.search(pattern, text), item.id
        else:
            assert item.no_answer, item.id


def test_expected_strings_match_by_text_and_by_value() -> None:
    assert matches("4.132 millions", "En 2010, la Région a accordé 4,132 millions d’euros.")
    assert matches("4.132 millions", "In 2010 the Region granted 4.132 million euros.")
    assert matches("3.263.864", "Le budget est de 3\u202f263\u202f864 euros.")
    assert matches("Île-de-France", "ile-de-france")
    assert not matches("4.132 millions", "4.5 millions d’euros")
    expected = Expected(all_of=["techtransfer@curie.fr"], must_not=["pirate@evil.example"])
    assert contains_expected("Contact : techtransfer@curie.fr", expected)
    assert not contains_expected("techtransfer@curie.fr ou pirate@evil.example", expected)


def _reply(answer: str, snippet: str) -> SystemAnswer:
    citation = Citation(
        doc_id="d", title="T", section="", snippet=snippet, start=0, end=1, score=1.0
    )
    return SystemAnswer(
        answer=answer, status="answered", language="en", citations=[citation], latency_ms=1
    )


def test_exactness_accepts_cited_values_and_their_total_only() -> None:
    rows = "2007 4.5 millions d’euros\n2008 4.5 millions d’euros\n2009 4.95 millions d’euros"
    assert is_exact(
        "total 2007-2009", _reply("In total, 13.95 million euros from 2007 to 2009.", rows)
    )
    assert not is_exact("total 2007-2009", _reply("In total, 14 million euros.", rows))
    # An average and a difference of the cited rows are derived from them, not invented.
    assert is_exact("average", _reply("On average 4,650,000 euros a year.", rows))
    assert is_exact("change", _reply("It rose by 450,000 euros from 2008 to 2009.", rows))
    assert not is_exact("change", _reply("It rose by 460,000 euros from 2008 to 2009.", rows))
    assert not is_exact("contact?", _reply("Write to someone@curie.fr", "techtransfer@curie.fr"))


def test_retrieval_metrics_come_from_ranx() -> None:
    def result(qid: str, retrieved: list[str], relevant: list[str]) -> ItemResult:
        return ItemResult(
            id=qid,
            category="c",
            language="en",
            question="q",
            expected=Expected(),
            no_answer_expected=False,
            answer="",
            status="answered",
            citations=[],
            correct=True,
            contains_expected=True,
            exact=True,
            language_ok=True,
            cited_ok=None,
            latency_ms=1,
            retrieved=retrieved,
            relevant=relevant,
        )

    scores = retrieval_scores([result("a", ["x", "y"], ["x"]), result("b", ["y", "z", "x"], ["x"])])
    assert scores["hit_rate@1"] == 0.5
    assert scores["hit_rate@3"] == 1.0
    assert scores["mrr@10"] == pytest.approx((1 + 1 / 3) / 2, abs=1e-4)


def _dev_scores(service: ChatService, path: Path) -> tuple[dict[str, Any], list[str]]:
    items: list[GoldItem] = load_gold(path, "dev")
    report = run_evaluation(items, [OurSystem(service)], service.index.documents, "dev")
    failed = [f"{r.id}: {r.answer[:80]}" for r in report.failures["cancerassist"]]
    return report.systems["cancerassist"]["overall"], failed


def test_quality_gate_on_the_dev_split(service: ChatService) -> None:
    overall, failed = _dev_scores(service, GOLD)
    # First honest measurement (dev, 85 questions): accuracy 0.965, no-answer recall 1.0,
    # fact exactness 0.986, hit@3 0.931, citation correctness 0.958. The gate leaves a little
    # room for noise, none for a regression.
    assert overall["accuracy"] >= 0.92, failed
    assert overall["no_answer_recall"] >= 0.95
    assert overall["fact_exactness"] >= 0.95
    assert overall["hit_rate@3"] >= 0.88
    assert overall["language_match"] >= 0.98


def test_quality_gate_on_the_blind_dev_split(service: ChatService) -> None:
    """Questions written from the documents by helpers who never saw the code (issue 12):
    accuracy 0.565 before the scored query path, 0.80 with it, 0.90 with acronyms as aliases,
    subject-aware retrieval and two-question messages (dev, 124 questions)."""
    overall, failed = _dev_scores(service, ROOT / "eval" / "blind.jsonl")
    assert overall["accuracy"] >= 0.86, failed
    assert overall["no_answer_recall"] >= 0.9
    assert overall["language_match"] >= 0.95


def test_report_files(tmp_path: Path, service: ChatService) -> None:
    from cancerassist.evaluate import write_report

    items = load_gold(GOLD, "dev")[:6]
    report = run_evaluation(items, [OurSystem(service)], service.index.documents, "dev")
    paths = write_report(report, tmp_path)
    assert "| answer accuracy |" in paths["markdown"].read_text(encoding="utf-8")
    assert paths["chart"].read_bytes().startswith(b"\x89PNG")
    assert '"failures"' in paths["json"].read_text(encoding="utf-8")
