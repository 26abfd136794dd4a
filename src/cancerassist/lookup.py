"""Answer exact questions from the fact store: whom to contact, how much was granted (for a
year, or the highest, lowest, total or trend over years), who coordinates or takes part in a
project, what role an organisation plays, who a person is, who runs a biobank.

Entities are matched tolerantly (accents, case, hyphens, acronyms such as "UPMC", partial names
such as "Paris Descartes") but never loosely: a year or an organisation the records do not hold
gets ``no_answer``, not the nearest year or a similar organisation's e-mail.

Example::

    answer = lookup("Combien la Région a-t-elle accordé en 2010 ?", store)
    answer.status, answer.value_eur   # ("answered", Decimal("4132000"))
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, TypeVar

from pydantic import BaseModel
from rapidfuzz import fuzz

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
from cancerassist.text import SINCE_YEAR, YEAR, fold_accents, term_variants, tokenize

Intent = Literal[
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
Aggregate = Literal["value", "max", "min", "total", "trend", "list"]
Reason = Literal["unknown_entity", "year_not_found", "range_incomplete", "no_facts", "no_phone"]

# Checked in order; the first that matches names the intent. Patterns run on folded text.
_INTENTS: list[tuple[Intent, re.Pattern[str]]] = [
    ("biobank", re.compile(r"tumoroth|tissuth|biobank|biobanque|\bcrb\b")),
    ("contact", re.compile(
        r"contact|e-?mail|courriel|joindre|adresse|address|phone|telephone|\btel\b|numero|whom|"
        r"qui (?:dois-je |faut-il )?contacter|tech(?:nology)? transfer|transfert de tech|"
        r"valorisation|site (?:web|internet)|web ?site|\burl\b"
    )),
    ("coordinator", re.compile(r"coordin|coordonn|\bleads?\b|pilote|porteur")),
    ("partners", re.compile(r"partenaire|partner|consortium|particip|takes? part")),
    ("project", re.compile(
        r"duree|duration|how long|programme|program\b|quand .* (?:commence|fini)"
    )),
    ("funding", re.compile(
        r"combien(?! d)|how much|montant|amount|financ|funding|\bfund|grant|accord|subvention|"
        r"budget|euros?\b|€|\bleve|raised|\binvest(?:ed|ment|ments|i|is|issements?)?\b|cotis|"
        r"\bfees?\b|lowest|highest|total|somme|plus (?:eleve|faible)"
    )),
    ("role", re.compile(r"\brole\b|responsib|what does .* do|que fait")),
    ("person", re.compile(r"\bwho is\b|qui est\b|qui sont|key people|personnes cles|\bpeople\b")),
]  # fmt: skip
_AGGREGATES: list[tuple[Aggregate, re.Pattern[str]]] = [
    ("min", re.compile(
        r"lowest|smallest|minimum|\bleast\b|plus (?:faible|bas|petit)|le moins\b|minimal"
    )),
    ("max", re.compile(
        r"highest|largest|biggest|maximum|\bmost\b|plus (?:eleve|important|gros)|maximal"
    )),
    ("total", re.compile(r"\btotal\b|\bsum\b|somme|cumul|altogether|en tout|au total")),
    ("trend", re.compile(
        r"trend|evol|tendance|over the years|au fil|increase|decrease|augment|diminu|baiss"
    )),
]  # fmt: skip
_RANGE = re.compile(
    r"\b((?:19|20)\d{2})\s*(?:-|–|—|to|and|et|a|à|au|through|until|jusqu'?en)\s*((?:19|20)\d{2})\b"
)
_COUNT = re.compile(r"how many|combien de|nombre d|number of|effet levier|leverage")


class FactAnswer(BaseModel):
    """What the fact store says about a question, for the answer layer to put into words."""

    status: Literal["answered", "no_answer"]
    intent: Intent
    facts: list[Fact] = []
    aggregate: Aggregate | None = None
    value_eur: Decimal | None = None
    year: int | None = None
    years: tuple[int, int] | None = None
    entity: str | None = None
    reason: Reason | None = None
    suggestions: list[str] = []


def normalise(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", fold_accents(text).lower()).strip()


_GENERIC = frozenset(normalise(w) for w in GENERIC_WORDS)


def _tokens(text: str) -> list[str]:
    return normalise(text).split()


@dataclass
class _Entity:
    name: str
    forms: list[list[str]] = field(default_factory=list)

    def score(self, question_tokens: Sequence[str], question_joined: str) -> int:
        """Tokens of the most specific form found in the question; 0 if none is wholly there."""
        best = 0
        for form in self.forms:
            if len(form) == 1 and len(form[0]) >= 4 and form[0] in question_joined:
                best = max(best, 1)
            if all(any(_same_word(t, q) for q in question_tokens) for t in form):
                best = max(best, len(form))
        return best


def _same_word(a: str, b: str) -> bool:
    if len(a) < 5 or len(b) < 5:
        return a == b
    return fuzz.ratio(a, b) >= 88


def _forms(name: str, extra: Iterable[str] = ()) -> list[list[str]]:
    """Ways a question may name an organisation: its distinctive words, its initials ("UPMC"),
    its first word when that is not generic ("Région"), and any known alias."""
    tokens = _tokens(name)
    distinctive = [t for t in tokens if t not in _GENERIC] or tokens
    if len(distinctive) == 1 and len(distinctive[0]) < 4:
        distinctive = tokens  # "Cancéropôle Est": "est" alone is any French sentence
    forms = [distinctive]
    words = re.findall(r"[A-ZÀ-Þ][\w’'-]*", name)
    if len(words) >= 3:
        forms.append([normalise("".join(w[0] for w in words))])
    if len(tokens) > 1 and tokens[0] not in _GENERIC and len(tokens[0]) >= 4:
        forms.append([tokens[0]])
    if "".join(distinctive) != distinctive[0]:
        forms.append(["".join(distinctive)])
    forms.extend(_tokens(alias) for alias in extra if _tokens(alias))
    return forms


class _Entities:
    def __init__(self, names: Iterable[tuple[str, Iterable[str]]]) -> None:
        merged: dict[str, _Entity] = {}
        for name, extra in names:
            entity = merged.setdefault(name, _Entity(name))
            entity.forms.extend(f for f in _forms(name, extra) if f not in entity.forms)
        self.entities = list(merged.values())

    def mentioned(self, question: str) -> set[str]:
        """Every name the question mentions, however specific."""
        tokens = _tokens(question)
        joined = "".join(tokens)
        return {e.name for e in self.entities if e.score(tokens, joined)}

    def match(self, question: str) -> list[str]:
        """The most specific names the question mentions."""
        tokens = _tokens(question)
        joined = "".join(tokens)
        scored = [(e.score(tokens, joined), e.name) for e in self.entities]
        best = max((s for s, _ in scored), default=0)
        return [name for score, name in scored if score and score == best]


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


def detect_intent(question: str) -> Intent | None:
    folded = fold_accents(question).lower()
    for intent, pattern in _INTENTS:
        if pattern.search(folded):
            return intent
    return None


def _aggregate(question: str) -> Aggregate | None:
    folded = fold_accents(question).lower()
    return next((name for name, pattern in _AGGREGATES if pattern.search(folded)), None)


def lookup(question: str, store: FactStore, intent: Intent | None = None) -> FactAnswer | None:
    """The fact-store answer to ``question``, or ``None`` if it is not a question about facts."""
    if intent is None and _COUNT.search(fold_accents(question).lower()):
        figure = _figure(question, store)
        if figure is not None:
            return figure
    intent = intent or detect_intent(question)
    if intent is None:
        # "Région en 2021 ?": a year and a funding party name a funding question without saying so.
        if YEAR.search(question):
            answer = _funding(question, store)
            return answer if answer.entity else None
        return None
    handler = {
        "contact": _contact,
        "funding": _funding,
        "coordinator": _coordinator,
        "partners": _partners,
        "role": _role,
        "person": _person,
        "biobank": _biobank,
        "project": _project,
        "figure": _figure_or_no_answer,
    }[intent]
    return handler(question, store)


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
    names = _Entities((name(r), aliases(r)) for r in records).match(question)
    if not names:
        return None
    found = [r for r in records if name(r) in names]
    return FactAnswer(status="answered", intent=intent, facts=list(found), entity=names[0])


_PHONE_ASKED = re.compile(r"phone|telephone|\btel\b|numero|appeler|\bcall\b")


def _contact(question: str, store: FactStore) -> FactAnswer:
    contacts = [f for f in store.facts if isinstance(f, Contact)]
    found = _by_name(
        question, "contact", contacts, lambda c: c.organisation, lambda c: _contact_forms(c, store)
    )
    if found is None:
        listed = [c.organisation for c in contacts if c.purpose]
        return _no_answer("contact", "unknown_entity", listed)
    records = [f for f in found.facts if isinstance(f, Contact)]
    if _PHONE_ASKED.search(fold_accents(question).lower()) and not any(c.phone for c in records):
        # Asked for a number the documents do not give: say so, and offer what they do give.
        other = [x for c in records for x in (c.email, c.url) if x]
        return _no_answer("contact", "no_phone", other, entity=found.entity)
    return found


def _year_filter(question: str) -> tuple[int | None, tuple[int, int] | None, int | None]:
    folded = fold_accents(question).lower()
    span = _RANGE.search(folded)
    since = SINCE_YEAR.search(folded)
    if span:
        low, high = sorted((int(span.group(1)), int(span.group(2))))
        return None, (low, high), None
    if since:
        return None, None, int(since.group(1))
    years = [int(y) for y in YEAR.findall(folded)]
    return (years[0] if years else None), None, None


_KIND_WORDS = {
    "budget": "budget", "subvention": "grant", "grant": "grant", "cotis": "membership_fee",
    "membre": "membership_fee", "member": "membership_fee", "leve": "funds_raised",
    "raised": "funds_raised", "invest": "investment",
}  # fmt: skip


def _answered(facts: Sequence[Fact], **kw: object) -> FactAnswer:
    return FactAnswer(status="answered", intent="funding", facts=list(facts), **kw)


def _funding(question: str, store: FactStore) -> FactAnswer:
    """Funding for a year, since a year, over a range, or its highest, lowest, total or trend.

    Funders and recipients are matched separately ("INCa … to the Cancéropôle Île-de-France"),
    so naming the recipient does not bring in every funder's records."""
    records = [f for f in store.facts if isinstance(f, Funding)]
    parties = {name for r in records for name in (r.funder, r.recipient) if name}
    mentioned = _Entities((name, _aliases(store, name)) for name in parties).mentioned(question)
    funders = mentioned & {r.funder for r in records if r.funder}
    recipients = mentioned & {r.recipient for r in records if r.recipient}
    if funders:
        records = [r for r in records if r.funder in funders]
    if recipients and (not funders or any(r.recipient in recipients for r in records)):
        records = [r for r in records if r.recipient in recipients or r.funder in recipients]
    folded = fold_accents(question).lower()
    wanted = {kind for word, kind in _KIND_WORDS.items() if word in folded}
    if wanted and any(r.kind in wanted for r in records):
        records = [r for r in records if r.kind in wanted]
    entity = next(iter(sorted(funders or recipients)), None)
    series = sorted(
        (r for r in records if r.year is not None and r.period_start is None),
        key=lambda r: r.year or 0,
    )
    year, span, since = _year_filter(question)
    aggregate = _aggregate(question)
    if since is None and aggregate is not None and (series or span):
        return _funding_aggregate(aggregate, series, span, entity)
    if year is not None or span is not None or since is not None:
        return _funding_dated(
            records, series=series, year=year, span=span, since=since, entity=entity
        )
    if not mentioned and not (wanted and len(records) == 1):
        return _no_answer("funding", "unknown_entity", sorted(parties))
    extra = [p for p in store.facts if isinstance(p, Project) and p.name in recipients]
    if len(records) == 1:
        return _answered(
            [*records, *extra], aggregate="value", value_eur=records[0].amount_eur, entity=entity
        )
    return _answered([*(series or records), *extra], aggregate="list", entity=entity)


