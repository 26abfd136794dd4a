"""Answer exact questions from the fact store: whom to contact, how much was granted (for a
year, or the highest, lowest, total or trend over years), who coordinates or takes part in a
project, what role an organisation plays, who a person is, who runs a biobank.

Entities are matched tolerantly (accents, case, hyphens, acronyms such as "UPJM", partial names
such as "Paris Descartes") but never loosely: a year or an organisation the records do not hold
gets ``no_answer``, not the nearest year or a similar organisation's e-mail.

Example::

    answer = lookup("Combien la Région a-t-elle accordé en 2010 ?", store)
    answer.status, answer.value   # ("answered", Decimal("4132000"))
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property, lru_cache
from typing import Any, Literal, TypeVar

from pydantic import BaseModel
from rapidfuzz import process
from rapidfuzz.distance import OSA

from cancerassist.analysis import (
    LINK_WORDS,
    FactRoute,
    asked_role,
    asked_types,
    cue_scores,
    holds_role,
    name_words,
    same_word,
    typo_edits,
)
from cancerassist.facts import GENERIC_WORDS
from cancerassist.models import (
    Biobank,
    Contact,
    Fact,
    FactStore,
    Figure,
    Funding,
    PartnerRole,
    Person,
    Project,
)
from cancerassist.profile import NEUTRAL
from cancerassist.text import (
    SINCE_YEAR,
    YEAR,
    YEAR_RANGE,
    fold_accents,
    stopwords,
    term_variants,
    tokenize,
)

Intent = FactRoute
Aggregate = Literal[
    "value",
    "max",
    "min",
    "total",
    "average",
    "difference",
    "increase",
    "decrease",
    "trend",
    "list",
    "count",
    "membership",
    "compare",
    "combined",
]
Reason = Literal[
    "unknown_entity",
    "year_not_found",
    "range_incomplete",
    "no_facts",
    "no_phone",
    "no_email",
    "not_member",
]


class FactAnswer(BaseModel):
    """What the fact store says about a question, for the answer layer to put into words."""

    status: Literal["answered", "no_answer"]
    intent: Intent
    facts: list[Fact] = []
    aggregate: Aggregate | None = None
    value: Decimal | None = None
    year: int | None = None
    years: tuple[int, int] | None = None
    entity: str | None = None
    reason: Reason | None = None
    suggestions: list[str] = []


@lru_cache(maxsize=16384)
def normalise(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", fold_accents(text).lower()).strip()


_GENERIC = frozenset(normalise(w) for w in GENERIC_WORDS)
_COMPOUND = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+){2,}")
# What naming an entity by its capitalised first word alone scores (a word of a name: 1).
CAPITALISED_SCORE = 0.5
# Names that open on the same word to make it a family name.
_FAMILY = 3


def _tokens(text: str) -> list[str]:
    return normalise(text).split()


@dataclass
class _Entity:
    name: str
    forms: list[list[str]] = field(default_factory=list)
    # One-word forms that name it only when capitalised ("la Région …", not "quelles régions").
    capitalised: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    glued: set[str] = field(default_factory=set)
    # Its words no other name uses: a long name written in part must keep one of them.
    own: set[str] = field(default_factory=set)

    def score(self, question: _QuestionForms) -> float:
        """Tokens of the most specific form found in the question; 0 if none is there. A form
        of three words or more may lack one ("Georges Pompidou hospital" names the "Hôpital
        Européen Georges Pompidou"), and then counts less than a name written whole
        ("grand ouest" names the Grand Ouest before the Grand Sud-Ouest)."""
        # Its first word alone, capitalised ("the Region's funding"), names it less surely
        # than a distinctive word does ("Réseau … Institut Nord" asks about the Institut Nord).
        own = {t for form in self.forms for t in form}
        best = (
            CAPITALISED_SCORE
            if any(
                c in question.capitals and not question.names_another(c, own)
                for c in self.capitalised
            )
            else 0.0
        )
        for form in self.forms:
            if len(form) == 1 and len(form[0]) >= 4 and form[0] in question.joined:
                best = max(best, 1.0)
            if form[0] in self.glued:
                # Names written together are matched as written: "reseauest" is not
                # "reseaux en" mistyped.
                if form[0] in question.joined or form[0] in question.tokens:
                    best = max(best, 1.0)
                continue
            present = [question.has(t) for t in form]
            # A long name may lack a word, not its last ("National Cancer Institute" is not
            # named by "national … cancer platform"); its words are written together ("the
            # national Quality of Life and Cancer platform" is not the Institut national du
            # cancer).
            if sum(present) > 1 and question.span(form) > 2 * len(form):
                continue
            # A name with a common word ("Réseau Est") is written as a phrase: "le
            # Réseau GSO est-il…" does not name it.
            if all(present) and any(t in stopwords() for t in form) and not question.phrase(form):
                continue
            if all(present):
                best = max(best, float(len(form)))
            elif (
                len(form) >= 3
                and sum(present) >= len(form) - 1
                and present[-1]
                and any(p and t in self.own for p, t in zip(present, form, strict=True))
                # … and the question's name around those words has no capitalised word the
                # name lacks ("Organisation of European Cancer Institutes" is not the
                # "National Cancer Institute").
                and not question.capitalised_beside(form, own)
            ):
                # ... and keep a word of its own: "Cancer Research UK … Institute" does not
                # name the "National Cancer Institute", whatever words they share.
                best = max(best, sum(present) - 0.5)
        return best


def _prune(form: list[str], common: set[str], capitalised: set[str]) -> list[str]:
    """``form`` without the words most names share, unless that leaves nothing distinctive:
    a short word ("Réseau Est" stays whole: "est" alone is any French sentence) or a word the
    name does not capitalise ("régional" alone does not name the Institut régional du sommeil)."""
    kept = [t for t in form if t not in common]
    if len(kept) > 1 or (kept and len(kept[0]) >= 4 and kept[0] in capitalised):
        return kept
    return form


# Words that link the words of one name ("Office of Cancer Centers", "Institut du Cancer"):
# those an acronym skips, and "for".
_LINKS = LINK_WORDS | {"for"}


class _QuestionForms:
    """A question's tokens as names are matched against them; remembers which words it has
    (a gazetteer asks about the same words for many names)."""

    def __init__(self, question: str) -> None:
        self.tokens = _tokens(question)
        self.joined = _joined(self.tokens) | _initials(question)
        # A capitalised word as a name's word: "the Region's funding" capitalises "region".
        self.capitals = {
            normalise(w) for w in re.findall(r"\b[A-ZÀ-Þ][\w-]*(?:[’'](?![sS]\b)[\w-]+)?", question)
        }
        self._has: dict[str, bool] = dict.fromkeys(self.tokens, True)
        # The words a typo may be made in (see same_word), for one C call per name word: a
        # question of 400 words asked about 300 names made 75,000 Python comparisons.
        self._typo_words = sorted({t for t in self.tokens if len(t) >= 5})

    def names_another(self, head: str, own: set[str]) -> bool:
        """The question writes ``head`` followed by a capitalised word that is not one of
        ``own``, maybe after a linking word: another name of the same family ("Réseau VDL" is
        not "Réseau Ouest", "Office of Cancer Centers" not "Office du Transfert")."""
        for i, token in enumerate(self.tokens):
            if token != head:
                continue
            rest = itertools.dropwhile(lambda t: t in _LINKS, self.tokens[i + 1 :])
            after = next(rest, None)
            if after is not None and after in self.capitals and after not in own:
                return True
        return False

    def capitalised_beside(self, words: Sequence[str], own: set[str]) -> bool:
        """A capitalised word that is not one of ``own`` stands in the question right before or
        after the stretch that uses ``words`` (linking words passed over)."""
        at = [i for i, t in enumerate(self.tokens) if any(same_word(w, t) for w in words)]
        if not at:
            return False
        before = [t for t in self.tokens[: min(at)] if t not in _LINKS][-1:]
        after = [t for t in self.tokens[max(at) + 1 :] if t not in _LINKS][:1]
        return any(t in self.capitals and t not in own for t in before + after)

    def phrase(self, words: Sequence[str]) -> bool:
        """The question writes ``words`` one after the other."""
        n = len(words)
        return any(
            all(same_word(w, t) for w, t in zip(words, self.tokens[i : i + n], strict=True))
            for i in range(len(self.tokens) - n + 1)
        )

    def span(self, words: Sequence[str]) -> int:
        """How many tokens the narrowest stretch of the question that uses each of ``words``
        it uses once spans (a word written twice does not widen it)."""
        places = [
            at for w in words if (at := [i for i, t in enumerate(self.tokens) if same_word(w, t)])
        ]
        if not places:
            return 0
        return min(max(c) - min(c) + 1 for c in itertools.product(*places))

    def _mistyped(self, word: str) -> bool:
        """Some word of the question is ``word`` with a typo (``same_word``)."""
        edits = typo_edits(word)
        close = process.extractOne(word, self._typo_words, scorer=OSA.distance, score_cutoff=edits)
        return close is not None

    def has(self, word: str) -> bool:
        """The question uses ``word``, ``word`` mistyped, or another form of it ("regional
        funding" names the Région)."""
        found = self._has.get(word)
        if found is None:
            found = (
                (len(word) >= 5 and self._mistyped(word))
                # written together or by initials ("sud-ouest", "RGO" for "Réseau Grand Ouest")
                or word in self.joined
                or (len(word) >= 5 and bool(_stems(word) & self._stems))
            )
            self._has[word] = found
        return found

    @cached_property
    def _stems(self) -> set[str]:
        return {stem for token in self.tokens if len(token) >= 5 for stem in _stems(token)}


@lru_cache(maxsize=16384)
def _stems(word: str) -> frozenset[str]:
    """The forms of ``word`` and of its translations: "the Loire committee" names the
    "Comité Loire"."""
    return frozenset(form for forms in term_variants(word, translate=True) for form in forms)


def _initials(question: str) -> set[str]:
    """The initials of the names of three capitalised words or more the question writes,
    whole or less their first word ("Réseau Grand Sud-Ouest": "rgso", "gso")."""
    found = set()
    for run in re.findall(r"[A-ZÀ-Þ][\w’']*(?:[\s-]+[A-ZÀ-Þ][\w’']*){2,}", question):
        words = re.split(r"[\s-]+", run)
        found.add(normalise("".join(w[0] for w in words)))
        if len(words) > 3:
            found.add(normalise("".join(w[0] for w in words[1:])))
    return found


def _joined(tokens: Sequence[str]) -> set[str]:
    """Adjacent tokens written together: "ONCO-NET" is tokens onco, net and the form onconet."""
    return {"".join(tokens[i : i + n]) for n in (2, 3) for i in range(len(tokens) - n + 1)}


def _forms(
    name: str, extra: Iterable[str] = (), generic: frozenset[str] = _GENERIC
) -> list[list[str]]:
    """Ways a question may name an organisation: its distinctive words, its initials ("UPJM"),
    its first word when that is not generic ("Région"), and any known alias."""
    tokens = _tokens(name)
    distinctive = [t for t in tokens if t not in generic] or tokens
    capitalised = {t for w in re.findall(r"[A-ZÀ-Þ][\w’'-]*", name) for t in _tokens(w)}
    if len(distinctive) == 1 and (
        len(distinctive[0]) < 4 or (len(tokens) > 1 and distinctive[0] not in capitalised)
    ):
        # "Réseau Est": "est" alone is any French sentence; "Institut régional du sommeil":
        # "régional" alone names nothing.
        distinctive = tokens
    forms = [distinctive]
    words = re.findall(r"[A-ZÀ-Þ][\w’'-]*", name)
    if len(words) >= 3:
        forms.append([normalise("".join(w[0] for w in words))])
    if "".join(distinctive) != distinctive[0]:
        forms.append(["".join(distinctive)])
    # A compound of three words or more goes by its initials ("Région Val-de-Loire" is the
    # "région VdL").
    short = _COMPOUND.sub(lambda m: "".join(p[0] for p in m.group().split("-")), name)
    if short != name:
        forms.append([t for t in _tokens(short) if t not in generic] or _tokens(short))
    forms.extend(_tokens(alias) for alias in extra if _tokens(alias))
    return forms


class Gazetteer:
    """Names (with their forms) that questions are matched against."""

    def __init__(self, names: Iterable[tuple[str, Iterable[str]]]) -> None:
        listed = [(name, list(other_names)) for name, other_names in names]
        # The word that opens several names is their family's ("Institut …", "Network …"):
        # it tells none of them apart, like the generic words of any name.
        openers: dict[str, set[str]] = {}
        for name, _ in listed:
            tokens = _tokens(name)
            if len(tokens) > 1:
                openers.setdefault(tokens[0], set()).add(name)
        generic = _GENERIC | {w for w, owners in openers.items() if len(owners) >= _FAMILY}
        merged: dict[str, _Entity] = {}
        for name, extra in listed:
            entity = merged.setdefault(name, _Entity(name))
            entity.aliases.extend(a for a in extra if a not in entity.aliases)
            entity.forms.extend(f for f in _forms(name, extra, generic) if f not in entity.forms)
            entity.glued.update("".join(f) for f in entity.forms if len(f) > 1)
            tokens = _tokens(name)
            if len(tokens) > 1 and tokens[0] not in generic and len(tokens[0]) >= 4:
                entity.capitalised.append(tokens[0])
        # A word in many of the names ("Centre …" in a list of centres) tells none
        # of them apart: it is left out of their forms.
        frequency: dict[str, int] = {}
        for entity in merged.values():
            for token in {t for form in entity.forms for t in form}:
                frequency[token] = frequency.get(token, 0) + 1
        common = {t for t, n in frequency.items() if n >= max(3, len(merged) // 4)}
        for entity in merged.values():
            capitalised = {
                token
                for written in (entity.name, *entity.aliases)
                for word in re.findall(r"[A-ZÀ-Þ][\w’'-]*", written)
                for token in _tokens(word)
            }
            pruned = [_prune(f, common, capitalised) for f in entity.forms]
            entity.forms = [f for i, f in enumerate(pruned) if f not in pruned[:i]]
            entity.own = {t for f in entity.forms for t in f if frequency[t] == 1} - generic
        # A one-word form several names share ("Région …") names none of them.
        owners: dict[str, set[str]] = {}
        for entity in merged.values():
            for word in entity.capitalised:
                owners.setdefault(word, set()).add(entity.name)
        for entity in merged.values():
            entity.capitalised = [w for w in entity.capitalised if len(owners[w]) == 1]
        self.entities = list(merged.values())
        self.glued = {g for e in self.entities for g in e.glued}
        self._by_name = {e.name: e for e in self.entities}
        # Where a passage writes a name by another form ("le RGO"), that form stands for it.
        self._long_forms = {a: e.name for e in self.entities for a in e.aliases}

    @cached_property
    def _written(self) -> tuple[dict[str, set[str]], re.Pattern[str]]:
        """How a passage writes a name: whole, or by its distinctive words ("le Grand
        Sud-Ouest"; one word only if it is long enough to be one name's). Compiled when first
        needed: the gazetteers of a lookup never read passages."""
        names: dict[str, set[str]] = {}
        for entity in self.entities:
            for form in [_tokens(entity.name), *entity.forms]:
                if len(form) > 1 or (form and len(form[0]) >= 5 and form[0] not in self.glued):
                    names.setdefault(" ".join(form), set()).add(entity.name)
        pattern = re.compile(
            r"(?<![a-z0-9])(?:"
            + "|".join(
                r"[\W_]+".join(map(re.escape, n.split()))
                for n in sorted(names, key=len, reverse=True)
            )
            + r")(?![a-z0-9])"
        )
        return names, pattern

    @cached_property
    def _alias_pattern(self) -> re.Pattern[str] | None:
        if not self._long_forms:
            return None
        return re.compile(
            r"(?<![\w-])(?:"
            + "|".join(re.escape(a) for a in sorted(self._long_forms, key=len, reverse=True))
            + r")(?![\w-])"
        )

    def named_in(self, text: str) -> set[str]:
        """The names ``text`` writes, whole or by an alias."""
        names, pattern = self._written
        folded = fold_accents(text).lower()
        written = {
            name
            for m in pattern.finditer(folded)
            for name in names.get(" ".join(normalise(m.group()).split()), ())
        }
        return written | {
            self._long_forms[m.group()]
            for m in (self._alias_pattern.finditer(text) if self._alias_pattern else ())
        }

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def aliases(self, name: str) -> list[str]:
        """The other names ``name`` is known by (acronyms the documents define, metadata)."""
        entity = self._by_name.get(name)
        return list(entity.aliases) if entity else []

    def expand(self, text: str) -> str:
        """``text`` followed by the full names of the aliases it uses ("… le RGO …" gains
        "Réseau Grand Ouest"), so that a check for the question's names finds them."""
        if self._alias_pattern is None:
            return text
        found = self._alias_pattern.finditer(text)
        return " ".join([text, *dict.fromkeys(self._long_forms[m.group()] for m in found)])

    def mentioned(self, question: str) -> set[str]:
        """Every name the question mentions, however specific."""
        forms = _QuestionForms(question)
        return {e.name for e in self.entities if e.score(forms)}

    def match(self, question: str) -> list[str]:
        """The most specific names the question mentions."""
        forms = _QuestionForms(question)
        scored = [(e.score(forms), e.name) for e in self.entities]
        best = max((s for s, _ in scored), default=0)
        return [name for score, name in scored if score and score == best]


def build_gazetteer(store: FactStore, extra: Iterable[str] = ()) -> Gazetteer:
    """Every name the facts hold (organisations, projects, people, biobanks, subjects of key
    figures, funders and recipients) and every name with an alias, with their aliases, and
    ``extra`` names (documents' subjects)."""
    names = _names(store) | set(extra)
    return Gazetteer((name, _aliases(store, name)) for name in sorted(names) if name)


def _known_words(store: FactStore) -> set[str]:
    """Every word of every name the facts hold, as a question may write it (the initials of a
    compound too: "VdL" for "Val-de-Loire")."""
    names = _names(store)
    gazetteer = Gazetteer((name, _aliases(store, name)) for name in names)
    return {t for e in gazetteer.entities for form in e.forms for t in form} | {
        t for name in names for t in _tokens(name)
    }


def _names(store: FactStore) -> set[str]:
    """Every name the facts hold, and every name with an alias."""
    names: set[str] = set(store.aliases)
    for fact in store.facts:
        match fact:
            case Contact() | PartnerRole():
                names.add(fact.organisation)
                if isinstance(fact, PartnerRole):
                    names.add(fact.project)
            case Funding():
                names.update(n for n in (fact.funder, fact.recipient) if n)
            case Person() | Project():
                names.add(fact.name)
            case Biobank():
                names.update((fact.name, fact.establishment))
            case Figure():
                names.update(n for n in (fact.subject,) if n)
    return names


def facts_about(store: FactStore, name: str) -> list[Fact]:
    """The records that name ``name`` as their organisation, project, person, funder…"""
    return [
        f
        for f in store.facts
        if name
        in {v for k, v in f.model_dump().items() if isinstance(v, str) and k != "provenance"}
    ]


def _aliases(store: FactStore, name: str) -> list[str]:
    return [
        a
        for canonical, aliases in store.aliases.items()
        if _same_name(canonical, name)
        for a in aliases
    ]


def _same_name(a: str, b: str) -> bool:
    return normalise(a) == normalise(b)


def _contact_forms(contact: Contact, store: FactStore) -> list[str]:
    extra = _aliases(store, contact.organisation)
    for address in (contact.email, contact.url):
        domain = re.search(r"@([\w-]+)\.|//(?:www\.)?[\w-]+\.([\w-]+)\.", address or "")
        if domain:
            extra.append((domain.group(1) or "").replace("-", " "))
    return [e for e in extra if e]


def lookup(
    question: str, store: FactStore, intent: Intent, operation: Aggregate | None = None
) -> FactAnswer:
    """What the fact store says about ``question`` read as an ``intent`` question: answered
    only for an entity the question names (or a figure whose label it matches); otherwise a
    ``no_answer`` whose reason the caller weighs against the other routes and the passages."""
    handlers: dict[Intent, Callable[[str, FactStore, Aggregate | None], FactAnswer]] = {
        "contact": _contact,
        "funding": _funding,
        "coordinator": _coordinator,
        "partners": _partners,
        "role": _role,
        "person": _person,
        "biobank": _biobank,
        "project": _project,
        "figure": _figure_or_no_answer,
    }
    return handlers[intent](question, store, operation)


def _no_answer(
    intent: Intent, reason: Reason, suggestions: Iterable[str] = (), **kw: object
) -> FactAnswer:
    return FactAnswer(
        status="no_answer",
        intent=intent,
        reason=reason,
        suggestions=list(dict.fromkeys(suggestions)),
        **kw,
    )


_F = TypeVar("_F", Contact, PartnerRole, Person, Biobank)


def _by_name(
    question: str,
    intent: Intent,
    records: Sequence[_F],
    name: Callable[[_F], str],
    aliases: Callable[[_F], list[str]],
) -> FactAnswer | None:
    """The records whose name (or an alias of it) the question mentions, most specific first."""
    names = Gazetteer((name(r), aliases(r)) for r in records).match(question)
    if not names:
        return None
    found = [r for r in records if name(r) in names]
    return FactAnswer(status="answered", intent=intent, facts=list(found), entity=names[0])


# A question that asks for an e-mail address (not one that mentions e-mail in passing: "there
# is no e-mail for X, how do I reach them?").
EMAIL_ASKED = re.compile(
    r"(?:quel(?:le)?|what|which)\b[^?]{0,20}?\b(?:e-?mail|courriel)"
    r"|e-?mail address|adresse (?:e-?mail|electronique|mail|courriel)"
    r"|\b(?:by|par) (?:e-?mail|mail|courriel)\b|\be-?mail (?:of|de|du|d')"
)
PHONE_ASKED = re.compile(r"phone|telephone|\btel\b|numero|appeler|\bcall\b|mobile|portable")


def _contact(question: str, store: FactStore, operation: Aggregate | None = None) -> FactAnswer:
    contacts = [f for f in store.facts if isinstance(f, Contact)]
    found = _by_name(
        question, "contact", contacts, lambda c: c.organisation, lambda c: _contact_forms(c, store)
    )
    if found is None:
        listed = [c for c in contacts if c.purpose]
        # "How many institutions have a technology-transfer office listed?", "which ones?":
        # the listing itself, every row cited; not for an address asked of a name the records
        # do not have ("which e-mail for patents at institut merieux").
        asks_address = any(t.answer_type == "contact" for t in asked_types(question))
        if (
            listed
            # … and names nothing the documents do not ("… at institut Mérieux").
            and set(name_words(question)) <= _known_words(store)
            # … and the question asks for organisations and names what their contacts are
            # for ("which institutions … tech transfer"), not "which mission is about
            # tech transfer".
            and re.search(NEUTRAL.headings.columns["organisation"], question, re.IGNORECASE)
            and NEUTRAL.purpose_of(question) in {c.purpose for c in listed}
            and (operation == "count" or (operation == "list" and not asks_address))
        ):
            return FactAnswer(
                status="answered", intent="contact", facts=list(listed), aggregate=operation
            )
        return _no_answer("contact", "unknown_entity", [c.organisation for c in listed])
    records = [f for f in found.facts if isinstance(f, Contact)]
    # Of an organisation's contacts, the person's the question names ("… viviane tronel").
    asked = _tokens(question)
    named = [
        c
        for c in records
        if c.person
        and any(same_word(t, q) for t in _tokens(c.person) if len(t) >= 4 for q in asked)
    ]
    if not named:
        # … or the holder's of the post it names ("la chargée de communication d'X").
        posts = {p.name: p.role for p in store.facts if isinstance(p, Person) and p.role}
        named = [c for c in records if c.person and _asks_post(asked, posts.get(c.person))]
    if named and len(named) < len(records):
        records = named
        found = found.model_copy(update={"facts": named})
    folded = fold_accents(question).lower()
    if PHONE_ASKED.search(folded) and not any(c.phone for c in records):
        # Asked for a number the documents do not give: say so, and offer what they do give.
        other = list(dict.fromkeys(x for c in records for x in (c.email, c.url) if x))
        return _no_answer("contact", "no_phone", other, entity=found.entity)
    if EMAIL_ASKED.search(folded) and not any(c.email for c in records):
        # … or an e-mail address: the web page or phone they give is offered instead.
        other = list(
            dict.fromkeys(x for c in records for x in (c.url, c.phone_text, c.address) if x)
        )
        return _no_answer("contact", "no_email", other, entity=found.entity)
    return found


# Letters two spellings of a word share at the start when they are the same word in the two
# languages or genders ("director", "directrice"; "communication", "communications").
_SHARED_PREFIX = 6


def _asks_post(asked: list[str], post: str | None) -> bool:
    """Every word of ``post`` is in the question, in either language or gender."""
    words = [t for t in _tokens(post or "") if len(t) >= 4]
    return bool(words) and all(
        any(
            same_word(w, q)
            or (len(w) >= _SHARED_PREFIX and w[:_SHARED_PREFIX] == q[:_SHARED_PREFIX])
            for q in asked
        )
        for w in words
    )


class _Years(BaseModel):
    """The years a question names: one, several, a range, or "since" one."""

    listed: list[int] = []
    span: tuple[int, int] | None = None
    since: int | None = None

    def asked(self) -> tuple[int, int] | None:
        if self.span:
            return self.span
        return (min(self.listed), max(self.listed)) if self.listed else None

    def missing(self, series: list[Funding]) -> bool:
        """Whether some years asked about have no record in ``series``."""
        have = {r.year for r in self.select(series)}
        if self.span:
            return have != set(range(self.span[0], self.span[1] + 1))
        return bool(self.listed) and have != set(self.listed)

    def select(self, series: list[Funding]) -> list[Funding]:
        if self.span:
            return [r for r in series if self.span[0] <= (r.year or 0) <= self.span[1]]
        if self.listed:
            return [r for r in series if r.year in self.listed]
        return series


def _years(question: str) -> _Years:
    folded = fold_accents(question).lower()
    listed = list(dict.fromkeys(int(y) for y in YEAR.findall(folded)))
    # "2007, 2008 et 2009" lists years; only two years joined by "to", "-"… make a range.
    span = YEAR_RANGE.search(folded) if len(listed) == 2 else None
    since = SINCE_YEAR.search(folded)
    if span:
        low, high = sorted((int(span.group(1)), int(span.group(2))))
        return _Years(span=(low, high))
    if since:
        return _Years(since=int(since.group(1)))
    return _Years(listed=listed)


_KIND_WORDS = {
    "budget": "budget", "subvention": "grant", "grant": "grant", "cotis": "membership_fee",
    "membre": "membership_fee", "member": "membership_fee", "leve": "funds_raised",
    "raised": "funds_raised", "invest": "investment",
}  # fmt: skip
_SERIES_OPERATIONS: frozenset[Aggregate] = frozenset(
    {"max", "min", "total", "average", "difference", "increase", "decrease", "trend"}
)


def _answered(facts: Sequence[Fact], **kw: object) -> FactAnswer:
    return FactAnswer(status="answered", intent="funding", facts=list(facts), **kw)


def _funding(question: str, store: FactStore, operation: Aggregate | None = None) -> FactAnswer:
    """Funding for a year, since a year, over years, or an operation over a yearly series.

    Funders and recipients are matched separately ("the Agency … to the Réseau Val-de-Loire"),
    so naming the recipient does not bring in every funder's records; a series that mixes
    several funders is never summed or compared as one."""
    records = [f for f in store.facts if isinstance(f, Funding)]
    parties = {name for r in records for name in (r.funder, r.recipient) if name}
    gazetteer = Gazetteer((name, _aliases(store, name)) for name in parties)
    mentioned = gazetteer.mentioned(question)
    # A name written only as part of another one named is not named itself ("EU" in
    # "4.ALPHA.eu", "Fondation X" in "Fondation X Suisse").
    mentioned = {
        m
        for m in mentioned
        if not any(m != o and set(_tokens(m)) < set(_tokens(o)) for o in mentioned)
    }
    funders = mentioned & {r.funder for r in records if r.funder}
    if len(funders) > 1:
        # "the Loire committee of the League" names the committee, not the whole League: the
        # funders named most fully, when they are not named as fully as each other.
        funders = (set(gazetteer.match(question)) & funders) or funders
    recipients = mentioned & {r.recipient for r in records if r.recipient}
    unstated = [r for r in records if r.recipient in recipients and r.funder is None]
    if funders and unstated and not any(r.funder in funders for r in unstated):
        # "What budget does X give for project P?": P's budget, whose funder the documents do
        # not state, is the answer they give; it does not contradict the funder named.
        records, funders = unstated, set()
    if funders:
        records = [r for r in records if r.funder in funders]
    if recipients and (not funders or any(r.recipient in recipients for r in records)):
        records = [r for r in records if r.recipient in recipients or r.funder in recipients]
    folded = fold_accents(question).lower()
    wanted = {kind for word, kind in _KIND_WORDS.items() if word in folded}
    if wanted and any(r.kind in wanted for r in records):
        records = [r for r in records if r.kind in wanted]
    records = _by_purpose(records, question)
    entity = next(iter(sorted(funders or recipients)), None)
    compared = _compare_parties(records, mentioned, operation, _years(question))
    if compared is not None:
        return compared
    series = sorted(
        (r for r in records if r.year is not None and r.period_start is None),
        key=lambda r: r.year or 0,
    )
    years = _years(question)
    if len({r.funder for r in series}) > 1:
        series = []  # several funders' years: not one series to sum or compare
    if years.since is None and operation in _SERIES_OPERATIONS and (series or years.span):
        return _funding_series(operation, series, years, entity)
    if years.listed or years.span or years.since is not None:
        return _funding_dated(records, series=series, years=years, entity=entity)
    if not mentioned and not (wanted and len(records) == 1):
        return _no_answer("funding", "unknown_entity", sorted(parties))
    extra = [p for p in store.facts if isinstance(p, Project) and p.name in recipients]
    if len(records) == 1:
        return _answered(
            [*records, *extra], aggregate="value", value=records[0].amount, entity=entity
        )
    return _answered([*(series or records), *extra], aggregate="list", entity=entity)


def _by_purpose(records: list[Funding], question: str) -> list[Funding]:
    """Where a table gives a funder several amounts in a year, by purpose ("niveau
    régional", "niveau national", "recherche (total)"), the ones for what the question says
    the money is for: those whose purpose uses most of its words; if it names none, the
    largest (the whole, not one of its parts). Other years and funders are kept as they are."""
    if not any(r.purpose for r in records):
        return records
    asked = {form for forms in term_variants(question, translate=True) for form in forms}

    def score(record: Funding) -> int:
        return len(set(tokenize(record.purpose or "")) & asked)

    groups: dict[tuple[str | None, int | None], list[Funding]] = {}
    for r in records:
        groups.setdefault((r.funder, r.year), []).append(r)
    kept: set[int] = set()
    for group in groups.values():
        best = max(map(score, group))
        if best:
            kept.update(id(r) for r in group if score(r) == best)
        else:
            kept.add(id(max(group, key=lambda r: r.amount)))
    return [r for r in records if id(r) in kept]


def _compare_parties(
    records: list[Funding], mentioned: set[str], operation: Aggregate | None, years: _Years
) -> FactAnswer | None:
    """The difference between (or the sum of) the amounts of two named parties ("the budget
    of X and that of Y"), when each has exactly one: exact, with both figures."""
    if operation not in ("difference", "total") or len(mentioned) != 2 or years.asked():
        return None
    pair = []
    for party in sorted(mentioned):
        own = [r for r in records if party in (r.recipient, r.funder)]
        if len(own) != 1:
            return None
        pair.append(own[0])
    first, second = pair
    if not _one_currency(pair):
        return None
    if operation == "total":
        return _answered(pair, aggregate="combined", value=first.amount + second.amount)
    return _answered(pair, aggregate="compare", value=abs(first.amount - second.amount))


def _funding_series(
    operation: Aggregate, series: list[Funding], years: _Years, entity: str | None
) -> FactAnswer:
    """An operation over a yearly series, within the years named if any; exact (Decimal)."""
    asked = years.asked()
    series = years.select(series)
    if not series:
        return _no_answer("funding", "no_facts", entity=entity, years=asked)
    ends = {series[0].year, series[-1].year}
    if (operation in ("total", "average") and years.missing(series)) or (
        # a difference needs the two years it compares, not those between them
        operation == "difference" and asked and not {asked[0], asked[1]} <= ends
    ):
        # A total over years some of which are missing would be a wrong total.
        return _no_answer("funding", "range_incomplete", facts=series, entity=entity, years=asked)
    facts, kw = _compute(operation, series)
    kw.setdefault("years", asked or (series[0].year or 0, series[-1].year or 0))
    return _answered(facts, entity=entity, **kw)


def _compute(operation: Aggregate, series: list[Funding]) -> tuple[list[Funding], dict[str, Any]]:
    """The records an operation uses and what it finds, as :class:`FactAnswer` fields.
    Amounts in different currencies are listed, never added or subtracted."""
    if operation != "list" and not _one_currency(series):
        return series, {"aggregate": "list"}
    amounts = [r.amount for r in series]
    steps = [
        (b.amount - a.amount, a, b)
        for a, b in itertools.pairwise(series)
        if (b.year or 0) - (a.year or 0) == 1
    ]
    if operation in ("max", "min"):
        best = (max if operation == "max" else min)(series, key=lambda r: r.amount)
        return [best], {"aggregate": operation, "value": best.amount, "year": best.year}
    if operation == "total":
        return series, {"aggregate": "total", "value": sum(amounts, Decimal(0))}
    if operation == "average":
        mean = sum(amounts, Decimal(0)) / len(amounts)
        return series, {"aggregate": "average", "value": mean}
    if operation in ("increase", "decrease") and steps:
        _, before, after = (max if operation == "increase" else min)(
            steps, key=lambda step: step[0]
        )
        years = (before.year or 0, after.year or 0)
        return [before, after], {"aggregate": operation, "years": years}
    ends = [series[0], series[-1]] if operation == "difference" else series
    aggregate = "difference" if operation == "difference" and len(series) > 1 else "trend"
    return ends, {"aggregate": aggregate}


def _one_currency(records: Sequence[Funding]) -> bool:
    """The amounts are in one currency (an amount that writes none is taken to be in it)."""
    return len({r.currency for r in records if r.currency}) <= 1


def _funding_dated(
    records: list[Funding], *, series: list[Funding], years: _Years, entity: str | None
) -> FactAnswer:
    """Given years, a range of years, or "since" a year: exactly those, never the nearest."""
    kw: dict[str, object] = {}
    if years.since is not None:
        found = [r for r in records if r.period_start == years.since and r.period_end is None]
        kw["year"] = years.since
    elif years.span is not None:
        found = years.select(series)
        kw["years"] = years.span
    else:
        found = [r for r in records if r.year in years.listed]
        kw["year"] = years.listed[0]
    value = found[0].amount if len(found) == 1 else None
    if entity is None:
        # Nobody named: the records cannot say whose amount is asked; the passages may.
        return _no_answer("funding", "unknown_entity", (), entity=entity, **kw)
    if not found:
        available = [str(r.year) for r in series]
        return _no_answer("funding", "year_not_found", available, entity=entity, **kw)
    aggregate = "value" if value is not None else "list"
    return _answered(found, aggregate=aggregate, value=value, entity=entity, **kw)


def _projects(store: FactStore) -> Gazetteer:
    names = {f.project for f in store.facts if isinstance(f, PartnerRole)} | {
        f.name for f in store.facts if isinstance(f, Project)
    }
    return Gazetteer((name, _aliases(store, name)) for name in names)


_AXIS = re.compile(r"\b(?:axe|axis)\b")


def _coordinator(question: str, store: FactStore, _: Aggregate | None = None) -> FactAnswer:
    if _AXIS.search(fold_accents(question).lower()):
        return _axis_coordinators(question, store)
    projects = _projects(store).match(question)
    roles = [f for f in store.facts if isinstance(f, PartnerRole) and f.role == "coordinator"]
    if not projects:
        # "Who coordinates …" something the records do not name: perhaps the passages do.
        return _no_answer("coordinator", "unknown_entity", sorted({r.project for r in roles}))
    roles = [r for r in roles if r.project in projects]
    if not roles:
        return _no_answer("coordinator", "no_facts", entity=projects[0] if projects else None)
    people = [
        f
        for f in store.facts
        if isinstance(f, Person) and any(r.person and f.name in r.person for r in roles)
    ]
    return FactAnswer(
        status="answered", intent="coordinator", facts=[*roles, *people], entity=roles[0].project
    )


def _axis_coordinators(question: str, store: FactStore) -> FactAnswer:
    people = [
        f
        for f in store.facts
        if isinstance(f, Person) and (f.role or "").startswith("coordinator of ")
    ]
    axes = Gazetteer(
        (p.role or "", [re.sub(r"^coordinator of ", "", p.role or "")]) for p in people
    )
    number = re.search(r"\b(?:axe|axis)\s*(\d)", fold_accents(question).lower())
    if number:
        chosen = [
            p
            for p in people
            if re.search(rf"\bAXE {number.group(1)}\b", p.role or "", re.IGNORECASE)
        ]
    else:
        names = axes.match(question)
        chosen = [p for p in people if p.role in names]
    if not chosen:
        return _no_answer("coordinator", "unknown_entity", sorted({p.role or "" for p in people}))
    return FactAnswer(status="answered", intent="coordinator", facts=chosen, entity=chosen[0].role)


_PARTNERS = frozenset(tokenize("partners partenaires"))


def _partners(question: str, store: FactStore, operation: Aggregate | None = None) -> FactAnswer:
    """A project's partners: the list, how many, or whether one organisation is among them."""
    projects = _projects(store).match(question)
    roles = [
        f
        for f in store.facts
        if isinstance(f, PartnerRole) and f.role in ("partner", "associated_partner", "coordinator")
    ]
    known = sorted({r.project for r in roles})
    if not projects:
        return _no_answer("partners", "unknown_entity", known)
    roles = [r for r in roles if r.project in projects]
    if not roles:
        return _no_answer("partners", "no_facts", known)
    listed = [
        r
        for r in roles
        if r.role != "coordinator"
        or not any(o.organisation == r.organisation and o.role == "partner" for o in roles)
    ]
    project = roles[0].project
    if operation == "membership":
        return _membership(question, listed, project)
    listed = _of_kind(question, listed, project)
    counted = [
        f
        for f in store.facts
        if isinstance(f, Figure) and f.subject == project and set(tokenize(f.label)) & _PARTNERS
    ]
    if operation == "count" and counted:
        # "29 partners in 20 countries": the sheet's own count, not the partners it names.
        return FactAnswer(
            status="answered", intent="figure", facts=counted[:1], aggregate="value", entity=project
        )
    return FactAnswer(
        status="answered",
        intent="partners",
        facts=listed,
        aggregate="count" if operation == "count" else "list",
        entity=project,
    )


def _of_kind(question: str, listed: list[PartnerRole], project: str) -> list[PartnerRole]:
    """The partners of the kind the question names ("quelles universités…", "which
    hospitals…"): those whose name has a word the question uses that some of the others' do
    not; all of them when it names no such kind."""
    asked = {
        form
        for forms in term_variants(question, translate=True)
        for form in forms
        if form not in set(tokenize(project))
    }

    def of_kind(role: PartnerRole) -> bool:
        # stems of five letters or more, one the start of the other ("hospit", "hospitalier")
        return any(
            len(a) >= 5 and (w.startswith(a) or a.startswith(w))
            for w in tokenize(role.organisation)
            if len(w) >= 5
            for a in asked
        )

    kept = [r for r in listed if of_kind(r)]
    return kept if 0 < len(kept) < len(listed) else listed


def _membership(question: str, listed: list[PartnerRole], project: str) -> FactAnswer:
    """Yes with the partner's record, or no with the whole list, for the organisation asked."""
    project_words = set(_tokens(project))
    asked = [t for t in _tokens(question) if t not in project_words]
    names = Gazetteer((r.organisation, []) for r in listed).match(" ".join(asked))
    if names:
        found = [r for r in listed if r.organisation in names]
        return FactAnswer(
            status="answered",
            intent="partners",
            facts=found,
            aggregate="membership",
            entity=project,
        )
    return FactAnswer(
        status="answered",
        intent="partners",
        facts=listed,
        aggregate="membership",
        entity=project,
        reason="not_member",
    )


def _role(question: str, store: FactStore, _: Aggregate | None = None) -> FactAnswer:
    roles = [f for f in store.facts if isinstance(f, PartnerRole) and f.description]
    found = _by_name(
        question, "role", roles, lambda r: r.organisation, lambda r: _aliases(store, r.organisation)
    )
    return found or _no_answer("role", "unknown_entity", sorted({r.organisation for r in roles}))


def _person(question: str, store: FactStore, operation: Aggregate | None = None) -> FactAnswer:
    people = [f for f in store.facts if isinstance(f, Person)]
    found = _by_name(question, "person", people, lambda p: p.name, lambda p: [p.name.split()[-1]])
    named = [f for f in found.facts if _says_surname(question, f)] if found else []
    if found and named:
        return found.model_copy(update={"facts": named})
    role = asked_role(question)
    if role is not None:
        # "Who is the president of O?": whoever holds that post at the organisation named.
        holders = [p for p in people if p.affiliation and holds_role(p.role or "", role)]
        at = _by_name(
            question,
            "person",
            holders,
            lambda p: p.affiliation or "",
            lambda p: _aliases(store, p.affiliation or ""),
        )
        if at is not None:
            return at
    if re.search(
        r"key people|personnes cles|people involved|personnes impliquees",
        fold_accents(question).lower(),
    ):
        listed = [p for p in people if not (p.role or "").startswith("coordinator of")]
        return FactAnswer(status="answered", intent="person", facts=listed, aggregate="list")
    return _no_answer("person", "unknown_entity")


def _says_surname(question: str, person: Fact) -> bool:
    """A person is named by their surname: "LUNA" (an acronym) is not Luna Lenoir."""
    if not isinstance(person, Person):
        return False
    surname = normalise(person.name).split()[-1]
    return any(same_word(surname, word) for word in normalise(question).split())


def _biobank(question: str, store: FactStore, operation: Aggregate | None = None) -> FactAnswer:
    banks = [f for f in store.facts if isinstance(f, Biobank)]
    found = _by_name(question, "biobank", banks, lambda b: b.name, lambda b: [b.establishment])
    if found:
        return found
    if operation in ("list", "count") and "biobank" in cue_scores(question):
        return FactAnswer(status="answered", intent="biobank", facts=banks, aggregate="list")
    return _no_answer("biobank", "unknown_entity", [b.establishment for b in banks])


def _figure(question: str, store: FactStore) -> FactAnswer | None:
    """A key figure whose subject and label the question names ("How many patients are in the
    PANCREAS-CGE cohort?"): most of the question's words must be in the label."""
    figures = [f for f in store.facts if isinstance(f, Figure)]
    words = [set(v) for v in term_variants(question, translate=True)]
    scored = []
    for figure in figures:
        names = " ".join([figure.subject or "", *_aliases(store, figure.subject or "")])
        label = set(tokenize(f"{figure.label} {names}"))
        scored.append((sum(bool(w & label) for w in words) / max(len(words), 1), figure))
    best = max((score for score, _ in scored), default=0.0)
    if best < 0.6:
        return None
    found = [figure for score, figure in scored if score == best]
    return FactAnswer(status="answered", intent="figure", facts=found, entity=found[0].subject)


def _figure_or_no_answer(question: str, store: FactStore, _: Aggregate | None = None) -> FactAnswer:
    return _figure(question, store) or _no_answer("figure", "no_facts")


def _project(question: str, store: FactStore, _: Aggregate | None = None) -> FactAnswer:
    projects = [f for f in store.facts if isinstance(f, Project)]
    names = _projects(store).match(question)
    found = [p for p in projects if p.name in names]
    if not found:
        return _no_answer("project", "unknown_entity", [p.name for p in projects])
    # A project's sheet is its dates and its amounts (budget, grant): "what is the EU
    # contribution to P?" is asked of the project as much as "when does P end?".
    amounts = [
        f for f in store.facts if isinstance(f, Funding) and f.recipient in {p.name for p in found}
    ]
    dated = [p for p in found if p.start_year is not None or p.programme]
    if not dated and not amounts:
        return _no_answer("project", "no_facts", entity=found[0].name)
    return FactAnswer(
        status="answered", intent="project", facts=[*dated, *amounts], entity=found[0].name
    )
