"""What a question asks, each decision with a score: the routes that may answer it (nearest
example questions, kept as data in ``questions.toml``, plus cue words as extra evidence), the
operation over figures, and whether a turn continues the previous one.

No decision here is final: the answer layer tries the routes best first and falls through to
the next one, then to the passages, when a route has no answer for the entity named.

Example::

    analyser = Analyser(embedder.embed_query)
    analysis = analyser.analyse("I'd like to license a molecule found at Institut Lumière")
    analysis.routes[0].route   # "contact"
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
from pydantic import BaseModel
from rapidfuzz import process
from rapidfuzz.distance import OSA

from cancerassist.text import YEAR, fold_accents, stopwords, term_variants, tokenize

# The routes the facts answer, and the passages' route.
FactRoute = Literal[
    "contact",
    "funding",
    "coordinator",
    "partners",
    "role",
    "person",
    "biobank",
    "project",
    "figure",
]
Route = FactRoute | Literal["passage"]
Operation = Literal[
    "value",
    "list",
    "total",
    "average",
    "max",
    "min",
    "difference",
    "increase",
    "decrease",
    "trend",
    "count",
    "membership",
]

# Cue words (questions.toml, [cues]) are evidence, not routes: each adds CUE_WEIGHT to the
# route's exemplar similarity (cosines of multilingual-e5 sit in a narrow band, about
# 0.75-0.95, so 0.03 is a clear push that a much closer exemplar still outweighs).
CUE_WEIGHT = 0.03


# Operations over figures: the most specific pattern that matches wins, by its weight.
_OPERATIONS: list[tuple[Operation, float, re.Pattern[str]]] = [
    ("increase", 0.9, re.compile(
        r"(?:plus fort|plus grand|plus important|biggest|largest|greatest|sharpest)\w*\s+"
        r"(?:[\w'-]+\s+){0,3}(?:hausse|augmentation|progression|increase|rise|growth|jump)"
    )),
    ("decrease", 0.9, re.compile(
        r"(?:plus fort|plus grand|plus important|biggest|largest|greatest|sharpest|steepest)\w*\s+"
        r"(?:[\w'-]+\s+){0,3}(?:baisse|diminution|chute|recul|drop|decrease|fall|decline|cut)"
    )),
    ("difference", 0.8, re.compile(
        r"difference|ecart|how much more|how much less|how many more|how many fewer|"
        r"combien (?:d'\w+ |de \w+ )?de (?:plus|moins)|par rapport a|compared (?:to|with)|"
        r"de combien .* (?:augmente|baisse|diminue|plus|moins)|by how much"
    )),
    ("trend", 0.7, re.compile(
        r"trend|evol|tendance|over the years|au fil|up or down|hausse ou (?:en )?baisse|"
        r"augmente\w* ou (?:diminue|baisse)|increase\w* or decrease|went (?:up|down)|"
        r"go(?:ne)? (?:up|down)|monte|progress"
    )),
    ("average", 0.8, re.compile(r"moyenne|average|\bmean\b|en moyenne|par an en moy")),
    ("total", 0.7, re.compile(
        r"\btotal\b|\bsum\b|somme (?:des|de tous|totale)|cumul|altogether|en tout|au total|"
        r"combined|additionn|together|ensemble"
    )),
    ("min", 0.6, re.compile(
        r"lowest|smallest|minimum|\bleast\b|plus (?:faible|bas|petit)|le moins\b|minimal"
    )),
    ("max", 0.6, re.compile(
        r"highest|largest|biggest|maximum|\bmost\b|plus (?:eleve|important|gros)|maximal|record"
    )),
    ("max", 0.5, re.compile(r"\bmeilleur\w*|\bbest\b")),
    ("membership", 0.5, re.compile(
        r"^(?:is|are|was|does|did|est-ce que|fait-il|fait-elle)\b|"
        r"\b(?:fait|font)(?:-(?:il|elle|ils|elles))? partie|\best-(?:il|elle)\b|\bamong\b|parmi"
    )),
    # ("a phone number of X" asks for an address, not a count)
    ("count", 0.55, re.compile(
        r"how many|combien de|combien d'|nombre de|"
        r"(?<!phone )(?<!fax )(?<!mobile )(?<!telephone )(?<!contact )number of"
    )),
    ("list", 0.3, re.compile(
        # ("which" before a plural asks for several: "which partners", not "which university")
        r"\blist|liste|\bwhich\s+(?:\w+\s+)?\w+s\b|\bwhat are\b|\bquel(?:le)?s\b|"
        r"\bname (?:the|all)|\bcite|enumer|"
        r"all the|tous les|toutes les"
    )),
]  # fmt: skip

# A turn that leans on the previous one: it opens with a conjunction or "what about", or
# refers back with a pronoun; a turn that names its own subject does not.
_OPENS_FOLLOW_UP = re.compile(
    r"^\s*(?:and|et|or|ou|what about|how about|same|idem|also|aussi|puis|then|ensuite|"
    r"mais|but|quid|donc|so|alors|ok so|et donc)\b"
)
_REFERS_BACK = re.compile(
    r"\b(?:its|it|their|them|his|her|he|she|they|this one|that one|those|these|the same|"
    r"son|sa|ses|leur|leurs|il|elle|ils|elles|celui-ci|celle-ci|celui-la|celle-la|ces|cette|"
    r"ce projet|this project|that project|ces annees|those years|ces deux|those two|"
    r"la meme|le meme|there|y|ca|cela)\b"
    # The French clitic "en" before its verb: "Qui en est le coordinateur ?"
    r"|\b(?:qui|que|combien|quel\w*)\s+en\b|\ben (?:est|sont|a|ont|fait|compte)\b"
)
# Impersonal uses of those pronouns refer to nothing ("Combien y a-t-il…", "il faut", "is it
# true that…").
_IMPERSONAL = re.compile(
    r"\by a-t-il\b|-t-(?:il|elle)\b|-(?:il|elle)s?\b|\bil (?:y a|faut|existe|s'agit)\b|"
    r"\b(?:it is|is it|it's)\b"
)
FOLLOW_UP_THRESHOLD = 0.5


AnswerType = Literal["person", "year", "amount", "contact"]
# A conjunction that may open a turn or a clause ("Et qui…", "and what…").
_OPENING = r"(?:and|et|but|mais|so|alors|donc)"
# Question words, accent-folded ("ou" is "où").
_QUESTION_WORDS = (
    r"what|which|who|whom|when|where|why|how|quel\w*|qui|quand|ou|pourquoi|comment|combien|"
    r"quoi|lequel|laquelle"
)
_OWN_QUESTION = re.compile(rf"\b(?:{_QUESTION_WORDS})\b")


def asks_in_own_words(text: str) -> bool:
    """The turn has a question word of its own ("And where…?"), not only an ellipsis ("And in
    2017?", "Et pour l'Institut Pasteur ?")."""
    return bool(_OWN_QUESTION.search(fold_accents(text).lower()))


# … of which these also open relative clauses ("l'institut, qui a été fondé…") or mean "or":
# after a bare comma they start no question.
_RELATIVE = r"qui|ou|which|who|whom|where|lequel|laquelle"

# What the question's form asks for, whatever its subject: the answer sentence must hold one.
_ASKED: list[tuple[AnswerType, float, re.Pattern[str]]] = [
    ("year", 0.9, re.compile(
        r"\b(?:when|quand|what years?|which years?|quelles? annees?|depuis quand|since when|"
        r"depuis quelle annee|since which year|in which year|en quelle annee)\b"
    )),
    ("amount", 0.8, re.compile(
        r"\bhow much\b|\bcombien(?! d)|\bmontant\b|\bquelle somme\b|\bbudget\b|\bco[u]?st\b|"
        r"\bprix\b|\bprice\b"
    )),
    ("person", 0.7, re.compile(
        rf"^\W*(?:{_OPENING}\s+)?(?:who|qui)\b.*\b(?:direct|dirig|presid|chair|head|tete|"
        r"porte-parole|spokes|"
        r"chercheur|researcher|scientist|fond[ae]|founder|ceo|manag|responsib|responsable|"
        r"in charge|charge de|runs?\b|coordin|coordonn|leads?\b|mene|menent|heads?\b)"
        r"|\b(?:a la tete|at the head)\b"
        # "Quel chercheur…", "Which researcher…": a person by what they are.
        r"|\b(?:quel|quelle|which|what)\s+(?:chercheu\w*|researcher|scientist|personne|person|"
        r"directeur|directrice|director|president\w*|coordinat\w*|coordonnat\w*|responsable|"
        r"professeur|professor|medecin|doctor|clinicien\w*|clinician)\b"
    )),
    # A way to reach someone, asked in so many words ("which mission is about technology transfer?"
    # is about technology transfer, it asks for a mission).
    ("contact", 0.8, re.compile(
        r"\bcontact|\be-?mail|courriel|\bjoindre\b|\bphone\b|\btelephone\b|\bfax\b|telecopi|"
        r"\bmobile (?:number|phone)|\b(?:numero de )?portable\b|"
        r"\bnumero de (?:telephone|tel)\b|\bwhom\b|\ba qui\b|\badresse (?:e-?)?mail\b|"
        r"\b(?:postal|mailing|web) address|\badresse (?:postale|du site)|"
        r"qui (?:dois-je |faut-il |peut-on )?(?:contacter|m'adresser)|"
        r"\bwho (?:should|do|can|could|to)\b.*\b(?:contact|ask|talk|write|turn|reach|call)\b|"
        r"\bwho handles\b|qui s'occupe|qui gere|site (?:web|internet)|web ?site|\burl\b"
    )),
]  # fmt: skip


_ASKED_ROLE = re.compile(
    rf"^\W*(?:{_OPENING}\s+)?"
    r"(?:(?:who is|who was|who's|qui (?:en )?est|qui (?:en )?etait|qui sera)\s+"
    r"(?:the|le|la|l'|l’|[a-z0-9-]+'s)\s*(?P<role>[a-z-]{4,})\b"
    # … or its verb: "qui dirige…", "who chairs…", "qui était à la tête…"
    r"|(?:who|qui)\s+(?:(?:en|y|currently|actuellement|est|sont|etait|was|is|a)\s+)*"
    r"(?P<verb>(?:a la )?[a-z-]{4,})\b)"
)
# Nouns that ask for someone without naming a role.
_NOT_ROLES = frozenset("person personne people contact".split())


@lru_cache(maxsize=1)
def _role_families() -> list[re.Pattern[str]]:
    """Each family's words, a pattern run on accent-folded lower-case text."""
    table: dict[str, str] = _load_questions(_QUESTIONS)["roles"]
    return [re.compile(pattern) for pattern in table.values()]


def names_role(text: str) -> bool:
    """``text`` names a post of one of the role families ("Président", "Directeur général")."""
    folded = fold_accents(text).lower()
    return any(p.search(folded) for p in _role_families())


def asked_role(question: str) -> re.Pattern[str] | None:
    """The role a "who" question names, as a pattern a sentence answering it must match:
    "qui est le président…" and "who chairs…" both want "présid…" or "chair…" (see
    ``[roles]`` in questions.toml); a role noun of no family is wanted as written
    ("treasurer", in its forms and translations). A verb of no role ("who takes part") wants
    nothing."""
    match = _ASKED_ROLE.search(fold_accents(question).lower())
    if match is None:
        return None
    word = (match.group("role") or match.group("verb") or "").removeprefix("a la ")
    family = next((p for p in _role_families() if p.match(word)), None)
    if family is not None:
        return family
    if match.group("role") and word not in _NOT_ROLES:
        forms = {f for variants in term_variants(word, translate=True) for f in variants}
        return re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(forms))) + ")")
    return None