def _funding_aggregate(
    aggregate: Aggregate, series: list[Funding], span: tuple[int, int] | None, entity: str | None
) -> FactAnswer:
    """Highest, lowest, total or trend over a yearly series, within ``span`` if given."""
    if span:
        series = [r for r in series if span[0] <= (r.year or 0) <= span[1]]
    if not series:
        return _no_answer("funding", "no_facts", entity=entity, years=span)
    covered = (series[0].year or 0, series[-1].year or 0)
    if aggregate in ("max", "min"):
        pick = max if aggregate == "max" else min
        best = pick(series, key=lambda r: r.amount_eur)
        return _answered(
            [best],
            aggregate=aggregate,
            value_eur=best.amount_eur,
            year=best.year,
            years=span,
            entity=entity,
        )
    if aggregate == "total":
        if span and {r.year for r in series} != set(range(span[0], span[1] + 1)):
            # A total over years some of which are missing would be a wrong total.
            return _no_answer(
                "funding", "range_incomplete", entity=entity, years=span, facts=series
            )
        total = sum((r.amount_eur for r in series), Decimal(0))
        return _answered(
            series, aggregate="total", value_eur=total, years=span or covered, entity=entity
        )
    return _answered(series, aggregate="trend", years=covered, entity=entity)


def _funding_dated(
    records: list[Funding],
    *,
    series: list[Funding],
    year: int | None,
    span: tuple[int, int] | None,
    since: int | None,
    entity: str | None,
) -> FactAnswer:
    """A given year, a range of years, or "since" a year: exactly those, never the nearest."""
    if year is not None:
        found = [r for r in records if r.year == year]
        value = found[0].amount_eur if len(found) == 1 else None
        kw: dict[str, object] = {"year": year}
    elif span is not None:
        found = [r for r in series if span[0] <= (r.year or 0) <= span[1]]
        value, kw = None, {"years": span}
    else:
        found = [r for r in records if r.period_start == since and r.period_end is None]
        value = found[0].amount_eur if len(found) == 1 else None
        kw = {"year": since}
    if not found:
        if entity is None:
            # Nobody named: the records cannot say the amount is absent; the passages may have it.
            return _no_answer("funding", "unknown_entity", (), entity=entity, **kw)
        available = [str(r.year) for r in series]
        return _no_answer("funding", "year_not_found", available, entity=entity, **kw)
    aggregate = "value" if value is not None else "list"
    return _answered(found, aggregate=aggregate, value_eur=value, entity=entity, **kw)


