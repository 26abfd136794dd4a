"""Measure the assistant against the bilingual gold set (``eval/gold.jsonl``), with a plain
llama-index pipeline run on the same questions as the baseline.

Metrics, overall, per language and per category: retrieval hit@1/3/5, MRR@10 and nDCG@10
(ranx) against the chunks that hold each question's gold evidence; answer accuracy (expected
strings present, "no answer" when expected, nothing forbidden, at most 600 characters); fact
exactness (every e-mail, web address, phone number and figure of an answer is in a cited source,
the question, or is a total of cited amounts); language match; "no answer" precision and recall;
citation correctness (a cited span overlaps the gold evidence); latency p50/p95.

Example::

    items = load_gold(Path("eval/gold.jsonl"), "dev")
    report = run_evaluation(items, [OurSystem(service)], documents)
    write_report(report, Path("eval/reports"))
"""

from __future__ import annotations

import itertools
import json
import re
import statistics
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from pydantic import BaseModel

from cancerassist.amounts import find_amounts
from cancerassist.embed import as_llama_index
from cancerassist.llm import unsupported_claims
from cancerassist.models import ChatMessage, ChatRequest, Citation, Language, SourceDocument
from cancerassist.text import detect_language, fold_accents

Split = Literal["dev", "test", "all"]
MAX_ANSWER_CHARS = 600
RETRIEVAL_METRICS = ("hit_rate@1", "hit_rate@3", "hit_rate@5", "mrr@10", "ndcg@10")


class Expected(BaseModel):
    all_of: list[str] = []
    any_of: list[str] = []
    must_not: list[str] = []


class Gold(BaseModel):
    doc_id: str
    section: str | None = None
    evidence: str


class GoldItem(BaseModel):
    id: str
    split: Literal["dev", "test"]
    category: str
    language: Literal["fr", "en"]
    turns: list[str]
    expected: Expected
    no_answer: bool
    gold: Gold | None = None


class Passage(BaseModel):
    """A retrieved unit (our chunk, the baseline's node), as the metrics need it."""

    id: str
    doc_id: str
    text: str


class SystemAnswer(BaseModel):
    answer: str
    status: Literal["answered", "no_answer"]
    language: str
    citations: list[Citation]
    latency_ms: float


class ItemResult(BaseModel):
    id: str
    category: str
    language: str
    question: str
    expected: Expected
    no_answer_expected: bool
    answer: str
    status: str
    citations: list[Citation]
    correct: bool
    contains_expected: bool
    exact: bool
    language_ok: bool
    cited_ok: bool | None
    latency_ms: float
    retrieved: list[str]
    relevant: list[str]


class System(Protocol):
    """A system under evaluation: it answers a conversation and retrieves passages."""

    name: str

    def answer(self, turns: list[str]) -> SystemAnswer: ...

    def retrieve(self, turns: list[str], k: int) -> list[Passage]: ...

    def passages(self) -> list[Passage]: ...


def load_gold(path: Path, split: Split = "all") -> list[GoldItem]:
    items = [
        GoldItem.model_validate_json(line)
        for line in path.read_text(encoding="utf-8").splitlines()
        if line
    ]
    return [item for item in items if split in ("all", item.split)]


# ---------------------------------------------------------------------------------------------
# Matching


def normalise(text: str) -> str:
    text = (
        fold_accents(text).lower().replace("’", "'").replace("\u00a0", " ").replace("\u202f", " ")
    )
    return re.sub(r"\s+", " ", text.replace("•", " ")).strip()


def matches(expected: str, answer: str) -> bool:
    """Expected text in the answer, after normalisation; an amount also matches by value, so
    "4.132 millions" is found in "4,132 millions d'euros" and "4.132 million euros"."""
    if normalise(expected) in normalise(answer):
        return True
    # A bare number ("3.263.864") matches by value too, however the answer groups its digits.
    money = not re.fullmatch(r"[\d\s.,\u00a0\u202f]+", expected)
    wanted = find_amounts(expected, money_only=money)
    if not wanted:
        return False
    found = {a.value for a in find_amounts(answer, money_only=money)}
    return all(a.value in found for a in wanted)