def holds_role(sentence: str, role: re.Pattern[str]) -> bool:
    """The sentence names the role: its words or their stems match ``role``."""
    folded = fold_accents(sentence).lower()
    return bool(role.search(folded) or role.search(" ".join(tokenize(sentence))))


class ScoredType(BaseModel):
    answer_type: AnswerType
    score: float


def asked_types(question: str) -> list[ScoredType]:
    """Every kind of thing the question's form asks for ("Who … when …": a person and a
    year)."""
    return [
        ScoredType(answer_type=kind, score=weight)
        for weight, kind in _weighted_matches(_ASKED, question)
    ]


class ScoredRoute(BaseModel):
    route: Route
    score: float


class ScoredOperation(BaseModel):
    operation: Operation
    score: float


class Analysis(BaseModel):
    """One question's routes (best first) and operation."""

    routes: list[ScoredRoute]
    operation: ScoredOperation | None = None
    answer_types: list[ScoredType] = []

    def score_of(self, route: Route) -> float:
        return next((r.score for r in self.routes if r.route == route), 0.0)


_QUESTIONS = Path(__file__).with_name("questions.toml")


@lru_cache(maxsize=4)
def _load_questions(path: Path) -> dict[str, Any]:
    with path.open("rb") as f:
        return tomllib.load(f)


