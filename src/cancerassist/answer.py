"""Put answers into words, in the question's language, from facts or from retrieved passages.

Every sentence comes from ``prompts/fr.toml`` or ``prompts/en.toml``. A fact answer cites the
span its record was read from; an extractive answer quotes the one to three sentences of the
retrieved passages that best cover the question, never a whole chunk, and says so when the
passage is in the other language.

Example::

    prompts = Prompts.load(Path("prompts"))
    text, citations = render_facts(fact_answer, "en", prompts, index)
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from cancerassist.chunk import source_offset
from cancerassist.index import SearchIndex
from cancerassist.ingest import is_heading
from cancerassist.lookup import FactAnswer, Intent
from cancerassist.models import (
    Biobank,
    Chunk,
    Citation,
    Conflict,
    Contact,
    Fact,
    Figure,
    Funding,
    Language,
    PartnerRole,
    Person,
    Project,
    SearchHit,
    SourceDocument,
)
from cancerassist.profile import NEUTRAL, CorpusProfile, ProfileError
from cancerassist.text import (
    NOT_A_STOP,
    NUMBER_WORDS,
    TITLES,
    detect_language,
    fold_accents,
    term_variants,
    tokenize,
)

MAX_ANSWER_CHARS = 600
MAX_SNIPPET_CHARS = 1000
_SENTENCE = re.compile(rf"(?<=[.!?…]){NOT_A_STOP}\s+(?=[«\"“(]?[A-ZÀ-Þ0-9])|\n")


class Prompts:
    """The FR and EN sentence templates, keyed like ``"funding.value_year"``."""

    def __init__(self, templates: dict[Language, dict[str, str]]) -> None:
        self.templates = templates

    @classmethod
    def load(cls, directory: Path, profile: CorpusProfile = NEUTRAL) -> Prompts:
        """The templates in ``directory``, with the sentences the corpus profile replaces and
        what it says the assistant covers in place of ``{covers}``."""
        templates: dict[Language, dict[str, str]] = {}
        for language in ("fr", "en"):
            with (directory / f"{language}.toml").open("rb") as f:
                table = _flatten(tomllib.load(f))
            replaced = profile.prompts.get(language, {})
            unknown = sorted(replaced.keys() - table.keys())
            if unknown:
                raise ProfileError(f"the profile replaces prompts that do not exist: {unknown}")
            for key, text in replaced.items():
                extra = _fields(text) - _fields(table[key]) - {"covers"}
                if extra:
                    raise ProfileError(
                        f"the profile's prompt {language}.{key} uses unknown placeholders: "
                        f"{sorted(extra)}"
                    )
            covers = profile.covers_in(language)
            templates[language] = {
                key: text.replace("{covers}", covers) for key, text in (table | replaced).items()
            }
        return cls(templates)

    def say(self, language: Language, key: str, **values: Any) -> str:
        return self.templates[language][key].format(**values)


def _fields(template: str) -> set[str]:
    """The ``{placeholders}`` a template fills."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = str(value)
    return flat


# ---------------------------------------------------------------------------------------------
# Sources that disagree


def render_conflicts(conflicts: list[Conflict], language: Language, prompts: Prompts) -> str:
    """One sentence per conflict: every source's value, and which do not fit their entity."""
    sentences = []
    for conflict in conflicts:
        values = "; ".join(
            prompts.say(language, "conflict.value", value=v.value, title=v.title)
            + (prompts.say(language, "conflict.mismatch") if v.domain_mismatch else "")
            for v in conflict.values
        )
        sentences.append(
            prompts.say(
                language, f"conflict.{conflict.kind}", entity=conflict.entity, values=values
            )
        )
    return " ".join(sentences)


def conflict_citations(conflicts: list[Conflict], index: SearchIndex) -> list[Citation]:
    """A citation for every value a conflict lists, so each source can be opened."""
    citations = []
    for conflict in conflicts:
        for value in conflict.values:
            document = index.documents[value.doc_id]
            citations.append(
                Citation(
                    doc_id=value.doc_id,
                    title=document.title,
                    section=index.section_at(value.doc_id, value.start),
                    snippet=document.text[value.start : value.end][:MAX_SNIPPET_CHARS],
                    start=value.start,
                    end=value.end,
                    score=0.0,
                    page=document.page_at(value.start),
                )
            )
    return citations


# ---------------------------------------------------------------------------------------------
# Amounts in words


def format_amount(value: Decimal, language: Language, currency: str | None = None) -> str:
    """``4.132 millions d’euros`` / ``4.132 million euros``: exact, never rounded. An amount in
    another currency than the euro is written with its ISO 4217 code (``2.5 million GBP``)."""
    unit = {"fr": "d’euros", "en": "euros"}[language] if currency in (None, "EUR") else currency
    millions = value / 1_000_000
    # "4.132 million" reads better than 4,132,000; "3.263864 million" does not.
    if value >= 1_000_000 and millions == round(millions, 3):
        text = format(millions.normalize(), "f")
        if language == "fr":
            return f"{text.replace('.', ',')} million{'s' if millions >= 2 else ''} {unit}"
        return f"{text} million {unit}"
    unit = unit.removeprefix("d’")
    whole = format(value.normalize(), "f")
    integer, _, cents = whole.partition(".")
    grouped = f"{int(integer):,}"
    if language == "fr":
        return grouped.replace(",", "\u202f") + (f",{cents}" if cents else "") + f" {unit}"
    return grouped + (f".{cents}" if cents else "") + f" {unit}"


def _join(items: list[str], language: Language, prompts: Prompts) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {prompts.say(language, 'labels.and')} " + items[-1]


