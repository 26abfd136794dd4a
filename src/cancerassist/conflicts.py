"""Facts that disagree, and values that do not fit their entity.

Two documents may give different values for the same slot of the same entity: a contact's
e-mail, an amount for a year. Neither is dropped: the answer states the value of the most
trusted source (``trust`` in ``metadata.json``: official first, third-party last; then a value
that fits its entity; then the order of the documents) and lists the others with their sources.
An e-mail or web address whose domain shares nothing with the organisation it is given for
(its words, its initials, its other names) is flagged whatever the other sources say: a
document planted in the corpus cannot quietly redirect users (OWASP LLM01).

Example::

    kept, conflicts = settle(answer.facts, index.documents, index.facts.aliases)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from cancerassist.facts import GENERIC_WORDS
from cancerassist.models import (
    Conflict,
    ConflictValue,
    Contact,
    Fact,
    Funding,
    SourceDocument,
)
from cancerassist.text import fold_accents

_TRUST_RANK = {"official": 0, None: 1, "third-party": 2}
# Words too common in domains and names to tie one to the other: an organisation's generic
# words ("institut", "university") name no one.
_COMMON = frozenset(
    "www mail email contact info fr com org net eu www2 the and des les".split()
) | frozenset(fold_accents(w) for w in GENERIC_WORDS)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", fold_accents(text).lower())


def domain_fits(address: str, names: Sequence[str]) -> bool:
    """Whether the domain of an e-mail or web address belongs to one of ``names``: it writes
    one of their words (four letters or more), their initials, or their letters run together
    ("aphp" for "AP-HP", "upmc" for "Université Pierre et Marie Curie")."""
    host = address.rpartition("@")[2] if "@" in address else re.sub(r"^\w+://", "", address)
    labels = [w for w in _words(host.split("/")[0]) if w not in _COMMON]
    joined = "".join(labels)
    for name in names:
        words = _words(name)
        initials = "".join(w[0] for w in words if len(w) > 2 or w.isupper())
        capitals = "".join(w[0] for w in re.findall(r"[A-ZÀ-Þ][\w’'-]*", name)).lower()
        forms = {w for w in words if len(w) >= 4 and w not in _COMMON}
        forms |= {"".join(words), initials, capitals} - {""}
        if any(f in joined for f in forms if len(f) >= 3) or any(
            label in forms for label in labels
        ):
            return True
    return False


def _value(fact: Fact) -> tuple[str, str] | None:
    """The slot a fact fills and its value, for the kinds of fact documents may disagree on."""
    if isinstance(fact, Contact):
        if fact.email:
            return "email", fact.email.lower()
        if fact.url:
            return "url", fact.url.lower().rstrip("/")
        if fact.phone:
            return "phone", fact.phone
    if isinstance(fact, Funding) and fact.year is not None:
        return "amount", str(fact.amount_eur)
    return None


def _key(fact: Fact) -> tuple[str, ...] | None:
    if isinstance(fact, Contact):
        return ("contact", " ".join(_words(fact.organisation)), fact.purpose or "")
    if isinstance(fact, Funding) and fact.year is not None:
        return ("funding", fact.funder or "", fact.recipient or "", str(fact.year), fact.kind)
    return None


def _entity(fact: Fact) -> str:
    if isinstance(fact, Contact):
        return fact.organisation
    assert isinstance(fact, Funding)
    return f"{fact.funder or '?'} → {fact.recipient or '?'} ({fact.year})"


def _misfits(fact: Fact, aliases: Mapping[str, list[str]]) -> bool:
    if not isinstance(fact, Contact):
        return False
    address = fact.email or fact.url
    names = [fact.organisation, *aliases.get(fact.organisation, [])]
    return bool(address) and not domain_fits(address or "", names)


def settle(
    facts: Sequence[Fact],
    documents: Mapping[str, SourceDocument],
    aliases: Mapping[str, list[str]],
) -> tuple[list[Fact], list[Conflict]]:
    """The facts an answer states (one value per slot of an entity) and the conflicts: the
    values other documents give for the same slot, and values whose domain does not fit."""
    order = {doc_id: i for i, doc_id in enumerate(documents)}

    def rank(fact: Fact) -> tuple[int, bool, int]:
        document = documents[fact.provenance.doc_id]
        return (_TRUST_RANK[document.trust], _misfits(fact, aliases), order[document.doc_id])

    groups: dict[tuple[str, ...], list[Fact]] = {}
    for fact in facts:
        key = _key(fact)
        if key is not None:
            groups.setdefault(key, []).append(fact)
    dropped: set[int] = set()
    conflicts: list[Conflict] = []
    for members in groups.values():
        members.sort(key=rank)
        values = {_value(f) for f in members} - {None}
        sources = {f.provenance.doc_id for f in members}
        best = members[0]
        # The same value from several documents is stated once, from the most trusted.
        dropped |= {id(f) for f in members[1:] if _value(f) == _value(best) and len(sources) > 1}
        if len(values) > 1 and len(sources) > 1:
            kept_value = _value(best)
            dropped |= {id(f) for f in members if _value(f) != kept_value}
            conflicts.append(_conflict("sources_disagree", best, members, documents, aliases))
        elif _misfits(best, aliases):
            conflicts.append(_conflict("domain_mismatch", best, [best], documents, aliases))
    return [f for f in facts if id(f) not in dropped], conflicts


def _conflict(
    kind: str,
    best: Fact,
    members: list[Fact],
    documents: Mapping[str, SourceDocument],
    aliases: Mapping[str, list[str]],
) -> Conflict:
    values: list[ConflictValue] = []
    seen: set[tuple[str, str]] = set()
    slot = "email"
    for fact in members:
        found = _value(fact)
        if found is None or (found[1], fact.provenance.doc_id) in seen:
            continue
        seen.add((found[1], fact.provenance.doc_id))
        slot = found[0]
        document = documents[fact.provenance.doc_id]
        values.append(
            ConflictValue(
                value=found[1],
                doc_id=document.doc_id,
                title=document.title,
                start=fact.provenance.start,
                end=fact.provenance.end,
                trust=document.trust,
                domain_mismatch=_misfits(fact, aliases),
            )
        )
    return Conflict.model_validate(
        {"kind": kind, "entity": _entity(best), "slot": slot, "values": values}
    )