def load_exemplars(path: Path = _QUESTIONS) -> dict[Route, list[str]]:
    table = _load_questions(path)["intents"]
    return {route: list(questions) for route, questions in table.items()}


@lru_cache(maxsize=1)
def _cues() -> list[tuple[Route, re.Pattern[str]]]:
    """Each route's cue words, a pattern run on accent-folded lower-case text."""
    return [
        (route, re.compile(pattern))
        for route, pattern in _load_questions(_QUESTIONS)["cues"].items()
    ]


def _without_names(question: str) -> str:
    """The question, folded, with the words of the names it uses left out."""
    folded = fold_accents(question).lower()
    for word in name_words(question):
        folded = re.sub(rf"\b{re.escape(word)}\b", " ", folded)
    return folded


# Operations over amounts through the years: a question that asks one of them of a year is a
# cue for the funding records ("how many millions more in 2022 than in 2019?").
_YEARLY_OPERATIONS = frozenset({"difference", "total", "average", "trend", "increase", "decrease"})


def cue_scores(question: str) -> dict[Route, float]:
    folded = fold_accents(question).lower()
    cues: dict[Route, float] = {
        route: CUE_WEIGHT for route, pattern in _cues() if pattern.search(folded)
    }
    found = detect_operation(question)
    if found and found.operation in _YEARLY_OPERATIONS and YEAR.search(question):
        cues.setdefault("funding", CUE_WEIGHT)
    return cues