def _projects(store: FactStore) -> _Entities:
    names = {f.project for f in store.facts if isinstance(f, PartnerRole)} | {
        f.name for f in store.facts if isinstance(f, Project)
    }
    return _Entities((name, _aliases(store, name)) for name in names)


def _coordinator(question: str, store: FactStore) -> FactAnswer:
    if re.search(r"\baxe|\baxis", fold_accents(question).lower()):
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
    axes = _Entities(
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


def _partners(question: str, store: FactStore) -> FactAnswer:
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
    return FactAnswer(
        status="answered",
        intent="partners",
        facts=listed,
        aggregate="list",
        entity=roles[0].project,
    )


def _role(question: str, store: FactStore) -> FactAnswer:
    roles = [f for f in store.facts if isinstance(f, PartnerRole) and f.description]
    found = _by_name(
        question, "role", roles, lambda r: r.organisation, lambda r: _aliases(store, r.organisation)
    )
    return found or _no_answer("role", "unknown_entity", sorted({r.organisation for r in roles}))


def _person(question: str, store: FactStore) -> FactAnswer:
    people = [f for f in store.facts if isinstance(f, Person)]
    found = _by_name(question, "person", people, lambda p: p.name, lambda p: [p.name.split()[-1]])
    if found:
        return found
    if re.search(r"key people|personnes cles|people involved", fold_accents(question).lower()):
        listed = [p for p in people if not (p.role or "").startswith("coordinator of")]
        return FactAnswer(status="answered", intent="person", facts=listed, aggregate="list")
    return _no_answer("person", "unknown_entity")


def _biobank(question: str, store: FactStore) -> FactAnswer:
    banks = [f for f in store.facts if isinstance(f, Biobank)]
    found = _by_name(question, "biobank", banks, lambda b: b.name, lambda b: [b.establishment])
    if found:
        return found
    if re.search(r"\b(?:list|liste|which|quelles|all|toutes)\b", fold_accents(question).lower()):
        return FactAnswer(status="answered", intent="biobank", facts=banks, aggregate="list")
    return _no_answer("biobank", "unknown_entity", [b.establishment for b in banks])


def _figure(question: str, store: FactStore) -> FactAnswer | None:
    """A brochure key figure whose subject and label the question names ("How many patients are
    in the PANCREAS-CGE cohort?"): most of the question's words must be in the label."""
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


def _figure_or_no_answer(question: str, store: FactStore) -> FactAnswer:
    return _figure(question, store) or _no_answer("figure", "no_facts")


def _project(question: str, store: FactStore) -> FactAnswer:
    projects = [f for f in store.facts if isinstance(f, Project)]
    names = _projects(store).match(question)
    found = (
        [p for p in projects if p.name in names]
        if names
        else (projects if len(projects) == 1 else [])
    )
    if not found:
        return _no_answer("project", "unknown_entity", [p.name for p in projects])
    return FactAnswer(status="answered", intent="project", facts=found, entity=found[0].name)
