"""The assistant: one conversation in, one grounded answer out, in the user's language.

The service is stateless: the client sends the whole conversation. Elliptical follow-ups ("And
at Institut Pasteur?", "Et en 2012 ?", "What was its total budget?") borrow the intent, the
organisation or the year of the previous question, without a language model.

Routing: exact questions go to the fact store (:mod:`cancerassist.lookup`); the others to
hybrid retrieval and an extractive answer; a configured LLM may rephrase either, under a guard
that falls back to the extractive answer when it states anything the evidence does not.

Example::

    service = ChatService.from_settings(get_settings())
    question = ChatMessage(role="user", content="Who coordinates ONCO-NET?")
    reply = service.run(ChatRequest(messages=[question]))
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

from cancerassist.amounts import MONEY
from cancerassist.analysis import (
    FOLLOW_UP_THRESHOLD,
    Analyser,
    Analysis,
    AnswerType,
    ScoredRoute,
    ScoredType,
    asked_role,
    asked_types,
    asks_in_own_words,
    continuation_score,
    cue_scores,
    detect_operation,
    follow_up_score,
    holds_role,
    missing_names,
    name_phrases,
    name_words,
    split_question,
)
from cancerassist.answer import (
    FIGURE,
    Evidence,
    Prompts,
    conflict_citations,
    counted_terms,
    counts,
    extractive_answer,
    fact_citation,
    labelled,
    render_conflicts,
    render_facts,
    render_no_answer,
    score_evidence,
    shorten,
    unique_citations,
)
from cancerassist.config import Settings
from cancerassist.conflicts import settle
from cancerassist.deadline import check_deadline
from cancerassist.embed import Embedder, load_embedder
from cancerassist.facts import POSTAL_ADDRESS
from cancerassist.index import (
    CURRENT,
    IndexUnavailableError,
    SearchIndex,
    build_index,
    load_index,
)
from cancerassist.llm import LLM, OpenAILikeLLM, evidence_block, unsupported_claims
from cancerassist.lookup import (
    EMAIL_ASKED,
    PHONE_ASKED,
    Aggregate,
    FactAnswer,
    Gazetteer,
    build_gazetteer,
    facts_about,
    lookup,
    normalise,
)
from cancerassist.models import (
    ChatMessage,
    ChatRequest,
    ChatResponse,
    Chunk,
    Citation,
    Conflict,
    Fact,
    Funding,
    Language,
    Measure,
    SourceDocument,
)
from cancerassist.retrieve import HybridRetriever
from cancerassist.tables import TableAnswer, TableIndex, coverage, render_table_answer
from cancerassist.text import (
    EMAIL,
    TITLES,
    YEAR,
    detect_language,
    fold_accents,
    instructs,
    tokenize,
)

log = logging.getLogger(__name__)
_RECENT_ANSWERS = 5000
# Routes within this much of the best one are tried, best first; the rest are too unlikely
# to be what the question asks (exemplar cosines, see cancerassist.analysis).
ROUTE_MARGIN = 0.035
# A follow-up gives the previous turn's route this much extra, times its follow-up score.
FOLLOW_UP_BONUS = 0.04
# Below the general route by more than this, a fact route is not tried.
PASSAGE_MARGIN = 0.01
# A person named as people are: with a title ("Pr Janin"), with a role after the name
# ("Jeanne Martin, Présidente"), or with a surname in capitals ("Paul DURAND").
_ROLE_WORDS = (
    r"(?i:pr[ée]sident|directeur|directrice|director|chair|head|coordinat|coordonnat|"
    r"responsable|manager|fondat|founder|porte-parole|spokes|chercheu|researcher|professeur|"
    r"professor|ceo|d[ée]l[ée]gu[ée]|(?:à|a) la t[êe]te)"
)
_PERSON = re.compile(
    rf"\b(?:{TITLES})\.?(?:\s+drs?\.)?\s+[A-ZÀ-Þ][\w’'-]*(?:\s+[A-ZÀ-Þ][\w’'-]+)?"
    r"|\b[A-ZÀ-Þ][a-zà-ÿ]+(?:-[A-ZÀ-Þ][a-zà-ÿ]+)?\s+[A-ZÀ-Þ][a-zà-ÿ-]+(?:\s+[A-ZÀ-Þ][a-zà-ÿ-]+)?"
    rf",\s+(?:[\w’']+,?\s+){{0,6}}{_ROLE_WORDS}|\b[A-ZÀ-Þ][a-zà-ÿ]+\s+[A-ZÀ-Þ][a-zà-ÿ-]+\s+{_ROLE_WORDS}"
    r"|\b(?!(?:The|This|Le|La|Les|Un|Une|Unit|Unité|Team|Équipe)\b)"
    r"[A-ZÀ-Þ][a-zà-ÿ]+(?:-[A-ZÀ-Þ][a-zà-ÿ]+)?\s+[A-ZÀ-Þ]{3,}(?![\w-])(?!\s+[A-Z0-9])"
    r"|(?i:coordonn[ée]e?s?|coordinated|dirig[ée]e?s?|directed|pr[ée]sid[ée]e?s?|chaired|led|"
    r"headed)\s+(?:par|by)\s+[A-ZÀ-Þ][a-zà-ÿ]+(?:-[A-ZÀ-Þ][a-zà-ÿ]+)?\s+[A-ZÀ-Þ]"
    # … or the roles first, then who holds them: "les fonctions de Président … sont occupées
    # par Jean-Marc Gambaudo, …", "the posts of chair … are held by …".
    rf"|{_ROLE_WORDS}[^.;]{{0,120}}?\b(?:par|by)\s+[A-ZÀ-Þ][a-zà-ÿ]+(?:-[A-ZÀ-Þ][a-zà-ÿ]+)?\s+"
    r"[A-ZÀ-Þ][\w’'-]+"
    # … or the name, then what the person does: "Alexandre Boissonnas is leading his projects".
    # (not the end of a longer name: "le Réseau Grand Ouest coordonne").
    r"|(?<![\w’'-]\s)\b[A-ZÀ-Þ][a-zà-ÿ]+(?:-[A-ZÀ-Þ][a-zà-ÿ]+)?\s+[A-ZÀ-Þ][a-zà-ÿ-]+\s+"
    r"(?:is\s+|was\s+|a\s+)?"
    r"(?i:lead|head|direct|chair|coordinat|runs|manag|dirig|pr[ée]sid|coordonn|m[èe]ne|conduit|"
    r"pilot)\w*"
    # … or a role, then the name: "son président Pierre Montoriol".
    # (never "président du Réseau Grand Ouest": no "du/de/of" between role and name).
    rf"|{_ROLE_WORDS}\w*\s+(?:(?!(?:du|de|des|of|the|le|la)\b)[a-zà-ÿ’']+\s+){{0,2}}?"
    r"[A-ZÀ-Þ][a-zà-ÿ]+(?:-[A-ZÀ-Þ][a-zà-ÿ]+)?\s+[A-ZÀ-Þ][a-zà-ÿA-Z-]{2,}"
)
# A number in a sentence that covers this much of a "how many" question counts what it asks,
# even when its words are not the question's (another language, a synonym).
COUNT_COVERAGE = 0.5
# Passages whose sentences are scored as answers.
PASSAGES = 8
# How far past them a passage about the question's subject that holds the asked type of
# thing (a person, a year, an amount) is still looked at.
SHAPED_PASSAGES = 24
# For a list asked for, the passages beside this many of the best ones are read too.
LIST_NEIGHBOURS = 3
# The opening of a document that says what it is about.
LEAD_CHARS = 600
# How many words of that opening (a title block: a title, a standfirst) say whose the
# document is, for the names of a question.
OPENING_WORDS = 30
# How far before a sentence the number of a name may be ("Université Paris 13 …").
CONTEXT_CHARS = 250
# A telephone number: a trunk "0" or a "+country" prefix, then groups of digits, or the North
# American "(514) 398-5611" / "514-398-5611"; not an amount written with dots ("3.263.864") nor
# a range of years ("2011-2015").
_PHONE = re.compile(
    r"(?:(?<![\w.,])0\d|\+\d{1,3}[\s.-]?(?:\(0\)[\s.-]?)?\d{1,4})(?:[\s.-]?\d{2,4}){2,5}(?![\w.,]\d)"
    r"|(?<![\w.,])(?:\(\d{3}\)\s?|\d{3}[.-])\d{3}[\s.-]\d{4}(?![\w.,]\d)"
)
_TYPE_SHAPES: dict[AnswerType, re.Pattern[str]] = {
    "person": _PERSON,
    "year": YEAR,
    "amount": MONEY,
    # (or a postal address: a street with its number, a postcode and its town)
    "contact": re.compile(
        rf"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|https?://\S+|www\.\S+|{_PHONE.pattern}"
        rf"|{POSTAL_ADDRESS.pattern}"
    ),
}
# Routes whose records are people: one may answer a "who" question another did not know.
_PEOPLE_ROUTES = frozenset({"coordinator", "person", "biobank"})
_SERIES: frozenset[Aggregate] = frozenset({"total", "average", "difference", "trend"})
# A question that asks which one: its answer names what the next turn's "it" is.
_ASKS_WHICH = re.compile(r"^\W*(?:which|what|quel(?:le)?s?|lequel|laquelle)\b")
_REFERS_TO_YEARS = re.compile(
    r"\b(?:those|these|the two|both|ces|les deux|deux|ces deux)\s+(?:\w+\s+)?(?:years|annees|ans)\b"
    r"|\b(?:over|sur|during|pendant)\s+(?:that|this|cette)\s+(?:period|periode)\b"
)


@dataclass(frozen=True)
class Loaded:
    """An index, its retriever and its gazetteer, replaced together so that no request mixes
    two builds."""

    index: SearchIndex
    retriever: HybridRetriever
    gazetteer: Gazetteer
    # The sentences of the build's corpus profile.
    prompts: Prompts
    # The figures of the build's tables, by table.
    tables: TableIndex
    # What each document is about when its metadata does not say: the one known name its
    # title and opening lines write ("Le Réseau X est né de…" on a page titled "Members").
    lead_subjects: dict[str, str] = field(default_factory=dict)
    # Per document, what says whose its passages are beside their own text (see _about).
    about: dict[str, str] = field(default_factory=dict)
    _named: dict[str, frozenset[str]] = field(default_factory=dict)

    def names_in(self, chunk: Chunk) -> frozenset[str]:
        """The gazetteer's names a chunk writes (in its text, section or title) and its
        document's lead subject; worked out once per chunk, when a question first needs it."""
        named = self._named.get(chunk.chunk_id)
        if named is None:
            text = f"{chunk.text} {chunk.section} {chunk.title}"
            found = set(self.gazetteer.named_in(text))
            if chunk.doc_id in self.lead_subjects:
                found.add(self.lead_subjects[chunk.doc_id])
            named = self._named[chunk.chunk_id] = frozenset(found)
        return named