_Label = TypeVar("_Label", Operation, AnswerType)


def _weighted_matches(
    table: list[tuple[_Label, float, re.Pattern[str]]], question: str
) -> list[tuple[float, _Label]]:
    """(weight, label) of every pattern of ``table`` the question's folded text matches, its
    question words mistyped or not."""
    folded = _question_words(fold_accents(question).lower().replace("’", "'"))
    return [(weight, label) for label, weight, pattern in table if pattern.search(folded)]


# The words that say what a question asks, as a typo may leave them ("wich", "combein").
_QUESTION_WORDS_FIXED = frozenset(
    "which what where when whom whose many much combien quelle quels quelles liste".split()
)


@lru_cache(maxsize=4096)
def _question_words(folded: str) -> str:
    """``folded`` with each word one slip away from a question word replaced by it."""

    def fixed(match: re.Match[str]) -> str:
        word = match.group()
        if len(word) < 4 or word in _QUESTION_WORDS_FIXED or word in stopwords():
            return word
        close = process.extractOne(word, _QUESTION_WORDS_FIXED, scorer=OSA.distance, score_cutoff=1)
        return close[0] if close else word

    return re.sub(r"[a-z]+", fixed, folded)


def detect_operation(question: str) -> ScoredOperation | None:
    found = _weighted_matches(_OPERATIONS, question)
    if not found:
        return None
    weight, operation = max(found)
    return ScoredOperation(operation=operation, score=weight)


