"""The assistant: one conversation in, one grounded answer out, in the user's language.

The service is stateless: the client sends the whole conversation. Elliptical follow-ups ("And
at Institut Pasteur?", "Et en 2012 ?", "What was its total budget?") borrow the intent, the
organisation or the year of the previous question, without a language model.

Routing: exact questions go to the fact store (:mod:`cancerassist.lookup`); the others to
hybrid retrieval and an extractive answer; a configured LLM may rephrase either, under a guard
that falls back to the extractive answer when it states anything the evidence does not.

Example::

    service = ChatService.from_settings(get_settings())
    question = ChatMessage(role="user", content="Who coordinates BONE-NET?")
    reply = service.run(ChatRequest(messages=[question]))
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cancerassist.answer import (
    Evidence,
    Prompts,
    extractive_answer,
    render_facts,
    render_no_answer,
    score_evidence,
    shorten,
)
from cancerassist.config import Settings
from cancerassist.embed import Embedder, load_embedder
from cancerassist.index import IndexUnavailableError, SearchIndex, build_index, load_index
from cancerassist.llm import LLM, OpenAILikeLLM, evidence_block, unsupported_claims
from cancerassist.lookup import FactAnswer, Intent, detect_intent, lookup
from cancerassist.models import ChatMessage, ChatRequest, ChatResponse, Citation, Language
from cancerassist.retrieve import HybridRetriever
from cancerassist.text import detect_language

# Intents whose "no answer" is final: a wrong e-mail or amount is worse than none. For the
# others the passages may still answer what the records do not cover.
_EXACT_INTENTS: frozenset[Intent] = frozenset({"contact", "funding"})
_ELLIPSIS = re.compile(
    r"^\s*(?:and|et|what about|how about|et pour|et à|et a|and for|and at|also|aussi|same)\b"
    r"|\b(?:its|it|their|this project|that project|son|sa|ses|leur|ce projet|cette année|celle-ci|"
    r"celui-ci|the same)\b",
    re.IGNORECASE,
)
_RECENT_ANSWERS = 5000
_WARM_UP = ("Qui contacter pour la valorisation ?", "What are the missions of the Cancéropôles?")


@dataclass(frozen=True)
class _Loaded:
    """An index and its retriever, replaced together so that no request mixes two builds."""

    index: SearchIndex
    retriever: HybridRetriever


@dataclass
class Resolved:
    """The last question made standalone, with what the fact store says about it."""

    question: str
    facts: FactAnswer | None
    retrieval_query: str


@dataclass
class Exchange:
    """An answer kept in memory (never on disk) so feedback on it can be stored with it."""

    question: str
    response: ChatResponse


def _is_elliptical(text: str) -> bool:
    return len(text.split()) <= 6 or bool(_ELLIPSIS.search(text))


def resolve(messages: list[ChatMessage], index: SearchIndex) -> Resolved:
    """Replay the user's turns so each follow-up inherits what the previous one was about."""
    previous: Resolved | None = None
    for message in (m for m in messages if m.role == "user"):
        previous = _resolve_turn(message.content, previous, index)
    assert previous is not None, "a request holds at least one user message"
    return previous


def _resolve_turn(text: str, previous: Resolved | None, index: SearchIndex) -> Resolved:
    answer = lookup(text, index.facts)
    if previous is None or not _is_elliptical(text) or (answer is not None and answer.entity):
        return Resolved(text, answer, text)
    if previous.facts is None:
        # A follow-up to a passage question: search with both turns.
        return Resolved(text, answer, f"{previous.retrieval_query} {text}")
    intent = detect_intent(text) or previous.facts.intent
    answer = lookup(text, index.facts, intent=intent)
    if answer is not None and answer.entity:
        return Resolved(text, answer, text)
    carried = f"{text} {previous.facts.entity}" if previous.facts.entity else text
    return Resolved(carried, lookup(carried, index.facts, intent=intent), carried)


@dataclass
class _Draft:
    text: str
    status: str
    citations: list[Citation]
    facts: FactAnswer | None = None
    evidence: list[str] = field(default_factory=list)