# ---------------------------------------------------------------------------------------------
# Citations


def fact_citation(fact: Fact, index: SearchIndex) -> Citation:
    source = fact.provenance
    return Citation(
        doc_id=source.doc_id,
        title=index.documents[source.doc_id].title,
        section=index.section_at(source.doc_id, source.start),
        snippet=source.quote[:MAX_SNIPPET_CHARS],
        start=source.start,
        end=source.end,
        score=1.0,
        page=index.documents[source.doc_id].page_at(source.start),
    )


# ---------------------------------------------------------------------------------------------
# Fact answers


def render_facts(
    answer: FactAnswer, language: Language, prompts: Prompts, index: SearchIndex
) -> tuple[str, list[Citation]]:
    """Text and citations of an answered :class:`FactAnswer`."""
    lines = _RENDERERS[answer.intent](answer, language, prompts)
    return shorten(" ".join(lines)), unique_citations(
        [fact_citation(f, index) for f in answer.facts]
    )


def _contact_lines(answer: FactAnswer, language: Language, prompts: Prompts) -> list[str]:
    contacts = [c for c in answer.facts if isinstance(c, Contact)]
    if answer.aggregate in ("count", "list"):
        names = _join(list(dict.fromkeys(c.organisation for c in contacts)), language, prompts)
        return [prompts.say(language, "contact.listed", count=len(contacts), names=names)]
    return [_contact_line(c, language, prompts) for c in contacts]


def _funding_lines(answer: FactAnswer, language: Language, prompts: Prompts) -> list[str]:
    return [_funding_text(answer, language, prompts)]


def _partner_lines(answer: FactAnswer, language: Language, prompts: Prompts) -> list[str]:
    roles = [r for r in answer.facts if isinstance(r, PartnerRole)]
    names = [
        prompts.say(language, "project.associated", organisation=r.organisation)
        if r.role == "associated_partner"
        else (f"{r.organisation} ({r.country})" if r.country else r.organisation)
        for r in roles
    ]
    partners = _join(names, language, prompts)
    project = answer.entity or roles[0].project
    if answer.aggregate == "membership":
        if answer.reason == "not_member":
            return [prompts.say(language, "project.member_no", project=project, partners=partners)]
        return [prompts.say(language, "project.member_yes", project=project, organisation=names[0])]
    if answer.aggregate == "count":
        return [
            prompts.say(
                language,
                "project.partner_count",
                project=project,
                count=len(roles),
                partners=partners,
            )
        ]
    return [prompts.say(language, "project.partners", project=project, partners=partners)]


def _role_lines(answer: FactAnswer, language: Language, prompts: Prompts) -> list[str]:
    return [
        _quoted(
            prompts,
            language,
            "project.role",
            "description",
            r.description or "",
            organisation=r.organisation,
            project=r.project,
        )
        for r in answer.facts
        if isinstance(r, PartnerRole)
    ]


def _quoted(
    prompts: Prompts, language: Language, key: str, field: str, text: str, **values: Any
) -> str:
    """A template around words taken from a document: marked as a quote, with its language
    named, when they are in the other language (no translation is invented)."""
    # (one word, "CEO", says too little of its language to be quoted)
    text_language = detect_language(text, language) if len(text.split()) >= 2 else language
    if text_language == language:
        return prompts.say(language, key, **values, **{field: text})
    name = prompts.say(language, f"language.name_{text_language}")
    return prompts.say(language, f"{key}_quoted", lang_name=name, **values, **{field: text})


def _person_lines(answer: FactAnswer, language: Language, prompts: Prompts) -> list[str]:
    people = [p for p in answer.facts if isinstance(p, Person)]
    if answer.aggregate == "list":
        return [
            prompts.say(
                language, "person.list", people=_join([p.name for p in people], language, prompts)
            )
        ]
    return [
        _quoted(prompts, language, "person.about", "details", _person_details(p), name=p.name)
        for p in people
    ]


def _biobank_lines(answer: FactAnswer, language: Language, prompts: Prompts) -> list[str]:
    banks = [b for b in answer.facts if isinstance(b, Biobank)]
    if answer.aggregate == "list":
        names = "; ".join(b.name for b in banks)
        return [prompts.say(language, "biobank.list", count=len(banks), banks=names)]
    return [
        prompts.say(
            language,
            "biobank.one",
            name=b.name,
            establishment=b.establishment,
            responsible=b.responsible,
        )
        for b in banks
    ]


def _figure_lines(answer: FactAnswer, language: Language, prompts: Prompts) -> list[str]:
    return [
        prompts.say(language, "figure.one", subject=f.subject, value=f.value_text, label=f.label)
        for f in answer.facts
        if isinstance(f, Figure)
    ]


def _project_lines(answer: FactAnswer, language: Language, prompts: Prompts) -> list[str]:
    lines = [_project_line(p, language, prompts) for p in answer.facts if isinstance(p, Project)]
    amounts = [f for f in answer.facts if isinstance(f, Funding)]
    return lines + [_funding_value(f, language, prompts) for f in amounts]


def _coordinator_answer(answer: FactAnswer, language: Language, prompts: Prompts) -> list[str]:
    return _coordinator_lines(answer.facts, language, prompts)


_RENDERERS: dict[Intent, Callable[[FactAnswer, Language, Prompts], list[str]]] = {
    "contact": _contact_lines,
    "funding": _funding_lines,
    "coordinator": _coordinator_answer,
    "partners": _partner_lines,
    "role": _role_lines,
    "person": _person_lines,
    "biobank": _biobank_lines,
    "figure": _figure_lines,
    "project": _project_lines,
}