# A second question in the same sentence: a comma or "and" before a question word
# ("Combien … , et à quoi sert cet argent ?", "How many …, and for what total?").
_PREPOSITION = r"(?:(?:for|in|on|to|from|with|dans|pour|en|a|avec|de|sur|par)\s+)?"
_SECOND_QUESTION = re.compile(
    # "…, and what…", "… et quel…": any question word after "and".
    rf"(?:,\s*|\s+)(?=(?:and|et)\s+{_PREPOSITION}(?:{_QUESTION_WORDS}|c'est quoi)\b)"
    # "…, dans quelle ville ?": after a bare comma, no word that may open a relative clause.
    rf"|,\s*(?={_PREPOSITION}(?!(?:{_RELATIVE})\b)(?:{_QUESTION_WORDS})\b)"
)
_ASKS = re.compile(
    rf"\b(?:{_QUESTION_WORDS})\b|\?|-(?:t-)?(?:il|ils|elle|elles|on)\b"
    r"|^\W*(?:is|are|was|were|do|does|did|can|has|have|est-ce)\b"
)


def split_question(text: str) -> list[str]:
    """The questions one message asks, in order; most messages ask one. Each must be a
    question ("Pour les brevets, qui contacter ?" asks one) with a word of its own besides
    the question word ("Where and when…?" asks one)."""
    # Folded letter by letter, so that a position in it is one in ``text`` ("œ" is "o").
    folded = "".join(fold_accents(c)[:1] or c for c in text).lower().replace("’", "'")
    cuts = [m.start() for m in _SECOND_QUESTION.finditer(folded) if m.start() > 0]
    parts, start = [], 0
    for cut in cuts:
        head = folded[start:cut]
        if _ASKS.search(head) and _content_words(head) and _content_words(folded[cut:]):
            parts.append(text[start:cut].strip(" ,"))
            start = cut
    parts.append(text[start:].strip(" ,"))
    # A message of punctuation only ("," ) is one question, as written: never an empty one.
    return [p for p in parts if p] or [text]


def _content_words(text: str) -> int:
    return len(term_variants(text))


def continuation_score(text: str) -> float:
    """How likely ``text`` asks the previous question again about something else ("And at
    Institut Pasteur?", "Et pour 2012 ?", "What about the average?")."""
    folded = fold_accents(text).lower().replace("’", "'")
    score = 0.6 if _OPENS_FOLLOW_UP.search(folded) else 0.0
    # An elliptical turn has (almost) no words of its own besides a name or a year.
    if len(re.findall(r"[a-z]{4,}", folded)) <= 3:
        score += 0.2
    return score


def follow_up_score(text: str, names_own_subject: bool, operates: bool = False) -> float:
    """How likely ``text`` continues the previous turn rather than starting a new topic.
    ``operates``: it asks for an operation (an average, a total…) over nothing of its own."""
    folded = fold_accents(text).lower().replace("’", "'")
    score = 0.4 if operates and not names_own_subject else 0.0
    if _OPENS_FOLLOW_UP.search(folded):
        score += 0.6
    if _REFERS_BACK.search(_IMPERSONAL.sub(" ", folded)):
        score += 0.4
    # A turn with no subject of its own may still stand alone ("What is TRIALNET?" is about
    # TRIALNET even if TRIALNET is not a known name): only a slight lean.
    score += -0.6 if names_own_subject else 0.15
    return round(score, 3)