class ChatService:
    """Holds the index, the models and the prompts for the life of the process."""

    def __init__(
        self, *, settings: Settings, index: SearchIndex, embedder: Embedder, llm: LLM | None = None
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self._loaded = _Loaded(index, HybridRetriever.from_settings(settings, embedder, index))
        self.prompts = Prompts.load(settings.prompts_dir)
        self.llm = llm
        self.recent: OrderedDict[str, Exchange] = OrderedDict()
        self._recent_lock = threading.Lock()  # requests are answered on several threads

    @classmethod
    def from_settings(cls, settings: Settings, build_if_missing: bool = True) -> ChatService:
        embedder = load_embedder(settings.embedder, settings.embedding_model)
        try:
            index = load_index(settings.index_dir, embedder, settings.hnsw_ef_search)
        except IndexUnavailableError:
            if not build_if_missing:
                raise
            build_index(settings, embedder)
            index = load_index(settings.index_dir, embedder, settings.hnsw_ef_search)
        llm = None
        if settings.llm_base_url:
            llm = OpenAILikeLLM(
                base_url=settings.llm_base_url,
                model=settings.llm_model,
                api_key=settings.llm_api_key,
                timeout_s=settings.llm_timeout_s,
            )
        service = cls(settings=settings, index=index, embedder=embedder, llm=llm)
        service.warm_up()
        return service

    @property
    def index(self) -> SearchIndex:
        return self._loaded.index

    @property
    def retriever(self) -> HybridRetriever:
        return self._loaded.retriever

    def reload(self) -> SearchIndex:
        """Serve the build ``CURRENT`` now names (or the newest good one). Requests in flight
        finish on the index they started with; later ones see the new one."""
        index = load_index(self.settings.index_dir, self.embedder, self.settings.hnsw_ef_search)
        retriever = HybridRetriever.from_settings(self.settings, self.embedder, index)
        for question in _WARM_UP:  # the new BM25 and FAISS objects, before a user pays for them
            retriever.run(question)
        self._loaded = _Loaded(index, retriever)  # one assignment: atomic for readers
        return index

    def warm_up(self) -> None:
        """Pay the one-off costs (model, caches, language profiles) before the first user does."""
        for question in _WARM_UP:
            self.run(ChatRequest(messages=[ChatMessage(role="user", content=question)]))
        self.recent.clear()

    def run(self, request: ChatRequest) -> ChatResponse:
        started = time.perf_counter()
        timings: dict[str, float] = {}
        question_text = next(m.content for m in reversed(request.messages) if m.role == "user")
        mark = time.perf_counter()
        language: Language = request.language or detect_language(question_text)
        timings["language"] = _ms(mark)
        loaded = self._loaded
        mark = time.perf_counter()
        resolved = resolve(request.messages, loaded.index)
        timings["resolve_and_facts"] = _ms(mark)
        draft = self._draft(loaded, resolved, language, timings)
        if self.llm is not None and draft.status == "answered":
            mark = time.perf_counter()
            draft.text = self._rephrase(question_text, language, draft)
            timings["llm"] = _ms(mark)
        timings["total"] = _ms(started)
        response = ChatResponse(
            answer=draft.text,
            language=language,
            status=draft.status,
            citations=draft.citations,
            facts=draft.facts.facts if draft.facts and draft.status == "answered" else [],
            message_id=uuid.uuid4().hex,
            timings_ms=timings,
        )
        self._remember(resolved.question, response)
        return response

    def stream(self, request: ChatRequest) -> Iterator[tuple[str, Any]]:
        """The same answer as :meth:`run`, as (event, data): deltas, citations, done."""
        response = self.run(request)
        for piece in re.findall(r"\S+\s*", response.answer):
            yield "delta", {"text": piece}
        yield "citations", [c.model_dump() for c in response.citations]
        yield "done", response.model_dump(mode="json")

    def _draft(
        self, loaded: _Loaded, resolved: Resolved, language: Language, timings: dict[str, float]
    ) -> _Draft:
        facts = resolved.facts
        mark = time.perf_counter()
        if facts is not None and facts.status == "answered":
            text, citations = render_facts(facts, language, self.prompts, loaded.index)
            timings["compose"] = _ms(mark)
            return _Draft(text, "answered", citations, facts, [c.snippet for c in citations])
        # An unnamed funder may still be in the passages ("the Medicen projects"); an unknown
        # institution's contact or an absent year may not: that is what "no answer" is for.
        if (
            facts is not None
            and facts.intent in _EXACT_INTENTS
            and (facts.intent == "contact" or facts.reason != "unknown_entity")
        ):
            return _Draft(render_no_answer(facts, language, self.prompts), "no_answer", [], facts)
        result = loaded.retriever.run(resolved.retrieval_query, k=5)
        timings.update({f"retrieve_{k}": v for k, v in result.timings_ms.items()})
        mark = time.perf_counter()
        scored = score_evidence(resolved.retrieval_query, result.hits, loaded.index)
        if not self._supported(scored):
            timings["compose"] = _ms(mark)
            return _Draft(render_no_answer(facts, language, self.prompts), "no_answer", [], facts)
        text, citations = extractive_answer(scored, language, self.prompts, loaded.index.documents)
        timings["compose"] = _ms(mark)
        return _Draft(text, "answered", citations, None, [e.text for e in scored[:6]])

    def _supported(self, evidence: list[Evidence]) -> bool:
        if not evidence:
            return False
        best = evidence[0]
        return any(
            best.support >= coverage and best.dense >= dense
            for coverage, dense in self.settings.evidence_thresholds
        )

    def _rephrase(self, question: str, language: Language, draft: _Draft) -> str:
        """The LLM's answer if every contact and figure in it is in the evidence, else the draft."""
        assert self.llm is not None
        system = self.prompts.say(language, "llm.system")
        user = self.prompts.say(
            language,
            "llm.user",
            question=question,
            evidence=evidence_block(draft.evidence),
            draft=draft.text,
        )
        try:
            generated = "".join(
                self.llm.stream(
                    [{"role": "system", "content": system}, {"role": "user", "content": user}]
                )
            )
        except Exception:
            return draft.text
        generated = generated.strip()
        if not generated or unsupported_claims(generated, "\n".join(draft.evidence)):
            return draft.text
        return shorten(generated)

    def _remember(self, question: str, response: ChatResponse) -> None:
        with self._recent_lock:
            self.recent[response.message_id] = Exchange(question, response)
            while len(self.recent) > _RECENT_ANSWERS:
                self.recent.popitem(last=False)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