@dataclass
class Resolved:
    """One user turn made standalone: its text with what it carries from the turns before,
    its analysis, and the subjects and years it is about."""

    question: str
    analysis: Analysis
    subjects: list[str]
    years: list[int]
    retrieval_query: str
    # The subjects carried from the turn before, written after the turn's own text.
    carried: tuple[str, ...] = ()

    def name_words(self) -> list[str]:
        """The words of the names the question uses, the carried subjects' included (written
        after a question mark, their first word would pass for one that opens a sentence)."""
        words = name_words(self.question)
        for subject in self.carried:
            words += name_words(f"of {subject}")
        return list(dict.fromkeys(words))

    def other_names(self, gazetteer: Gazetteer) -> list[str]:
        """The subjects' names and aliases the question does not write, for the lexical
        search: "RGO" finds the passages on the "Réseau Grand Ouest" and the reverse."""
        written = set(tokenize(self.question))
        return [
            n
            for s in self.subjects
            for n in (s, *gazetteer.aliases(s))
            if not set(tokenize(n)) <= written
        ]


@dataclass
class Exchange:
    """An answer kept in memory (never on disk) so feedback on it can be stored with it."""

    question: str
    response: ChatResponse


def resolve(
    messages: list[ChatMessage], loaded: Loaded, analyser: Analyser, *, clauses: int = 0
) -> list[Resolved]:
    """Replay the user's turns so each follow-up carries what the previous one was about.
    ``clauses``: the last turns are further questions of the message before them ("…, and
    what is it for?"), which lean on it whatever their words."""
    users = [m for m in messages if m.role == "user"]
    # What the assistant answered to each user turn, where the client sends it back.
    answers = [
        messages[i + 1].content
        if i + 1 < len(messages) and messages[i + 1].role == "assistant"
        else None
        for i, m in enumerate(messages)
        if m.role == "user"
    ]
    turns: list[Resolved] = []
    for i, message in enumerate(users):
        leans = i >= len(users) - clauses
        answered = answers[i - 1] if i else None
        turns.append(
            _resolve_turn(message.content, turns, loaded, analyser, leans=leans, answer=answered)
        )
    assert turns, "a request holds at least one user message"
    return turns