def unique_citations(citations: list[Citation]) -> list[Citation]:
    seen: set[tuple[str, int, int]] = set()
    out = []
    for c in citations:
        if (c.doc_id, c.start, c.end) not in seen:
            seen.add((c.doc_id, c.start, c.end))
            out.append(c)
    return out


def _contact_line(contact: Contact, language: Language, prompts: Prompts) -> str:
    parts = []
    reach = contact.email or contact.url
    if reach:
        key = f"contact.{contact.purpose}" if contact.purpose else "contact.generic"
        parts.append(prompts.say(language, key, organisation=contact.organisation, contact=reach))
    if contact.address:
        parts.append(
            prompts.say(
                language,
                "contact.address",
                organisation=contact.organisation,
                address=contact.address,
            )
        )
    if contact.phone_text:
        parts.append(prompts.say(language, "contact.phone", phone=contact.phone_text))
    if contact.url and (reach != contact.url or contact.address):
        parts.append(prompts.say(language, "contact.website", url=contact.url))
    return " ".join(parts)


def _person_details(person: Person) -> str:
    return ", ".join(p for p in (person.title, person.role, person.affiliation) if p)


def _project_line(project: Project, language: Language, prompts: Prompts) -> str:
    if project.start_year is None:
        return prompts.say(language, "project.programme_only", project=project.name,
                           programme=project.programme or "")  # fmt: skip
    programme = (
        prompts.say(language, "project.programme", programme=project.programme)
        if project.programme
        else ""
    )
    return prompts.say(
        language,
        "project.duration",
        project=project.name,
        start=project.start_year,
        end=project.end_year,
        programme=programme,
    )


def _coordinator_lines(facts: list[Fact], language: Language, prompts: Prompts) -> list[str]:
    roles = [r for r in facts if isinstance(r, PartnerRole)]
    people = [p for p in facts if isinstance(p, Person)]
    if roles:
        return [
            prompts.say(
                language,
                "project.coordinator",
                project=r.project,
                organisation=r.organisation,
                person=f" ({r.person})" if r.person else "",
            )
            for r in roles
        ]
    axis = (people[0].role or "").removeprefix("coordinator of ")
    names = [f"{p.name} ({p.affiliation})" if p.affiliation else p.name for p in people]
    return [
        prompts.say(language, "project.axis", axis=axis, people=_join(names, language, prompts))
    ]


def _funding_text(answer: FactAnswer, language: Language, prompts: Prompts) -> str:
    records = [f for f in answer.facts if isinstance(f, Funding)]
    series = "; ".join(
        f"{r.year} : {format_amount(r.amount, language, r.currency)}"
        if language == "fr"
        else f"{r.year}: {format_amount(r.amount, language, r.currency)}"
        for r in records
    )
    if answer.aggregate in ("max", "min", "total", "average", "compare", "combined"):
        return _summary_text(answer, records, series, language, prompts)
    funder = records[0].funder or records[0].recipient or ""
    if answer.aggregate in ("increase", "decrease", "difference"):
        values = _change_values(records[0], records[-1], language)
        if answer.aggregate == "difference":
            direction = _direction(records, language, prompts)
            return prompts.say(
                language, "funding.difference", funder=funder, direction=direction, **values
            )
        return prompts.say(language, f"funding.{answer.aggregate}", funder=funder, **values)
    if answer.aggregate == "trend":
        first, last = answer.years or (0, 0)
        direction = _direction(records, language, prompts)
        return prompts.say(
            language, "funding.trend", funder=funder, first=first, last=last, series=series,
            direction=direction,
        )  # fmt: skip
    if answer.aggregate == "list" and len(records) > 1 and all(r.year for r in records):
        return prompts.say(language, "funding.list", funder=funder, series=series)
    return " ".join(_funding_value(r, language, prompts) for r in records)


def _summary_text(
    answer: FactAnswer, records: list[Funding], series: str, language: Language, prompts: Prompts
) -> str:
    """Highest, lowest, total or average of a series, or the difference between (or sum of)
    two parties' amounts, with the figures it used."""
    assert answer.value is not None
    if answer.aggregate in ("compare", "combined"):
        one, other = records
        return prompts.say(
            language,
            f"funding.{answer.aggregate}",
            first_name=one.recipient or one.funder or "",
            first_amount=format_amount(one.amount, language, one.currency),
            second_name=other.recipient or other.funder or "",
            second_amount=format_amount(other.amount, language, other.currency),
            amount=format_amount(answer.value, language, records[0].currency),
        )
    funder = records[0].funder or records[0].recipient or ""
    amount = format_amount(answer.value, language, records[0].currency)
    first, last = answer.years or (0, 0)
    if answer.aggregate in ("max", "min"):
        span = answer.years
        range_text = prompts.say(language, "funding.range", first=first, last=last) if span else ""
        return prompts.say(
            language, f"funding.{answer.aggregate}", funder=funder, range=range_text,
            amount=amount, year=answer.year,
        )  # fmt: skip
    if answer.aggregate == "total":
        total = prompts.say(
            language, "funding.total", funder=funder, amount=amount, first=first, last=last
        )
        return prompts.say(language, "funding.total_series", total=total, series=series)
    millions = (answer.value / 1_000_000).quantize(Decimal("0.001")) * 1_000_000
    exact = answer.value == answer.value.quantize(Decimal(1))
    return prompts.say(
        language,
        "funding.average_exact" if exact and millions == answer.value else "funding.average",
        funder=funder,
        amount=format_amount(answer.value.quantize(Decimal(1)), language, records[0].currency),
        approx=format_amount(millions, language, records[0].currency),
        first=first,
        last=last,
        total=format_amount(
            sum((r.amount for r in records), Decimal(0)), language, records[0].currency
        ),
        count=len(records),
        series=series,
    )