def contains_expected(answer: str, expected: Expected) -> bool:
    return (
        all(matches(e, answer) for e in expected.all_of)
        and (not expected.any_of or any(matches(e, answer) for e in expected.any_of))
        and not any(normalise(e) in normalise(answer) for e in expected.must_not)
    )


def is_correct(item: GoldItem, reply: SystemAnswer) -> bool:
    if len(reply.answer) > MAX_ANSWER_CHARS:
        return False
    if item.no_answer:
        return reply.status == "no_answer" and contains_expected(
            reply.answer, Expected(must_not=item.expected.must_not)
        )
    return reply.status == "answered" and contains_expected(reply.answer, item.expected)


# A quotation, closed or cut short ("… »" at the end of a shortened answer).
_QUOTED = re.compile(r"«[^»]*(?:»|$)|“[^”]*(?:”|$)|\"[^\"]*(?:\"|$)")


def answer_language(answer: str, default: Language) -> Language:
    """The language the answer is written in, read from its text (not from the response's
    field): what the assistant says around a marked quotation, or the whole text when it is
    nothing but quotes, so a bare quote in the other language counts as the other language.
    Text with no cue of either language (an e-mail address alone) counts as ``default``."""
    own = _QUOTED.sub(" ", answer)
    if sum(c.isalpha() for c in own) < 12:
        own = answer
    return detect_language(own, default)


def is_exact(question: str, reply: SystemAnswer) -> bool:
    """Contacts and figures of the answer come from what it cites (or the question); what an
    operation derives from cited amounts counts as cited: their sum, their mean (exact, to the
    euro, to the thousand), their differences, and how many they are."""
    if reply.status != "answered":
        return True
    # Titles are cited too ("Agence – Les 7 réseaux (2023)"): their numbers are not claims.
    cited = "\n".join(f"{c.title}\n{c.snippet}" for c in reply.citations)
    amounts = [a.value for a in find_amounts(cited)]
    derived = " ".join(f"{value} euros" for value in derived_figures(amounts))
    return not unsupported_claims(reply.answer, f"{cited}\n{question}\n{derived}")


def derived_figures(amounts: list[Decimal]) -> list[Decimal]:
    if len(amounts) < 2:
        return []
    total = sum(amounts, Decimal(0))
    mean = total / len(amounts)
    differences = [abs(a - b) for a, b in itertools.combinations(amounts, 2)]
    rounded = [mean.quantize(Decimal(1)), mean.quantize(Decimal("1E3"))]
    return [total, mean, *rounded, *differences, Decimal(len(amounts))]


def _evidence_spans(document: SourceDocument, evidence: str) -> list[tuple[int, int]]:
    pattern = r"\s+".join(re.escape(word) for word in evidence.split())
    return [m.span() for m in re.finditer(pattern, document.text)]


def is_cited(
    item: GoldItem, reply: SystemAnswer, documents: dict[str, SourceDocument]
) -> bool | None:
    if item.gold is None or item.no_answer or reply.status != "answered":
        return None
    spans = _evidence_spans(documents[item.gold.doc_id], item.gold.evidence)
    return any(
        c.doc_id == item.gold.doc_id and c.start < end and start < c.end
        for c in reply.citations
        for start, end in spans
    )


def relevant_ids(item: GoldItem, passages: list[Passage]) -> list[str]:
    if item.gold is None:
        return []
    evidence = normalise(item.gold.evidence)
    return [
        p.id for p in passages if p.doc_id == item.gold.doc_id and evidence in normalise(p.text)
    ]


# ---------------------------------------------------------------------------------------------
# Systems


