"""How well the extractors read documents: the facts of a build against a hand-checked list.

Each expected fact (``eval/unseen/facts.jsonl``: document, type, fields, evidence) is found when
the build holds a fact of the same kind from the same document that agrees with it: the same
e-mail, amount or role, and names that match allowing for how they are written (rapidfuzz).
Precision is over the build's facts of those kinds from those documents; kinds the list does not
cover (key figures, biobanks) are left out of it.

Example::

    report = score_facts(load_expected(Path("eval/unseen/facts.jsonl")), store)
    report.by_type["funding"].recall
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from rapidfuzz import fuzz

from cancerassist.amounts import find_amounts
from cancerassist.models import Contact, Fact, FactStore, Funding, PartnerRole, Person, Project
from cancerassist.text import fold_accents

FactType = Literal["contact", "funding", "person", "partner", "project"]
# Names written another way still match: words nearly the same (rapidfuzz token set ratio).
NAME_MATCH = 90


class ExpectedFact(BaseModel):
    doc_id: str
    type: FactType
    fields: dict[str, Any]
    evidence: str


class Score(BaseModel):
    expected: int
    extracted: int
    found: int  # expected facts the build holds
    correct: int  # the build's facts that match an expected one

    @property
    def precision(self) -> float:
        return round(self.correct / self.extracted, 3) if self.extracted else 0.0

    @property
    def recall(self) -> float:
        return round(self.found / self.expected, 3) if self.expected else 0.0


class FactReport(BaseModel):
    by_type: dict[str, Score]
    overall: Score
    missed: list[ExpectedFact]
    spurious: list[dict[str, Any]]


def load_expected(path: Path) -> list[ExpectedFact]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ExpectedFact.model_validate_json(line) for line in lines if line.strip()]


def _same_name(a: str | None, b: str | None) -> bool:
    """The same name written another way: nearly the same words, or one written inside the
    other when it is long enough to name something ("Institut X (France)" for "Institut X";
    not "UCL" inside "Nucleus", nor "Université de Lyon" for "Université de Lille")."""
    if not a or not b:
        return False
    left, right = fold_accents(a).lower(), fold_accents(b).lower()
    shorter = min(len(left), len(right))
    return fuzz.token_set_ratio(left, right) >= NAME_MATCH or (
        shorter >= 6 and fuzz.partial_ratio(left, right) >= 95
    )


def _amount(text: str | None) -> Decimal | None:
    found = find_amounts(text or "")
    return found[0].value if found else None


def _funding(expected: ExpectedFact, fact: Fact) -> bool:
    if not isinstance(fact, Funding):
        return False
    fields = expected.fields
    year = str(fields.get("year") or "")
    return (
        _amount(fields.get("amount")) == fact.amount
        and (not year or fact.year is None or year == str(fact.year))
        and (
            _same_name(fields.get("funder"), fact.funder)
            or _same_name(fields.get("recipient"), fact.recipient)
        )
    )


def _contact(expected: ExpectedFact, fact: Fact) -> bool:
    if not isinstance(fact, Contact):
        return False
    email, phone = expected.fields.get("email"), expected.fields.get("phone")
    digits = re.sub(r"\D", "", phone or "")
    return bool(
        (email and fact.email and email.lower() == fact.email.lower())
        or (digits and digits[-9:] in re.sub(r"\D", "", fact.phone_text or fact.phone or ""))
    ) and _same_name(expected.fields.get("organisation"), fact.organisation)


def _person(expected: ExpectedFact, fact: Fact) -> bool:
    return isinstance(fact, Person) and _same_name(expected.fields.get("name"), fact.name)


def _partner(expected: ExpectedFact, fact: Fact) -> bool:
    return (
        isinstance(fact, PartnerRole)
        and fact.role == expected.fields.get("role", fact.role)
        and _same_name(expected.fields.get("organisation"), fact.organisation)
    )


def _project(expected: ExpectedFact, fact: Fact) -> bool:
    return isinstance(fact, Project) and _same_name(expected.fields.get("name"), fact.name)


_MATCHERS: dict[FactType, Callable[[ExpectedFact, Fact], bool]] = {
    "contact": _contact,
    "funding": _funding,
    "person": _person,
    "partner": _partner,
    "project": _project,
}
_KINDS: dict[FactType, type] = {
    "contact": Contact,
    "funding": Funding,
    "person": Person,
    "partner": PartnerRole,
    "project": Project,
}


def score_facts(expected: list[ExpectedFact], store: FactStore) -> FactReport:
    """Precision and recall of the build's facts, per type, on the documents of ``expected``."""
    documents = {e.doc_id for e in expected}
    by_type: dict[str, Score] = {}
    missed: list[ExpectedFact] = []
    spurious: list[dict[str, Any]] = []
    for kind, matches in _MATCHERS.items():
        wanted = [e for e in expected if e.type == kind]
        extracted = [
            f
            for f in store.facts
            if isinstance(f, _KINDS[kind]) and f.provenance.doc_id in documents
        ]
        # One extracted fact answers one expected fact: a duplicate counts against precision.
        found: list[ExpectedFact] = []
        correct: list[Fact] = []
        for expected_fact in wanted:
            match = next(
                (
                    f
                    for f in extracted
                    if not any(f is c for c in correct) and matches(expected_fact, f)
                ),
                None,
            )
            if match is not None:
                found.append(expected_fact)
                correct.append(match)
        missed += [e for e in wanted if e not in found]
        spurious += [
            f.model_dump(mode="json", exclude={"provenance"}) | {"doc_id": f.provenance.doc_id}
            for f in extracted
            if not any(f is c for c in correct)
        ]
        by_type[kind] = Score(
            expected=len(wanted), extracted=len(extracted), found=len(found), correct=len(correct)
        )
    overall = Score(
        expected=sum(s.expected for s in by_type.values()),
        extracted=sum(s.extracted for s in by_type.values()),
        found=sum(s.found for s in by_type.values()),
        correct=sum(s.correct for s in by_type.values()),
    )
    return FactReport(by_type=by_type, overall=overall, missed=missed, spurious=spurious)


def write_fact_report(report: FactReport, out: Path, command: str) -> Path:
    """``facts.md`` (the table, what was missed, what was spurious) and ``facts.json``."""
    out.mkdir(parents=True, exist_ok=True)
    rows = [
        f"| {kind} | {s.expected} | {s.extracted} | {s.precision} | {s.recall} |"
        for kind, s in [*report.by_type.items(), ("all", report.overall)]
    ]
    lines = [
        "# Facts extracted against the hand-checked list",
        "",
        f"Command: `{command}`",
        "",
        "| type | expected | extracted | precision | recall |",
        "|---|---|---|---|---|",
        *rows,
        "",
        "## Missed",
        "",
        *[
            f"- {e.doc_id} ({e.type}): {json.dumps(e.fields, ensure_ascii=False)}"
            for e in report.missed
        ],
        "",
        "## Extracted but not in the list",
        "",
        *[f"- {json.dumps(s, ensure_ascii=False)}" for s in report.spurious],
        "",
    ]
    (out / "facts.md").write_text("\n".join(lines), encoding="utf-8")
    (out / "facts.json").write_text(report.model_dump_json(indent=1), encoding="utf-8")
    return out / "facts.md"