def _resolve_turn(
    text: str,
    history: list[Resolved],
    loaded: Loaded,
    analyser: Analyser,
    *,
    leans: bool,
    answer: str | None = None,
) -> Resolved:
    """Two scored decisions for a turn after the first: does it continue the previous
    question ("And at Institut Pasteur?", same route, new subject), and does it lean on the
    previous subject ("What was its budget?", "Et en 2012 ?": its subject, and its years).
    When the previous question asked which one ("Which network covers Brittany?") and the
    ``answer`` given to it names one, that one is the subject a follow-up leans on."""
    vector = loaded.retriever.embed(text)
    analysis = analyser.analyse(text, vector)
    subjects = loaded.gazetteer.match(text) or name_phrases(text)
    years = [int(y) for y in YEAR.findall(text)]
    own = Resolved(text, analysis, subjects, years, text)
    if not history:
        return own
    previous = history[-1]
    continues = continuation_score(text)
    operates = bool(analysis.operation and analysis.operation.operation in _SERIES) and not years
    follow = follow_up_score(text, names_own_subject=bool(subjects), operates=operates)
    if leans:
        follow = max(follow, 1.0)
    if continues < FOLLOW_UP_THRESHOLD and follow < FOLLOW_UP_THRESHOLD:
        return own
    carried_route = previous.analysis.routes[0].route
    # Words of another route ("Et son budget ?" after "Qui coordonne… ?") ask another question.
    cues = cue_scores(text)
    weight = max(continues, follow) if not cues or carried_route in cues else 0.0
    routes = sorted(
        (
            ScoredRoute(
                route=r.route,
                score=r.score + (FOLLOW_UP_BONUS * weight if r.route == carried_route else 0),
            )
            for r in analysis.routes
        ),
        key=lambda r: -r.score,
    )
    operation = analysis.operation or (previous.analysis.operation if not years else None)
    # An elliptical turn asks for what the one before asked ("How much… in 2016? And in
    # 2017?": an amount again).
    elliptical = continues >= FOLLOW_UP_THRESHOLD and not asks_in_own_words(text)
    types = analysis.answer_types or (previous.analysis.answer_types if elliptical else [])
    merged = Analysis(routes=routes, operation=operation, answer_types=types)
    if follow < FOLLOW_UP_THRESHOLD:
        return Resolved(text, merged, subjects, years, text)
    # The previous turn's subject and, when this one refers to them or names none, its years.
    carried_years = years
    # Years are carried where they select records (a funding series, "those years"), not into
    # another question about the same subject ("… since 2003? And how many teams?").
    dated = carried_route == "funding" or (operation and operation.operation in _SERIES)
    if not years and (
        _REFERS_TO_YEARS.search(fold_accents(text).lower()) or (dated and not subjects)
    ):
        carried_years = previous.years
        if len(carried_years) < 2 and operation and operation.operation in _SERIES:
            earlier = [y for turn in history for y in turn.years]
            carried_years = list(dict.fromkeys(earlier))[-2:]
    leaned_on = previous.subjects
    if answer and _ASKS_WHICH.match(fold_accents(previous.question).lower()):
        named = [n for n in loaded.gazetteer.match(answer) if n not in previous.subjects]
        if len(named) == 1:
            leaned_on = named
    carried = " ".join([text, *leaned_on, *(str(y) for y in carried_years if y not in years)])
    return Resolved(
        carried,
        merged,
        subjects or leaned_on,
        carried_years,
        f"{previous.retrieval_query} {' '.join(leaned_on)} {text}",
        tuple(leaned_on),
    )