def _change_values(before: Funding, after: Funding, language: Language) -> dict[str, object]:
    return {
        "first": before.year,
        "last": after.year,
        "first_amount": format_amount(before.amount, language, before.currency),
        "last_amount": format_amount(after.amount, language, after.currency),
        "change": format_amount(abs(after.amount - before.amount), language, after.currency),
    }


def _direction(records: list[Funding], language: Language, prompts: Prompts) -> str:
    """Up, down or the same from the first record to the last, by how much, with both figures."""
    start, end = records[0], records[-1]
    key = (
        "trend_up"
        if end.amount > start.amount
        else "trend_down"
        if end.amount < start.amount
        else "trend_flat"
    )
    return prompts.say(language, f"funding.{key}", **_change_values(start, end, language))


def _funding_value(record: Funding, language: Language, prompts: Prompts) -> str:
    """One record in a sentence; the template depends on what the record knows."""
    if record.kind in ("budget", "membership_fee", "funds_raised", "investment"):
        key = {"budget": "value_budget", "membership_fee": "value_membership"}.get(
            record.kind, record.kind
        )
    elif record.year:
        key = "value_year" if record.funder else "value_year_no_funder"
        if record.funder and record.purpose and not record.recipient:
            key = "value_year_purpose"
    elif record.period_start and not record.period_end:
        key = "value_since"
    else:
        key = "value_period" if record.funder else "value_grant"
    has_period = record.period_start and record.period_end
    if key == "value_period" and not has_period:
        # no period to state, and perhaps no recipient: "X granted Y (to Z)."
        key = "value_to" if record.recipient else "value_given"
    period = (
        prompts.say(language, "funding.period", first=record.period_start, last=record.period_end)
        if has_period
        else ""
    )
    return prompts.say(
        language,
        f"funding.{key}",
        amount=format_amount(record.amount, language, record.currency),
        funder=record.funder,
        recipient=record.recipient or record.funder or "",
        year=record.year,
        since=record.period_start,
        period=period.strip(" ()") if key == "value_period" else period,
        purpose=record.purpose or "",
    )


def render_no_answer(
    answer: FactAnswer | None,
    language: Language,
    prompts: Prompts,
    known: tuple[str, list[Fact]] | None = None,
) -> str:
    """The helpful "no answer" in the user's language: what is missing and what is there —
    for the subject asked about (``known``: its name and the records about it) if the
    documents know it, else what they cover."""
    specific = _specific_no_answer(answer, language, prompts)
    if specific is not None:
        return specific
    if known is not None and known[1]:
        name, facts = known
        kinds = list(dict.fromkeys(prompts.say(language, f"labels.kind_{f.type}") for f in facts))
        return prompts.say(
            language, "no_answer.entity", entity=name, kinds=_join(kinds, language, prompts)
        )
    return prompts.say(language, "no_answer.default")


def _specific_no_answer(
    answer: FactAnswer | None, language: Language, prompts: Prompts
) -> str | None:
    """What a route knows is missing: a phone, a year, some years, or a contact."""
    if answer is not None:
        if answer.reason in ("no_phone", "no_email"):
            return prompts.say(
                language,
                f"no_answer.{answer.reason.removeprefix('no_')}",
                entity=answer.entity or "",
                other=", ".join(answer.suggestions) or "—",
            )
        if answer.intent == "contact" and answer.suggestions:
            return prompts.say(language, "no_answer.contact", listed=", ".join(answer.suggestions))
        if answer.reason == "year_not_found" and answer.year:
            available = ", ".join(answer.suggestions) or "—"
            return prompts.say(language, "no_answer.year", year=answer.year, available=available)
        if answer.reason == "range_incomplete" and answer.years:
            return prompts.say(
                language, "no_answer.range", first=answer.years[0], last=answer.years[1]
            )
    return None


# ---------------------------------------------------------------------------------------------
# Extractive answers


@dataclass
class Evidence:
    """A sentence of a retrieved chunk, scored against the question."""

    chunk: Chunk
    start: int  # position in chunk.text
    end: int
    coverage: float
    shaped: float  # bonus for holding the kind of thing asked for
    score: float
    dense: float
    # A heading answers only what its words hold ("Clara Ducord, Directrice … de 2018 à 2022"
    # for "who directed …"), never as a bare title.
    heading: bool = False
    # A whole bulleted list (for a question that asks for one), not a sentence.
    items: bool = False
    # … whose heading or lead-in uses the question's words ("Partners in X include: …").
    titled: bool = False

    @property
    def support(self) -> float:
        return self.coverage + self.shaped

    @property
    def text(self) -> str:
        return self.chunk.text[self.start : self.end]


# A sentence that lists three items or more ("include: A; B; C", "A, B, C and D").
_ENUMERATION = re.compile(r"(?:[^;]+;){2,}[^;]+|:\s*(?:[^,]+,){2,}[^,]+")


# What a list scores over a sentence when a list is asked for and its title says it is one.
LISTED = 0.5
# … or, asked how many, what a list scores (a sentence with the number scores 0.6).
COUNTED_LIST = 0.3
# … and when nothing says what it lists: an enumeration in the right place may still be it.
UNTITLED_LIST = 0.15
# How far back a list's lead-in may start.
LEAD_IN_CHARS = 400