class Analyser:
    """Holds the example questions' vectors; scores a question's routes against them."""

    def __init__(
        self,
        embed: Callable[[str], np.ndarray],
        exemplars: dict[Route, list[str]] | None = None,
    ) -> None:
        self.embed = embed
        examples = exemplars or load_exemplars()
        self._routes: list[Route] = []
        vectors = []
        for route, questions in examples.items():
            for question in questions:
                self._routes.append(route)
                vectors.append(embed(question))
        self._matrix = np.vstack(vectors).astype(np.float32)

    def analyse(self, question: str, vector: np.ndarray | None = None) -> Analysis:
        if vector is None:
            vector = self.embed(question)
        similarities = self._matrix @ vector.astype(np.float32)
        best: dict[Route, float] = {}
        for route, similarity in zip(self._routes, similarities, strict=True):
            best[route] = max(best.get(route, -1.0), float(similarity))
        # A cue word inside a name is no cue: "the Kappa Consortium" asks nothing of partners.
        for route, bonus in cue_scores(_without_names(question)).items():
            best[route] = best.get(route, 0.0) + bonus
        routes = sorted(
            (ScoredRoute(route=r, score=round(s, 4)) for r, s in best.items()),
            key=lambda r: -r.score,
        )
        return Analysis(
            routes=routes, operation=detect_operation(question), answer_types=asked_types(question)
        )


# Capitalised words that name no entity: question openers, and adjectives of countries and
# languages ("Which Belgian partner…"), which the documents write as codes or nouns.
_NOT_NAMES = frozenset(
    "i is are was were who whom what which when where why how does did do can could would "
    "should tell give list name quel quelle quels quelles qui que quoi quand comment combien "
    "sont pourquoi ou french english european belgian german dutch british finnish swedish "
    "italian spanish american chinese francais francaise anglais anglaise europeen europeenne "
    "belge allemand allemande neerlandais britannique finlandais suedois italien espagnol "
    "americain chinois ok okay hello bonjour merci thanks please".split()
)
_NAME_WORD = re.compile(r"[^\W\d_][\w’'&-]*(?:\s+\d+\b)?")
# "Réseau Est (REST)": the acronym in brackets is another name of what precedes it.
_BRACKETED_ACRONYM = re.compile(r"\(\s*[A-Z][A-Za-z]{1,7}\s*\)")


def name_phrases(question: str) -> list[str]:
    """The names the question uses, as written ("Réseau Nord-Ouest")."""
    text = _BRACKETED_ACRONYM.sub(" ", question)
    wanted = set(name_words(text))
    phrases: list[str] = []
    for match in _NAME_WORD.finditer(text):
        parts = re.split(r"[-\s&']+", fold_accents(match.group()).lower().replace("’", "'"))
        if any(p in wanted for p in parts):
            phrases.append(match.group())
    return [" ".join(phrases)] if phrases else []


def name_words(question: str) -> list[str]:
    """The words of proper names the question uses: capitalised words that do not open a
    sentence, and acronyms anywhere, with a number that follows them ("Paris 13", "U 823"),
    folded and split on hyphens ("Paris-Saclay" -> paris, saclay). An answer about these
    names must use them: one that does not is about something else."""
    text = _BRACKETED_ACRONYM.sub(" ", question)
    words: list[str] = []
    for match in _NAME_WORD.finditer(text):
        head, _, tail = match.group().replace("’", "'").partition("'")
        # "l'Université" names the university; "NCI's" names NCI.
        word = tail if tail and len(head) <= 2 and head.islower() else head
        opens = not text[: match.start()].strip() or text[: match.start()].rstrip()[-1] in ".?!:;"
        # An opening word may be any word ("Highest Region grant…"), but a compound of names
        # is a name ("Paris-Saclay tech transfer email").
        opens = opens and not re.fullmatch(r"[A-ZÀ-Þ]\w+-[A-ZÀ-Þ][\w-]*", word)
        capitals = sum(c.isupper() for c in word)
        acronym = capitals >= 2 and capitals * 2 >= sum(c.isalpha() for c in word)
        if not word or not (acronym or (word[0].isupper() and not opens)):
            continue
        for part in re.split(r"[-\s&]+", fold_accents(word).lower()):
            if (len(part) >= 3 or part.isdigit() or (acronym and len(part) == 2)) and (
                part not in _NOT_NAMES
            ):
                words.append(part)
    return list(dict.fromkeys(words))