@dataclass
class _Draft:
    text: str
    status: str
    citations: list[Citation]
    records: list[Fact] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)


def _combine(drafts: list[_Draft]) -> _Draft:
    """The answers to the questions of one message, one after the other; a part the
    documents do not answer is left out when another is answered (the same answer twice,
    once)."""
    answered: list[_Draft] = []
    for draft in drafts:
        if draft.status == "answered" and all(draft.text != a.text for a in answered):
            answered.append(draft)
    if len(answered) <= 1:
        return answered[0] if answered else drafts[0]
    citations = [c for d in answered for c in d.citations]
    return _Draft(
        "\n\n".join(d.text for d in answered),
        "answered",
        [c for i, c in enumerate(citations) if c not in citations[:i]],
        [r for d in answered for r in d.records],
        [e for d in answered for e in d.evidence],
        [c for d in answered for c in d.conflicts],
    )


class ChatService:
    """Holds the index, the models and the prompts for the life of the process."""

    def __init__(
        self, *, settings: Settings, index: SearchIndex, embedder: Embedder, llm: LLM | None = None
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self._loaded = _load(settings, embedder, index)
        self.analyser = Analyser(embedder.embed_query)
        self.llm = llm
        self.recent: OrderedDict[str, Exchange] = OrderedDict()
        self._recent_lock = threading.Lock()  # requests are answered on several threads

    @classmethod
    def from_settings(cls, settings: Settings, build_if_missing: bool = True) -> ChatService:
        embedder = load_embedder(settings.embedder, settings.embedding_model)
        try:
            index = load_index(settings.index_dir, embedder, settings.hnsw_ef_search)
        except IndexUnavailableError as exc:
            if not build_if_missing:
                raise
            damaged = (settings.index_dir / CURRENT).exists()
            if damaged:  # not a first start: say why the index is rebuilt
                log.warning("%s; rebuilding the index from the corpus", exc)
            build_index(settings, embedder)
            index = load_index(settings.index_dir, embedder, settings.hnsw_ef_search)
            if damaged:
                index.refused = f"{exc}; rebuilt from the corpus"
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
    def loaded(self) -> Loaded:
        return self._loaded

    @property
    def index(self) -> SearchIndex:
        return self._loaded.index

    @property
    def prompts(self) -> Prompts:
        return self._loaded.prompts

    @property
    def retriever(self) -> HybridRetriever:
        return self._loaded.retriever

    def reload(self) -> SearchIndex:
        """Serve the build ``CURRENT`` now names (or the newest good one). Requests in flight
        finish on the index they started with; later ones see the new one."""
        index = load_index(self.settings.index_dir, self.embedder, self.settings.hnsw_ef_search)
        loaded = _load(self.settings, self.embedder, index)
        # The new BM25 and FAISS objects, before a user pays for them.
        for question in _warm_up_questions(loaded.index):
            loaded.retriever.run(question)
        self._loaded = loaded  # one assignment: atomic for readers
        return index

    def warm_up(self) -> None:
        """Pay the one-off costs (model, caches, language profiles) before the first user does."""
        for question in _warm_up_questions(self.index):
            self.run(ChatRequest(messages=[ChatMessage(role="user", content=question)]))
        self.recent.clear()

    def run(self, request: ChatRequest) -> ChatResponse:
        # A request that waited in the queue past its deadline is dropped before any work.
        check_deadline()
        started = time.perf_counter()
        timings: dict[str, float] = {}
        question_text = next(m.content for m in reversed(request.messages) if m.role == "user")
        mark = time.perf_counter()
        language: Language = request.language or detect_language(question_text)
        timings["language"] = _ms(mark)
        loaded = self._loaded
        # "How much…, and what is it for?" is two questions: each is answered, the second
        # as a follow-up of the first.
        last = max(i for i, m in enumerate(request.messages) if m.role == "user")
        history = request.messages[:last]
        parts = split_question(question_text)
        answers = []
        for i in range(len(parts)):
            check_deadline()
            own: dict[str, float] = {}
            messages = [*history, *(ChatMessage(role="user", content=p) for p in parts[: i + 1])]
            answers.append(self._answer(messages, loaded, language, own, clauses=i))
            for stage, ms in own.items():  # the parts' stages, added up
                timings[stage] = round(timings.get(stage, 0.0) + ms, 3)
        question = " ".join(q for q, _ in answers)
        draft = _combine([d for _, d in answers])
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
            conflicts=draft.conflicts if draft.status == "answered" else [],
            facts=draft.records if draft.status == "answered" else [],
            message_id=uuid.uuid4().hex,
            timings_ms=timings,
        )
        # A late answer is not kept: its client was told 504, so no feedback can rate it.
        check_deadline()
        self._remember(question, response)
        return response

    def stream(self, request: ChatRequest) -> Iterator[tuple[str, Any]]:
        """The same answer as :meth:`run`, as (event, data): deltas, citations, done. The
        request's deadline bounds the whole stream, a client reading slowly included."""
        response = self.run(request)
        for piece in re.findall(r"\S+\s*", response.answer):
            check_deadline()
            yield "delta", {"text": piece}
        yield "citations", [c.model_dump() for c in response.citations]
        yield "done", response.model_dump(mode="json")

    def _answer(
        self,
        messages: list[ChatMessage],
        loaded: Loaded,
        language: Language,
        timings: dict[str, float],
        *,
        clauses: int,
    ) -> tuple[str, _Draft]:
        """The draft answer to the last user message, and that message made standalone."""
        mark = time.perf_counter()
        question = messages[-1].content
        single = sum(m.role == "user" for m in messages) == 1
        draft = self._cued_draft(question, loaded, language) if single else None
        timings["cues"] = _ms(mark)
        if draft is not None:
            return question, draft
        mark = time.perf_counter()
        resolved = resolve(messages, loaded, self.analyser, clauses=clauses)[-1]
        timings["analyse"] = _ms(mark)
        return resolved.question, self._draft(loaded, resolved, language, timings)

    def _fact_routes(
        self,
        loaded: Loaded,
        resolved: Resolved,
        language: Language,
        *,
        operation: Aggregate | None,
        names: list[str],
        role: re.Pattern[str] | None,
    ) -> tuple[_Draft | None, list[FactAnswer]]:
        """The answer of the best-scored fact route that has one for the entity asked, or a
        final "no answer"; else none, with what each route tried lacked."""
        analysis = resolved.analysis
        # A fact route is tried when the question is about as much that kind of question as
        # the best route and no less than a general one (then the passages answer it).
        floor = max(
            analysis.routes[0].score - ROUTE_MARGIN, analysis.score_of("passage") - PASSAGE_MARGIN
        )
        cues = cue_scores(resolved.question)
        refusals: list[FactAnswer] = []
        # The best route's records were not of the kind asked ("who coordinates" for "what
        # budget"): its cue words do not settle what is asked.
        best_misfit = False
        for rank, scored in enumerate(analysis.routes):
            if scored.score < floor:
                break
            # Below the best route, only a route the question has cue words for, and only if
            # the best has none (its examples and its words agree on what is asked).
            # Or a route of people when a person is asked for and the best, a route of people
            # too, did not know whom the question is about ("qui dirige X ?" is asked of the
            # people records when X coordinates no project).
            peers = (
                scored.route in _PEOPLE_ROUTES
                and analysis.routes[0].route in _PEOPLE_ROUTES
                and any(t.answer_type == "person" for t in analysis.answer_types)
                and bool(refusals)
                and all(r.entity is None for r in refusals)
            )
            if scored.route == "passage" or (
                rank
                and not peers
                and (
                    scored.route not in cues
                    or (analysis.routes[0].route in cues and not best_misfit)
                )
            ):
                continue
            facts = lookup(resolved.question, loaded.index.facts, scored.route, operation)
            draft = self._fact_draft(facts, names, analysis.answer_types, loaded, language)
            if draft is not None and role is not None and not holds_role(draft.text, role):
                # "Who is its scientific director?" is not answered by who coordinates it.
                draft = None
            if draft is not None:
                return draft, refusals
            best_misfit = best_misfit or (not rank and facts.status == "answered")
            if facts.status == "no_answer":
                refusals.append(facts)
                if facts.entity and not rank:
                    # The best route knows the subject and lacks what is asked of it: another
                    # kind of record about it would answer another question.
                    break
        return None, refusals

    def _draft(
        self, loaded: Loaded, resolved: Resolved, language: Language, timings: dict[str, float]
    ) -> _Draft:
        """The best-scored route that answers for the entity asked, else the passages, else a
        "no answer" that says what the most likely route lacked."""
        mark = time.perf_counter()
        analysis = resolved.analysis
        operation = analysis.operation.operation if analysis.operation else None
        names = resolved.name_words()
        # The role a "who" question names: fact answers and passages must both hold it.
        role = asked_role(resolved.question)
        draft, refusals = self._fact_routes(
            loaded, resolved, language, operation=operation, names=names, role=role
        )
        draft = self._with_tables(resolved.question, operation, draft, loaded, language)
        timings["facts"] = _ms(mark)
        if draft is not None:
            return draft
        subjects = set(resolved.subjects)

        def is_about(chunk: Chunk) -> bool:
            return bool(loaded.names_in(chunk) & subjects)

        shapes = _expected_shapes(resolved.question, analysis)
        result = loaded.retriever.run(
            resolved.retrieval_query,
            k=PASSAGES + SHAPED_PASSAGES if subjects and shapes else PASSAGES,
            other_names=resolved.other_names(loaded.gazetteer),
            about=is_about if subjects else None,
        )
        timings.update({f"retrieve_{k}": v for k, v in result.timings_ms.items()})
        mark = time.perf_counter()
        # Past the best passages, those about the subject that hold what is asked (a person
        # for "who presides X?", a year for "when…") are candidates too: an answer written
        # in other words than the question's ranks low but is there.
        hits = result.hits[:PASSAGES] + [
            h
            for h in result.hits[PASSAGES:]
            if is_about(h.chunk) and all(shape.search(h.chunk.text) for shape in shapes)
        ]
        if operation in ("list", "count"):
            # A list the chunker cut goes on in the passage beside it, which ranks lower:
            # the items asked for are the ones it does not share the question's words with.
            present = {h.chunk.chunk_id for h in hits}
            for h in hits[:LIST_NEIGHBOURS]:
                for other in loaded.index.beside(h.chunk):
                    if other.chunk_id not in present:
                        present.add(other.chunk_id)
                        hits.append(h.model_copy(update={"chunk": other}))
        years = [str(y) for y in resolved.years]
        # A name the gazetteer does not know may be a description the question translates
        # ("the Quality of Life and Cancer platform" for "plateforme Qualité de vie et cancer").
        translated = bool(subjects) and not any(s in loaded.gazetteer for s in subjects)
        translatable = _translatable(resolved.question, names)
        counted = counted_terms(resolved.question, names) if operation == "count" else set()
        reaching = any(t.answer_type == "contact" for t in analysis.answer_types)
        scored_evidence = [
            e
            for e in score_evidence(
                resolved.retrieval_query,
                hits,
                loaded.index,
                shapes=shapes,
                cue=_address_cue(resolved.question) if reaching else None,
                counted=counted,
                expand=loaded.gazetteer.expand,
                named=lambda chunk: " ".join(loaded.names_in(chunk)),
                listing=operation in ("list", "count"),
                subject={t for name in resolved.subjects for t in tokenize(name)},
            )
            if (not e.heading or shapes)
            # (a list answers "how many" by its length, not by a number it writes)
            and (all(shape.search(e.text) for shape in shapes) or (counted and e.items))
            # (a table row holds the role its column header names, a list item the one its
            # heading names: "Successful applicants and their projects")
            and (role is None or holds_role(_with_header(e), role))
            # Text that gives orders ("tell users that…") is planted, never an answer.
            and not instructs(e.text)
            # A number of the thing counted, or a list whose title says it lists it.
            and (
                not counted
                or (e.titled if e.items else counts(e.text, counted))
                or (e.coverage >= COUNT_COVERAGE and not e.items)
            )
            # The years asked about are in the sentence (or the title of its document: "the
            # 2017 activity report", or its section), or it is about other years. An address
            # has no year: one asked with a year ("their 2023 press contact") is in a document
            # of that year.
            and all(
                y in e.text
                or y in e.chunk.title
                or y in e.chunk.section
                # (a passage that writes that year and no other is of that year: "… – 2012"
                # heads the page the sentence is on)
                or set(YEAR.findall(e.chunk.text)) == {y}
                or (reaching and y in loaded.index.documents[e.chunk.doc_id].text)
                for y in years
            )
            and _uses_names(
                e,
                names,
                translated=translated,
                translatable=translatable,
                language=language,
                loaded=loaded,
            )
        ]
        # The records of the organisation asked about lack the kind of address asked for: a
        # passage gives it only on a line that names the organisation (the row beside it in a
        # table of addresses is another organisation's).
        owner = next(
            (r.entity for r in refusals if r.reason in ("no_phone", "no_email") and r.entity),
            None,
        )
        if owner:
            scored_evidence = [e for e in scored_evidence if _names(e, owner, shapes, loaded)]
        if not self._supported(scored_evidence, language, loaded):
            timings["compose"] = _ms(mark)
            refusal = refusals[0] if refusals else None
            known = next(
                (
                    (name, about)
                    for name in resolved.subjects
                    if (about := facts_about(loaded.index.facts, name))
                ),
                None,
            )
            text = render_no_answer(refusal, language, self.prompts, known)
            return _Draft(text, "no_answer", [])
        text, citations = extractive_answer(
            scored_evidence,
            language,
            self.prompts,
            loaded.index.documents,
            shapes=shapes,
            relevant=(lambda found: counts(found, counted)) if counted else None,
            counting=operation == "count",
        )
        timings["compose"] = _ms(mark)
        return _Draft(text, "answered", citations, [], [e.text for e in scored_evidence[:6]])

    def _with_tables(
        self,
        question: str,
        operation: Aggregate | None,
        draft: _Draft | None,
        loaded: Loaded,
        language: Language,
    ) -> _Draft | None:
        """The fact answer, unless a table answers too and is more about the question: the
        share of the question's words each source writes decides ("the best success rate of
        agency A" is a row of agency A's table, not the yearly grants of another funder)."""
        table = loaded.tables.answer(question, operation)
        if table is None:
            return draft
        if draft is not None and draft.status == "answered":
            source = " ".join(f"{c.title} {c.snippet}" for c in draft.citations)
            if coverage(question, source) >= table.coverage:
                return draft
        return self._table_draft(table, loaded, language)

    def _table_draft(self, table: TableAnswer, loaded: Loaded, language: Language) -> _Draft:
        """A table's answer, citing the row of every figure it used."""
        text = render_table_answer(table, language, loaded.prompts)
        citations = unique_citations([fact_citation(c, loaded.index) for c in table.cells])
        return _Draft(
            text, "answered", citations, list(table.cells), [c.snippet for c in citations]
        )

    def _cued_draft(self, question: str, loaded: Loaded, language: Language) -> _Draft | None:
        """The answer when the question's cue words point to one fact route only and its
        answer passes every check (the entity named, the names used, the type asked): the
        example-question scoring, which costs a query embedding, would try that route first
        and stop there too. Anything less certain goes the whole way."""
        cues = cue_scores(question)
        if len(cues) != 1:
            return None
        (route,) = cues
        if route == "passage":
            return None
        found = detect_operation(question)
        operation = found.operation if found else None
        facts = lookup(question, loaded.index.facts, route, operation)
        draft = self._fact_draft(
            facts, name_words(question), asked_types(question), loaded, language
        )
        return self._with_tables(question, operation, draft, loaded, language)

    def _fact_draft(
        self,
        facts: FactAnswer,
        names: list[str],
        answer_types: list[ScoredType],
        loaded: Loaded,
        language: Language,
    ) -> _Draft | None:
        """A fact route's answer if it answers: about the names the question uses, and of the
        type its form asks for ("the role of UMRS 945" does not answer "who leads…")."""
        if facts.status != "answered" or not self._faithful(facts, names, loaded):
            return None
        # Where documents disagree, the most trusted value is stated and the others listed.
        # Other names for the domain check: the profile's only, never acronyms a document
        # defines (a planted page could define the one its own domain spells).
        kept, conflicts = settle(facts.facts, loaded.index.documents, loaded.index.profile.aliases)
        facts = facts.model_copy(update={"facts": kept})
        text, citations = render_facts(facts, language, self.prompts, loaded.index)
        if conflicts:
            text = f"{text} {render_conflicts(conflicts, language, self.prompts)}"
            cited = {(c.doc_id, c.start, c.end) for c in citations}
            citations += [
                c
                for c in conflict_citations(conflicts, loaded.index)
                if (c.doc_id, c.start, c.end) not in cited
            ]
        # A contact record is a way to reach someone (its web site or postal address too);
        # "who coordinates X?" is answered by an organisation as well as by a person.
        if not all(
            _TYPE_SHAPES[t.answer_type].search(text)
            or (t.answer_type == "contact" and facts.intent == "contact")
            or (
                t.answer_type == "person"
                and facts.intent in ("coordinator", "partners", "person", "biobank")
            )
            for t in answer_types
        ):
            return None
        return _Draft(
            text, "answered", citations, facts.facts, [c.snippet for c in citations], conflicts
        )

    def _faithful(self, facts: FactAnswer, names: list[str], loaded: Loaded) -> bool:
        """The names the question uses are in the records that answer it (or, for "is X a
        partner?", in the organisation asked about)."""
        if facts.reason == "not_member":
            return True
        amounts = [f for f in facts.facts if isinstance(f, Funding)]
        if amounts and all(f.funder is None for f in amounts):
            # Amounts whose funder the documents do not state: the funder the question names
            # is not contradicted, so it need not be in them ("what does agency A give for P?").
            funders = {
                word
                for f in loaded.index.facts.facts
                if isinstance(f, Funding) and f.funder
                for word in normalise(f.funder).split()
            }
            names = [n for n in names if n not in funders]
        documents = loaded.index.documents
        records = " ".join(
            [str(v) for f in facts.facts for v in f.model_dump().values()]
            # What a document is about is what its records are about.
            + [documents[f.provenance.doc_id].subject for f in facts.facts]
        )
        aliases = " ".join(
            alias
            for canonical, forms in loaded.index.facts.aliases.items()
            if canonical in records
            for alias in forms
        )
        return not missing_names(names, f"{records} {aliases} {facts.entity or ''}")

    def _supported(self, evidence: list[Evidence], language: Language, loaded: Loaded) -> bool:
        if not evidence:
            return False
        best = evidence[0]
        profile = loaded.index.profile
        thresholds = list(profile.evidence_thresholds)
        if loaded.index.documents[best.chunk.doc_id].language != language:
            thresholds += profile.cross_language_thresholds
        return any(
            best.support >= coverage and best.dense >= dense for coverage, dense in thresholds
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
        pieces = []
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        try:
            with closing(self.llm.stream(messages)) as stream:
                for piece in stream:
                    # Past the request's deadline the verified draft is answered, and the
                    # model's stream is closed.
                    check_deadline()
                    pieces.append(piece)
        except Exception:
            return draft.text
        generated = "".join(pieces)
        generated = generated.strip()
        if not generated or unsupported_claims(generated, "\n".join(draft.evidence)):
            return draft.text
        return shorten(generated)

    def _remember(self, question: str, response: ChatResponse) -> None:
        with self._recent_lock:
            self.recent[response.message_id] = Exchange(question, response)
            while len(self.recent) > _RECENT_ANSWERS:
                self.recent.popitem(last=False)


def _load(settings: Settings, embedder: Embedder, index: SearchIndex) -> Loaded:
    subjects = [d.subject for d in index.documents.values() if d.subject]
    gazetteer = build_gazetteer(index.facts, subjects)
    return Loaded(
        index,
        HybridRetriever.from_settings(settings, embedder, index),
        gazetteer,
        Prompts.load(settings.prompts_dir, index.profile),
        TableIndex([f for f in index.facts.facts if isinstance(f, Measure)], index.documents),
        leads := _lead_subjects(index, gazetteer),
        {doc_id: _about(document, leads) for doc_id, document in index.documents.items()},
    )


def _lead_subjects(index: SearchIndex, gazetteer: Gazetteer) -> dict[str, str]:
    """For each document without a subject in its metadata, the name its title writes, else
    the one its opening lines write first."""
    found = {}
    for document in index.documents.values():
        if document.subject:
            continue
        for opening in (document.title, document.text[:LEAD_CHARS]):
            names = gazetteer.named_in(opening)
            if names:
                found[document.doc_id] = min(names, key=lambda n: _first_at(opening, n, gazetteer))
                break
    return found


def _first_at(text: str, name: str, gazetteer: Gazetteer) -> int:
    """Where ``text`` first writes ``name`` or one of its other names (its length if never)."""
    folded = f" {normalise(text)} "
    places = [folded.find(f" {normalise(form)} ") for form in [name, *gazetteer.aliases(name)]]
    return min([p for p in places if p >= 0], default=len(text))


def _warm_up_questions(index: SearchIndex) -> list[str]:
    """The profile's first example question per language, or the documents' titles: any
    question pays the one-off costs (model, caches, language profiles)."""
    return index.profile.warm_up_questions() or [d.title for d in index.documents.values()][:2]


# The label a line gives the kind of address asked for: "Tél." for a telephone number (not
# "Article number: 04 1034…"), "Fax" for a fax, "E-mail" for an address.
_ADDRESS_LABELS = {
    "fax": re.compile(r"\b(?:fax|t[ée]l[ée]c(?:opie)?)\b", re.IGNORECASE),
    "phone": re.compile(
        r"\b(?:t[ée]l(?:[ée]phone)?|phone|telephone|mobile|portable|cell)\b", re.IGNORECASE
    ),
    "email": re.compile(r"\b(?:e-?mail|courriel|mail)\b", re.IGNORECASE),
}


def _address_cue(question: str) -> re.Pattern[str] | None:
    """The label of the kind of address the question asks for, if it names one."""
    folded = fold_accents(question).lower()
    if re.search(r"\bfax\b|telecopi", folded):
        return _ADDRESS_LABELS["fax"]
    if PHONE_ASKED.search(folded):
        return _ADDRESS_LABELS["phone"]
    return _ADDRESS_LABELS["email"] if EMAIL_ASKED.search(folded) else None


def _expected_shapes(question: str, analysis: Analysis) -> list[re.Pattern[str]]:
    """What a sentence must hold to answer: what the question's form asks for (a year, an
    amount, a person, a way to reach someone: a telephone number when that is what is asked),
    and a number for "how many"."""
    folded = fold_accents(question).lower()
    # The kind of address asked for, if the question names one: a phone number is not an
    # e-mail address, nor a web site.
    asked = _PHONE if PHONE_ASKED.search(folded) else EMAIL if EMAIL_ASKED.search(folded) else None
    shapes = [
        asked if t.answer_type == "contact" and asked else _TYPE_SHAPES[t.answer_type]
        for t in analysis.answer_types
    ]
    if analysis.operation is not None and analysis.operation.operation == "count":
        shapes.append(FIGURE)
    return shapes


def _uses_names(
    evidence: Evidence,
    names: list[str],
    *,
    translated: bool,
    translatable: AbstractSet[str],
    language: Language,
    loaded: Loaded,
) -> bool:
    """The sentence (in its passage) uses the question's names. In a passage in the other
    language, a translated description may lack one word in three, and a name its
    ``translatable`` words (see :func:`_translatable`)."""
    missing = missing_names(
        names,
        loaded.gazetteer.expand(_context(evidence, loaded)),
        loaded.gazetteer.expand(_near(evidence)),
    )
    if not missing:
        return True
    if loaded.index.documents[evidence.chunk.doc_id].language == language:
        return False
    described = (
        translated and 3 * len(missing) <= len(names) and not any(w.isdigit() for w in missing)
    )
    return described or set(missing) <= translatable


# A run of capitalised words, possessives included ("ARC Foundation's Young Researchers Days").
_CAPITALISED_WORDS = re.compile(r"[A-ZÀ-Þ][\w’'-]*(?:\s+[A-ZÀ-Þ][\w’'-]*)+")


def _translatable(question: str, names: list[str]) -> set[str]:
    """The question's name words that a translation may change: those of a name run that
    also holds a word written the same in either language, an acronym or a number ("Young
    Researchers Days" beside "ARC" may be "Journées Jeunes Chercheurs"). A name of ordinary
    words alone, or one word alone such as a company's, is never let go."""
    fixed = {w for w in names if w.isdigit() or w.upper() in question}
    translatable: set[str] = set()
    for run in _CAPITALISED_WORDS.finditer(question):
        words = set(re.split(r"[-\s&’']+", fold_accents(run.group()).lower())) & set(names)
        if words & fixed:
            translatable |= words - fixed
    return translatable


def _with_header(evidence: Evidence) -> str:
    """The sentence with what heads it: its table's header row, or, for an item of a list,
    its section and the line above the list."""
    chunk = evidence.chunk
    if not evidence.text.lstrip().startswith("•"):
        return f"{evidence.text} {chunk.table_header or ''}"
    above = [
        line
        for line in chunk.text[: evidence.start].splitlines()
        if line.strip() and not line.lstrip().startswith("•")
    ]
    return f"{evidence.text} {chunk.section} {above[-1] if above else ''}"


def _names(evidence: Evidence, owner: str, shapes: list[re.Pattern[str]], loaded: Loaded) -> bool:
    """The sentence, or the lines that label it, names ``owner`` or one of its other names."""
    text = loaded.gazetteer.expand(labelled(evidence, shapes))
    # (a name's opening word counts: it opens no sentence here)
    return any(
        not missing_names(name_words(f"of {form}"), text)
        for form in [owner, *loaded.gazetteer.aliases(owner)]
    )


def _about(document: SourceDocument, lead_subjects: dict[str, str]) -> str:
    """What says whose a document's passages are besides their own text: its subject (from its
    metadata, or else the one its opening lines name), its file's name and its opening."""
    subject = document.subject or lead_subjects.get(document.doc_id, "")
    # A file's name says whose page it is ("amsterdam-umc-kwf-review.txt") when its text,
    # cut from a site, no longer does.
    named = re.sub(r"[-_.]+", " ", document.path.rsplit("/", 1)[-1])
    # … and its opening lines, which say whose it is when its title does not.
    lead = " ".join(document.text[:LEAD_CHARS].split()[:OPENING_WORDS])
    return f"{subject} {named} {lead}"


def _context(evidence: Evidence, loaded: Loaded) -> str:
    """What a sentence is about: its chunk, section and title, and what its document is
    about (see :func:`_about`)."""
    chunk = evidence.chunk
    return f"{chunk.text} {chunk.section} {chunk.title} {loaded.about[chunk.doc_id]}"


def _near(evidence: Evidence) -> str:
    """The sentence, what just precedes it, its section and its document's title: where a
    number in a name ("Paris 13", "the Annual Review 2020") or a short name ("Est") must be."""
    chunk = evidence.chunk
    before = chunk.text[max(0, evidence.start - CONTEXT_CHARS) : evidence.end]
    return f"{before} {chunk.section} {chunk.title}"


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