def _bulleted(chunk: Chunk) -> list[tuple[int, int, str]]:
    """Spans of the chunk's lists, each with the line that introduces it (a heading or a
    lead-in ending with a colon), if any: bulleted lines (two or more), or lines with no
    closing punctuation that all open on the same word ("Réseau Est" / "Réseau Ouest" / …,
    three or more), as a list without bullets is written."""
    lines = [(m.start(), m.end(), m.group()) for m in re.finditer(r"[^\n]+", chunk.text)]
    out: list[tuple[int, int, str]] = []
    run: list[tuple[int, int, str]] = []
    for line in [*lines, (0, 0, "")]:
        if _continues_list(run, line[2]):
            run.append(line)
            continue
        bulleted = bool(run) and _is_item(run[0][2])
        if len(run) >= (2 if bulleted else 3):
            first = lines.index(run[0])
            before = lines[first - 1][2].strip() if first else ""
            # A list with no line of its own to introduce it is what its section is about.
            label = (
                before if before and (is_heading(before) or before.endswith(":")) else chunk.section
            )
            out.append((run[0][0], run[-1][1], label))
        run = [line] if _continues_list([], line[2]) else []
    return out


def _lead_in(chunk: Chunk, index: SearchIndex) -> str | None:
    """The line that introduces a list opening ``chunk``, where the chunker left it at the
    end of the chunk before ("Leurs missions communes … sont de :")."""
    text = index.documents[chunk.doc_id].text
    start = source_offset(chunk, 0)
    before = text[max(0, start - LEAD_IN_CHARS) : start]
    lines = [line.strip() for line in before.splitlines() if line.strip()]
    return lines[-1] if lines and lines[-1].endswith(":") else None


def _continues_list(run: list[tuple[int, int, str]], line: str) -> bool:
    """``line`` is an item of the list ``run`` holds (or may open one)."""
    text = line.strip()
    if _is_item(text):
        return not run or _is_item(run[0][2])
    words = text.split()
    if not words or len(text) > 120 or text[-1] in ".!?:;," or not words[0][:1].isupper():
        return False
    return not run or (not _is_item(run[0][2]) and run[0][2].split()[0].lower() == words[0].lower())


def _is_item(line: str) -> bool:
    """The line is a bulleted item (ingestion writes every bullet as "•")."""
    return line.lstrip().startswith("•")


def _sentences(chunk: Chunk) -> list[tuple[int, int, bool]]:
    """Spans of the chunk's sentences, each with whether it is a heading."""
    spans, start = [], 0
    for match in _SENTENCE.finditer(chunk.text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(chunk.text)))
    headings = set(chunk.section.split(" › "))
    out = []
    for s, e in spans:
        text = chunk.text[s:e].strip()
        if text:
            out.append((s, e, text in headings or is_heading(text)))
    return out


# A number and the few words after it, where what it counts is named ("10 early-stage (ESR)
# and 4 experienced (ER) researchers").
# A unit may come between ("22,5 M€ obtenus").
# A year counts nothing ("en 2008, le…").
_COUNTED = re.compile(
    rf"(?:(?<![\d.,])(?!(?:19|20)\d\d\b)\d[\d\s.,]*|{NUMBER_WORDS})\s+((?:(?:[^\W\d_][\w’'-]*|[€$£%])[\s()]*){{1,4}})"
)


def counts(sentence: str, asked: AbstractSet[str], given: AbstractSet[str] = frozenset()) -> bool:
    """Whether the sentence gives a number of the thing the question counts, other than the
    ``given`` numbers the question writes itself ("How many partners for the 13 grants?" is
    not answered by "the 13 grants")."""
    return any(
        set(tokenize(m.group(1))) & asked and m.group().split()[0] not in given
        for m in _COUNTED.finditer(sentence)
    )


def counted_terms(question: str, names: Sequence[str]) -> set[str]:
    """What a "how many" question counts: the forms of its words, less the names it uses
    ("Combien d'habitants couvre le Réseau X ?" counts habitants, not networks)."""
    named = {form for forms in term_variants(" ".join(names)) for form in forms}
    return {form for forms in term_variants(question, translate=True) for form in forms} - named


_DEFINITION = re.compile(
    r"^\W*(?:what is|what's|what are|qu'est-ce que|qu'est ce que|c'est quoi|que sont|"
    r"qu'est-ce qu'|a quoi sert?n?t?)\s+(?:the |an? |l'|le |la |les |une? |des )?"
    r"(?P<subject>[^?(]+?)\s*(?:\((?P<other>[^)]*)\)\s*)?(?P<purpose>(?:used )?for)?\s*\??$"
    r"|^\W*(?P<subject2>[^,?]+?)\s*,?\s*(?:c'est quoi|qu'est-ce que c'est)\b"
)


@dataclass(frozen=True)
class _Defined:
    names: tuple[str, ...]  # "tumour bank (biobanque)": either name
    purpose: bool  # "What is X for?", "À quoi sert X ?": what it is for, not what it is


def _defined(question: str) -> _Defined | None:
    """What a definition question asks about ("What is TRIALNET?" -> TRIALNET; "OK. What is
    TRIALNET?" too: the question is the last sentence)."""
    last = re.split(r"(?<=[.!])\s+", question.strip())[-1]
    folded = fold_accents(last).lower().replace("’", "'")
    match = _DEFINITION.search(folded)
    if match is None:
        return None
    subject = (match.group("subject") or match.group("subject2") or "").strip()
    # "tumour bank (biobanque)" names it twice; in "the status of X (Y)", Y names X.
    other = "" if re.search(r"\b(?:of|de|du|des|d')\b", subject) else match.group("other")
    names = tuple(n.strip() for n in (subject, other or "") if n.strip())
    purpose = bool(match.group("purpose")) or folded.lstrip(" ¿").startswith("a quoi ser")
    return _Defined(names, purpose) if subject else None