_CAPITALISED_RUN = re.compile(
    r"(?:[A-ZÀ-Þ][\w’']*[\s-]+(?:(?:de|du|des|d’|d')[\s-]*)?){1,5}[A-ZÀ-Þ][\w’']*"
)


# Words an acronym skips: "Université Pierre et Paul Martin" is UPPM.
LINK_WORDS = frozenset("de du des d et and of the la le l".split())


def _initials(context: str) -> set[str]:
    """Acronyms a text could be called by: the initials of its runs of capitalised words
    ("Réseau Grand Ouest" -> rgo, "Val-de-Loire" -> vdl)."""
    found = set()
    for run in _CAPITALISED_RUN.finditer(context):
        words = [w for w in re.split(r"[\s’'-]+", fold_accents(run.group()).lower()) if w]
        for first in range(len(words) - 1):  # "Réseau Val-de-Loire": rvdl, vdl…
            tail = words[first:]
            found.add("".join(w[0] for w in tail))
            found.add("".join(w[0] for w in tail if w not in LINK_WORDS))
    return found


def typo_edits(word: str) -> int:
    """Edits a typo may make: a letter in a short word, two in a long one."""
    return 1 if len(word) < 8 else 2


def same_word(a: str, b: str) -> bool:
    """``b`` is ``a`` or ``a`` mistyped; words under five letters must be exact. Two letters
    swapped ("regoin") are one slip of the fingers, as a letter missed is."""
    if len(a) < 5 or len(b) < 5:
        return a == b
    return OSA.distance(a, b, score_cutoff=typo_edits(a)) <= typo_edits(a)


@lru_cache(maxsize=4096)
def _words_and_initials(context: str) -> frozenset[str]:
    """The words of ``context`` that are not stop words, and the initials of its names (a
    passage is checked once for all its sentences)."""
    common = stopwords()
    words = {w for w in re.findall(r"[a-z]+", fold_accents(context).lower()) if w not in common}
    return frozenset(words | _initials(context))


def missing_names(words: list[str], context: str, near: str | None = None) -> list[str]:
    """The ``name_words`` that ``context`` never uses (a spelling one or two letters off still
    counts as used); numbers and short names must be in ``near`` if given."""
    if not words:
        return []
    near = near if near is not None else context
    # A name that is also a common word ("Est") must be written as a name near the sentence,
    # not be the verb "est" anywhere in the passage; so must a number ("Paris 13").
    close_by = {w.lower() for w in re.findall(r"\b[A-Z][A-Za-z]*", fold_accents(near))}
    close_by |= set(re.findall(r"\d+", near))
    vocabulary = _words_and_initials(context) | close_by
    missing = []
    for word in words:
        if word in vocabulary:
            continue
        close = (
            process.extractOne(word, vocabulary, scorer=OSA.distance, score_cutoff=typo_edits(word))
            if len(word) >= 5
            else None
        )
        if close is None:
            missing.append(word)
    # The question's name may be the acronym the context uses ("Réseau Grand Ouest" for
    # "RGO").
    letters = [w for w in words if not w.isdigit()]
    acronym = "".join(w[0] for w in letters)
    if len(acronym) >= 3 and set(letters) <= set(missing) and acronym in vocabulary:
        return [w for w in missing if w.isdigit()]
    # … or the words it misses may be written by their initials ("Réseau Grand Sud-Ouest"
    # for "RESEAU GSO").
    lost = [w for w in missing if not w.isdigit()]
    if len(lost) >= 3 and "".join(w[0] for w in lost) in vocabulary:
        return [w for w in missing if w.isdigit()]
    return missing