class OurSystem:
    """The assistant in this process (``ChatService``)."""

    name = "cancerassist"

    def __init__(self, service: Any) -> None:
        self.service = service

    def answer(self, turns: list[str]) -> SystemAnswer:
        request = ChatRequest(messages=[ChatMessage(role="user", content=t) for t in turns])
        started = time.perf_counter()
        response = self.service.run(request)
        latency = (time.perf_counter() - started) * 1000
        return SystemAnswer(
            answer=response.answer,
            status=response.status,
            language=response.language,
            citations=response.citations,
            latency_ms=latency,
        )

    def retrieve(self, turns: list[str], k: int) -> list[Passage]:
        from cancerassist.chat import resolve

        messages = [ChatMessage(role="user", content=t) for t in turns]
        query = resolve(messages, self.service.loaded, self.service.analyser)[-1].retrieval_query
        hits = self.service.retriever.run(query, k).hits
        return [
            Passage(id=h.chunk.chunk_id, doc_id=h.chunk.doc_id, text=h.chunk.text) for h in hits
        ]

    def passages(self) -> list[Passage]:
        return [
            Passage(id=c.chunk_id, doc_id=c.doc_id, text=c.text) for c in self.service.index.chunks
        ]


class HttpSystem(OurSystem):
    """The assistant behind a running server, measured exactly as users get it."""

    name = "cancerassist (HTTP)"

    def __init__(self, url: str, service: Any) -> None:
        import httpx

        super().__init__(service)
        self.http = httpx.Client(base_url=url, timeout=120)

    def answer(self, turns: list[str]) -> SystemAnswer:
        started = time.perf_counter()
        reply = self.http.post(
            "/api/chat", json={"messages": [{"role": "user", "content": t} for t in turns]}
        )
        latency = (time.perf_counter() - started) * 1000
        reply.raise_for_status()
        body = reply.json()
        return SystemAnswer(
            answer=body["answer"],
            status=body["status"],
            language=body["language"],
            citations=[Citation.model_validate(c) for c in body["citations"]],
            latency_ms=latency,
        )


class BaselineSystem:
    """A plain llama-index pipeline: default ``SentenceSplitter``, ``VectorStoreIndex``, the same
    embedder, no LLM; its answer is the top retrieved chunk."""

    name = "baseline (llama-index)"

    def __init__(self, documents: dict[str, SourceDocument], embedder: Any) -> None:
        from llama_index.core import Document, VectorStoreIndex
        from llama_index.core.node_parser import SentenceSplitter

        docs = [
            Document(text=d.text, id_=d.doc_id, metadata={"doc_id": d.doc_id})
            for d in documents.values()
        ]
        started = time.perf_counter()
        self.index = VectorStoreIndex.from_documents(
            docs,
            embed_model=as_llama_index(embedder),
            transformations=[SentenceSplitter()],
            show_progress=False,
        )
        self.build_s = time.perf_counter() - started
        self.nodes = list(self.index.docstore.docs.values())
        self.retriever = self.index.as_retriever(similarity_top_k=10)
        self.documents = documents

    def _nodes(self, turns: list[str]) -> list[Any]:
        return list(self.retriever.retrieve(turns[-1]))

    def answer(self, turns: list[str]) -> SystemAnswer:
        started = time.perf_counter()
        top = self._nodes(turns)[0].node
        latency = (time.perf_counter() - started) * 1000
        doc_id = top.metadata["doc_id"]
        start, end = top.start_char_idx or 0, top.end_char_idx or 0
        citation = Citation(
            doc_id=doc_id,
            title=self.documents[doc_id].title,
            section="",
            snippet=top.get_content(),
            start=start,
            end=end,
            score=1.0,
        )
        text = top.get_content()
        return SystemAnswer(
            answer=text,
            status="answered",
            language=detect_language(text),
            citations=[citation],
            latency_ms=latency,
        )

    def retrieve(self, turns: list[str], k: int) -> list[Passage]:
        return [
            Passage(id=n.node.node_id, doc_id=n.node.metadata["doc_id"], text=n.node.get_content())
            for n in self._nodes(turns)[:k]
        ]

    def passages(self) -> list[Passage]:
        return [
            Passage(id=n.node_id, doc_id=n.metadata["doc_id"], text=n.get_content())
            for n in self.nodes
        ]