def _defines(sentence: str, defined: _Defined) -> bool:
    """Whether the sentence opens on the subject ("TRIALNET is…", "Acme, pôle de
    compétitivité…", "Les biobanques ont pour objet…")."""
    words = sentence.lstrip("•-– ").split()
    wanted = [term_variants(name) for name in defined.names]
    named = {f for w in wanted for variants in w for f in variants}
    capitals = [
        w for w in words[:4] if w.isupper() and len(w) >= 3 and not named & set(tokenize(w))
    ]
    if len(capitals) >= 2:
        return False  # a row of a table or a title in capitals names things, defines none
    opening = term_variants(" ".join(words[:4]))
    if not (opening and any(w and set(w[0]) & set(opening[0]) for w in wanted)):
        return False
    # … and goes on to say what it is or is for, not what it did.
    says = _SAYS_WHAT_FOR if defined.purpose else _SAYS_WHAT
    return bool(says.search(fold_accents(" ".join(words[:10])).lower()))


_SAYS_WHAT_FOR = re.compile(
    r"\b(?:a|ont) pour (?:objet|but|mission|objectif|vocation|role)\b|\bsert|\bservent\b|"
    r"\bserves?\b|\bused (?:for|to)\b|\baims?\b|\bvisent?\b|\bdestine|\bpermet|\ballows?\b|"
    r"\benables?\b|\bdesigned to\b"
)


_SAYS_WHAT = re.compile(
    r"\b(?:is|are|est|sont|was|were|a pour|ont pour|designe|means|refers|serves?|sert)\b"
    r"|^[^,]{0,40},"
)


# What a value labelled as the kind asked for scores over one of the same shape that is not.
CUED = 0.15
# How many lines above a bare value may label it, and how many words besides the value a line
# may hold and still be a bare value ("Tél. : (514) 398-5611").
LABEL_LINES = 3
BARE_VALUE_WORDS = 3
# A value a line may give of its own: an address, a web site, a number written in groups.
_VALUE = re.compile(r"\S+@\S+|https?://\S+|www\.\S+|\d[\d\s.()+-]{5,}\d")


def _bare_value(sentence: str, shapes: Sequence[re.Pattern[str]]) -> bool:
    """The line is little more than a value of the asked shape."""
    if not shapes or "\n" in sentence.strip():
        return False
    rest = sentence
    for shape in shapes:
        rest = shape.sub(" ", rest)
    return rest != sentence and len(re.findall(r"[^\W\d_]{2,}", rest)) <= BARE_VALUE_WORDS


def _label_lines(text: str, start: int, shapes: Sequence[re.Pattern[str]]) -> str:
    """The lines just above ``start`` that say what the value on its line belongs to: up to
    ``LABEL_LINES``, passing over other bare values of the asked shape (a fax under a telephone
    number shares its address) and stopping at a line with another value (another entry)."""
    if not shapes or (start and text[start - 1] != "\n"):
        return ""
    lines = text[:start].splitlines()[-LABEL_LINES:]
    kept: list[str] = []
    for line in reversed(lines):
        if any(shape.search(line) for shape in shapes) and _bare_value(line, shapes):
            continue
        if _VALUE.search(line):
            break  # another entry of a listing ("Agence Nord http://…" above "Agence Sud x@sud.fr")
        kept.append(line)
    return " ".join(reversed(kept))


def _labels_of(text: str, start: int, end: int, shapes: Sequence[re.Pattern[str]]) -> str:
    """The lines that label ``text[start:end]`` when it is a bare value of the asked shape
    (checked first: most sentences are not, and need not have the lines above them read)."""
    if not _bare_value(text[start:end], shapes):
        return ""
    return _label_lines(text, start, shapes)


def labelled(evidence: Evidence, shapes: Sequence[re.Pattern[str]]) -> str:
    """The sentence with the lines that label it when it is a bare value of the asked shape."""
    labels = _labels_of(evidence.chunk.text, evidence.start, evidence.end, shapes)
    return f"{labels} {evidence.text}" if labels else evidence.text


def score_evidence(
    question: str,
    hits: list[SearchHit],
    index: SearchIndex,
    *,
    shapes: Sequence[re.Pattern[str]] = (),
    cue: re.Pattern[str] | None = None,
    counted: AbstractSet[str] = frozenset(),
    expand: Callable[[str], str] = str,
    named: Callable[[Chunk], str] = lambda chunk: "",
    listing: bool = False,
    subject: AbstractSet[str] = frozenset(),
) -> list[Evidence]:
    """Sentences of the retrieved chunks, best first. Coverage is the share of the question's
    weight (IDF) that a sentence's words match; a word the corpus never uses counts fully
    against it, which is how off-topic questions fall below the threshold. A sentence holding
    every ``shapes`` (what the question asks for: a person, a year…), a number of the
    ``counted`` thing, or the definition asked for scores more, and more again when the line
    (or the lines that label it) writes the ``cue`` of what is asked. ``expand`` adds the full names
    of the aliases a sentence writes ("le RGO" matches "Réseau Grand Ouest"); ``named``
    the names its passage writes, which count for its sentences as its section title does
    (half): a sentence of a passage about the subject asked is about it. With ``listing``
    (the question asks for a list), each list is a candidate too, its heading or lead-in line
    counting as its words, and a list titled by what is asked (the ``counted`` words, or the
    question's words outside the ``subject``'s name) scores more than a single sentence."""
    idf = index.idf()
    unknown = max(idf.values(), default=1.0)
    words = term_variants(question, translate=True)
    defined = _defined(question)
    weights = [max((idf[v] for v in variants if v in idf), default=unknown) for variants in words]
    total = sum(weights) or 1.0
    given = frozenset(re.findall(r"\d+", question))
    asked = set(counted) or {
        form for variants in words if not set(variants) & subject for form in variants
    }
    out = []
    for hit in hits:
        # A list's span carries its title (maybe empty); a sentence's carries None.
        spans: list[tuple[int, int, bool, str | None]] = [
            (start, end, heading, None) for start, end, heading in _sentences(hit.chunk)
        ]
        if listing:
            spans += [
                (start, end, False, label if start else _lead_in(hit.chunk, index) or label)
                for start, end, label in _bulleted(hit.chunk)
            ]
        for start, end, heading, label in spans:
            sentence = hit.chunk.text[start:end]
            tokens = set(tokenize(expand(f"{label or ''} {sentence}")))
            # A value on a line of its own ("02 736 99 99" under an address) is labelled by
            # the lines above it, as its section labels it: they say whose it is.
            above = _labels_of(hit.chunk.text, start, end, shapes) if label is None else ""
            context = set(
                tokenize(f"{hit.chunk.section} {hit.chunk.title} {named(hit.chunk)} {above}")
            )
            matched = sum(
                w if tokens & set(v) else (0.5 * w if context & set(v) else 0.0)
                for v, w in zip(words, weights, strict=True)
            )
            coverage = matched / total
            dense = hit.dense_score or 0.0
            # A sentence holding the kind of thing asked for (an amount, a year…) is the answer.
            # (for "how many", a list's answer is its length, not a number in its items)
            shaped = (
                0.3
                if shapes
                and all(s.search(sentence) for s in shapes)
                and not (counted and label is not None)
                else 0.0
            )
            if shaped and cue is not None and cue.search(f"{above} {sentence}"):
                shaped += CUED  # "Tél. : …" for a telephone number, not "Article number: …"
            if counted and counts(sentence, counted, given):
                shaped += 0.3  # "318 Units" for "how many units"
            if defined and _defines(sentence, defined):
                shaped += 0.3  # "TRIALNET is designed to…" for "What is TRIALNET?"
            titled = False
            # A list ranks above a sentence for a list question (more so when titled by what
            # is asked), but is no more evidence that the documents answer it: its title's
            # words count in its coverage, and this adds to its rank only.
            listed = 0.0
            if listing and (label is not None or (_ENUMERATION.search(sentence) and not counted)):
                # The items asked for, not a sentence about them; more so when the list's
                # title or lead-in says what they are ("Partners in X include: …").
                lead = sentence.partition(":")[0] if label is None else label
                # Items that are all named by what the question asks for ("Réseau Est",
                # "Réseau Ouest" for "which networks…") are titled by it too.
                heads = {line.split()[0] for line in sentence.splitlines() if line.split()}
                if label is not None and len(heads) == 1:
                    lead = f"{lead} {heads.pop()}"
                # … by the words of what is asked, not of whom it is asked ("which sites
                # does Réseau Est have" is not answered by a list of networks).
                titled = bool(set(tokenize(lead)) & asked)
                if label is not None and not titled and not _is_item(sentence):
                    # Lines that open on the same word are a list only for what they name.
                    continue
                # For "how many", a sentence that states the number outranks the length of a
                # list (whose items may be groups: "Les régions …; Les universités …").
                listed = (COUNTED_LIST if counted else LISTED) if titled else UNTITLED_LIST
            score = coverage + shaped + listed + 0.1 / hit.rank + dense * 0.2
            out.append(
                Evidence(
                    hit.chunk,
                    start,
                    end,
                    coverage,
                    shaped,
                    score,
                    dense,
                    heading,
                    label is not None,
                    titled,
                )
            )
    return sorted(out, key=lambda e: -e.score)