# ---------------------------------------------------------------------------------------------
# Running and reporting


def evaluate_system(
    system: System,
    items: list[GoldItem],
    documents: dict[str, SourceDocument],
    progress: Callable[[], None] | None = None,
) -> list[ItemResult]:
    everything = system.passages()
    results = []
    for item in items:
        reply = system.answer(item.turns)
        retrieved = [p.id for p in system.retrieve(item.turns, 10)] if item.gold else []
        results.append(
            ItemResult(
                id=item.id,
                category=item.category,
                language=item.language,
                question=" / ".join(item.turns),
                expected=item.expected,
                no_answer_expected=item.no_answer,
                answer=reply.answer,
                status=reply.status,
                citations=reply.citations,
                correct=is_correct(item, reply),
                contains_expected=contains_expected(reply.answer, item.expected)
                if not item.no_answer
                else reply.status == "no_answer",
                exact=is_exact(item.turns[-1], reply),
                language_ok=answer_language(reply.answer, item.language) == item.language,
                cited_ok=is_cited(item, reply, documents),
                latency_ms=reply.latency_ms,
                retrieved=retrieved,
                relevant=relevant_ids(item, everything),
            )
        )
        if progress:
            progress()
    return results


def retrieval_scores(results: list[ItemResult]) -> dict[str, float]:
    from ranx import Qrels, Run
    from ranx import evaluate as ranx_evaluate

    judged = [r for r in results if r.relevant]
    if not judged:
        return {}
    qrels = Qrels({r.id: dict.fromkeys(r.relevant, 1) for r in judged})
    run = Run(
        {
            r.id: {doc: 1.0 / rank for rank, doc in enumerate(r.retrieved, start=1)} or {"-": 0.0}
            for r in judged
        }
    )
    scores = ranx_evaluate(qrels, run, list(RETRIEVAL_METRICS))
    return {name: round(float(value), 4) for name, value in scores.items()}


def _rate(values: Iterable[bool]) -> float | None:
    values = list(values)
    return round(sum(values) / len(values), 4) if values else None


def summarise(results: list[ItemResult]) -> dict[str, Any]:
    answered = [r for r in results if r.status == "answered"]
    predicted_none = [r for r in results if r.status == "no_answer"]
    expected_none = [r for r in results if r.no_answer_expected]
    latencies = [r.latency_ms for r in results]
    return {
        "items": len(results),
        "accuracy": _rate(r.correct for r in results),
        "contains_expected": _rate(r.contains_expected for r in results),
        "fact_exactness": _rate(r.exact for r in answered),
        "language_match": _rate(r.language_ok for r in results),
        "no_answer_precision": _rate(r.no_answer_expected for r in predicted_none),
        "no_answer_recall": _rate(r.status == "no_answer" for r in expected_none),
        "citation_correctness": _rate(r.cited_ok for r in results if r.cited_ok is not None),
        "latency_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "latency_p95_ms": round(float(np.percentile(latencies, 95)), 1) if latencies else None,
        **retrieval_scores(results),
    }


def _by(results: list[ItemResult], key: Callable[[ItemResult], str]) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[ItemResult]] = {}
    for result in results:
        groups.setdefault(key(result), []).append(result)
    return {name: summarise(group) for name, group in sorted(groups.items())}


class Report(BaseModel):
    split: str
    systems: dict[str, dict[str, Any]]
    failures: dict[str, list[ItemResult]]
    notes: dict[str, Any] = {}