def extractive_answer(
    evidence: list[Evidence],
    language: Language,
    prompts: Prompts,
    documents: dict[str, SourceDocument],
    *,
    shapes: Sequence[re.Pattern[str]] = (),
    relevant: Callable[[str], bool] | None = None,
    counting: bool = False,
) -> tuple[str, list[Citation]]:
    """One to three consecutive sentences around the best one, quoted with their source. A
    quote in the other language is led by what answers the question in it (the name, year or
    figure that ``shapes`` find), so the answer itself needs no translation. With
    ``counting`` ("how many … are listed?"), a list is answered by how many items it has."""
    best = evidence[0]
    chosen = [best]
    neighbours = sorted(
        (e for e in evidence if e.chunk.chunk_id == best.chunk.chunk_id and e is not best),
        key=lambda e: abs(e.start - best.start),
    )
    for other in neighbours:
        if other.heading or other.items or (best.items and not other.text.rstrip().endswith(":")):
            continue  # a list is quoted whole, with only the line that introduces it
        adjacent = any(
            abs(other.start - c.end) <= 2 or abs(c.start - other.end) <= 2 for c in chosen
        )
        length = sum(c.end - c.start for c in chosen) + other.end - other.start
        if len(chosen) < 3 and adjacent and other.coverage >= 0.5 * best.coverage and length < 420:
            chosen.append(other)
    chosen.sort(key=lambda e: e.start)
    start, end = chosen[0].start, chosen[-1].end
    quote = re.sub(r"\s+", " ", best.chunk.text[start:end]).strip()
    items: list[str] = []
    source_end = source_offset(best.chunk, end - 1) + 1
    if quote.endswith(":") or best.items:
        # A lead-in ("… a défini 8 réseaux thématiques :"), or a list: the answer is the whole
        # list in the document (a passage may hold only its first items).
        list_start = source_offset(best.chunk, best.start) if best.items else source_end
        items, source_end = _list_after(documents[best.chunk.doc_id].text, list_start)
        if best.items and not items:
            # A list without bullets: its lines, as the passage holds them.
            items = [line.strip() for line in best.text.splitlines() if line.strip()]
            source_end = source_offset(best.chunk, best.end - 1) + 1
        if best.items and items:
            quote = re.sub(r"\s+", " ", best.chunk.text[start : best.start]).strip()
        quote = f"{quote} {'; '.join(items)}".strip() if items else quote
    quote_language = (
        detect_language(quote, best.chunk.language) if len(quote) > 40 else best.chunk.language
    )
    found = _stated(best.text, shapes, relevant)
    if counting and best.items and items:
        found = str(len(items))
    if quote_language == language:
        key, values = "extractive.same_language", {}
        if found and counting:
            key, values = "extractive.same_language_answer", {"answer": found}
    else:
        figure = _FIGURE_VALUE.match(found) if found and FIGURE.fullmatch(found) else None
        if figure:
            found = figure.group()  # what it counts is in the quote's language ("269 projets")
        name = prompts.say(language, f"language.name_{quote_language}")
        key = "extractive.other_language_answer" if found else "extractive.other_language"
        values = {"lang_name": name, "title": best.chunk.title, "answer": (found or "").strip()}
    room = MAX_ANSWER_CHARS - len(prompts.say(language, key, quote="", **values))
    text = prompts.say(language, key, quote=shorten(quote, room), **values)
    citation = _chunk_citation(best.chunk, start, end, best.score, documents)
    if items:
        text_of_document = documents[best.chunk.doc_id].text
        citation.end = source_end
        citation.snippet = text_of_document[citation.start : source_end][:MAX_SNIPPET_CHARS]
    return text, [citation]


_TITLE = re.compile(rf"\b(?:{TITLES})\b\.?\s*")
_NAME = re.compile(r"[A-ZÀ-Þ][a-zà-ÿ]+(?:-[A-ZÀ-Þ][a-zà-ÿ]+)?\s+[A-ZÀ-Þ][\w’'-]+")
# A figure with what it counts ("269 projets", "30%", "cinq projets").
FIGURE = re.compile(
    rf"\d[\d.,\u202f ]*(?:\s*%|\s+[^\W\d_][\w’'-]*)|{NUMBER_WORDS}\s+[^\W\d_][\w’'-]*"
)
_FIGURE_VALUE = re.compile(r"[\d.,\u202f ]*\d\s*%?")


def _stated(
    sentence: str, shapes: Sequence[re.Pattern[str]], relevant: Callable[[str], bool] | None
) -> str | None:
    """What the sentence says that answers the question, when exactly one thing of the asked
    shape (and ``relevant``, if given: "318 Units", not "10 regional institutes") is in it: a
    year, an amount, a figure with what it counts, a person's name."""
    for shape in shapes:
        matches = list(shape.finditer(sentence))
        if relevant is not None and len(matches) > 1:
            matches = [m for m in matches if relevant(m.group())]
        if len(matches) != 1:
            continue
        found = matches[0].group().strip()
        if found[:1].isdigit():
            return found  # a figure, a year, an amount: no name to read on to
        # The name in a match that says more ("Coordonné par Jean-Philippe V…"): read on to
        # its end.
        name = _NAME.search(_TITLE.sub("", sentence[matches[0].start() :]))
        return name.group() if name and name.start() < len(found) else found
    return None


_BULLET = re.compile(r"^\s*(?:[•▪◦●*–-]|l(?=\s{1,3}\S)|\d{1,2}[.)])\s*")


def _list_after(text: str, offset: int, most: int = 20) -> tuple[list[str], int]:
    """The items of the bulleted list that follows ``offset`` (blank lines allowed before
    it), and where the list ends."""
    items: list[str] = []
    end = offset
    position = offset
    for line in text[offset:].splitlines(keepends=True):
        position += len(line)
        if not line.strip():
            if items and len(items) >= 1 and not text[position:].lstrip().startswith(("•", "-")):
                break
            continue
        if not _BULLET.match(line) or len(items) >= most:
            break
        items.append(_BULLET.sub("", line).strip().rstrip(",;."))
        end = position - (len(line) - len(line.rstrip()))
    return items, end


def _chunk_citation(
    chunk: Chunk, start: int, end: int, score: float, documents: dict[str, SourceDocument]
) -> Citation:
    source_start = source_offset(chunk, start)
    source_end = source_offset(chunk, end - 1) + 1
    text = documents[chunk.doc_id].text
    return Citation(
        doc_id=chunk.doc_id,
        title=chunk.title,
        section=chunk.section,
        snippet=text[source_start:source_end][:MAX_SNIPPET_CHARS],
        start=source_start,
        end=source_end,
        score=round(score, 4),
        page=documents[chunk.doc_id].page_at(source_start),
    )


def shorten(text: str, limit: int = MAX_ANSWER_CHARS) -> str:
    """At most ``limit`` characters, cut after a list item or a word; the citations hold the
    rest."""
    if len(text) <= limit:
        return text
    cut = text.rfind("; ", 0, limit - 1)
    if cut < limit // 2:
        cut = text.rfind(" ", 0, limit - 1)
    return text[:cut].rstrip(",;: ") + " …"