def run_evaluation(
    items: list[GoldItem],
    systems: list[System],
    documents: dict[str, SourceDocument],
    split: str = "all",
    progress: Callable[[], None] | None = None,
) -> Report:
    summaries: dict[str, dict[str, Any]] = {}
    failures: dict[str, list[ItemResult]] = {}
    for system in systems:
        results = evaluate_system(system, items, documents, progress)
        summaries[system.name] = {
            "overall": summarise(results),
            "by_language": _by(results, lambda r: r.language),
            "by_category": _by(results, lambda r: r.category),
        }
        failures[system.name] = [r for r in results if not r.correct]
    return Report(split=split, systems=summaries, failures=failures)


_OVERALL_ROWS = (
    ("accuracy", "answer accuracy"),
    ("contains_expected", "expected strings found (no length limit)"),
    ("fact_exactness", "fact exactness"),
    ("language_match", "language match"),
    ("no_answer_precision", "no-answer precision"),
    ("no_answer_recall", "no-answer recall"),
    ("citation_correctness", "citation correctness"),
    *((m, f"retrieval {m}") for m in RETRIEVAL_METRICS),
    ("latency_p50_ms", "latency p50 (ms)"),
    ("latency_p95_ms", "latency p95 (ms)"),
)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    return f"{value:.3f}" if isinstance(value, float) and value <= 1 else str(value)


def render_markdown(report: Report) -> str:
    names = list(report.systems)
    lines = [f"# Evaluation report — split `{report.split}`", ""]
    lines += [f"- {k}: {v}" for k, v in report.notes.items()] + [""]
    lines += [
        "## Overall",
        "",
        "| metric | " + " | ".join(names) + " |",
        "|---" * (len(names) + 1) + "|",
    ]
    for key, label in _OVERALL_ROWS:
        lines.append(
            f"| {label} | "
            + " | ".join(_cell(report.systems[n]["overall"].get(key)) for n in names)
            + " |"
        )
    for group, title in (("by_category", "By category"), ("by_language", "By language")):
        lines += [
            "",
            f"## {title} (answer accuracy / hit@3; n)",
            "",
            "| | " + " | ".join(names) + " |",
            "|---" * (len(names) + 1) + "|",
        ]
        keys = sorted({k for n in names for k in report.systems[n][group]})
        for key in keys:
            cells = []
            for n in names:
                s = report.systems[n][group].get(key, {})
                accuracy, hit = _cell(s.get("accuracy")), _cell(s.get("hit_rate@3"))
                cells.append(f"{accuracy} / {hit}; {s.get('items', 0)}")
            lines.append(f"| {key} | " + " | ".join(cells) + " |")
    lines += ["", "## Failures", ""]
    for name, failed in report.failures.items():
        lines.append(f"- {name}: {len(failed)} (details in report.json)")
    return "\n".join(lines) + "\n"


def render_chart(report: Report, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(report.systems)
    categories = sorted({c for n in names for c in report.systems[n]["by_category"]})
    x = np.arange(len(categories))
    bars = [(n, key) for n in names for key in ("accuracy", "contains_expected")]
    width = 0.8 / len(bars)
    fig, ax = plt.subplots(figsize=(13, 4.8))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (name, key) in enumerate(bars):
        values = [report.systems[name]["by_category"].get(c, {}).get(key) or 0 for c in categories]
        strict = key == "accuracy"
        ax.bar(
            x + i * width - 0.4 + width / 2,
            values,
            width,
            color=colours[names.index(name)],
            alpha=1.0 if strict else 0.45,
            hatch=None if strict else "//",
            label=f"{name}: {'answer accuracy' if strict else 'expected found (any length)'}",
        )
    ax.set_xticks(x, categories, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share of questions")
    ax.set_title(f"By category, split {report.split}: ours vs the llama-index baseline")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.32), ncol=2, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(report: Report, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "markdown": out_dir / "report.md",
        "json": out_dir / "report.json",
        "chart": out_dir / "chart.png",
    }
    paths["markdown"].write_text(render_markdown(report), encoding="utf-8")
    paths["json"].write_text(
        json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=1), encoding="utf-8"
    )
    render_chart(report, paths["chart"])
    return paths
