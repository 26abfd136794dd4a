"""Facts that disagree, and values that do not fit their entity.

Two documents may give different values for the same slot of the same entity: a contact's
e-mail, an amount for a year. Neither is dropped: the answer states the value of the most
trusted source (``trust`` in ``metadata.json``: official first, third-party last; then a value
that fits its entity; then the order of the documents) and lists the others with their sources.
An e-mail or web address whose registrable domain is not the organisation's (its words, its
initials, the other names the corpus profile gives it: never acronyms a document defines, which
a planted document could define itself) is flagged whatever the other sources say: a document
planted in the corpus cannot quietly redirect users (OWASP LLM01).

Example::

    kept, conflicts = settle(answer.facts, index.documents, index.profile.aliases)
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
# Second-level labels under which organisations register ("ox.ac.uk", "nhs.co.uk").
_SECOND_LEVEL = frozenset({"ac", "co", "gov", "gouv", "org", "net", "edu", "nhs"})
# Words too common in domains and names to tie one to the other: an organisation's generic
# words ("institut", "university") name no one.
_COMMON = frozenset(
    "www mail email contact info fr com org net eu www2 the and des les".split()
) | frozenset(fold_accents(w) for w in GENERIC_WORDS)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", fold_accents(text).lower())


def _registrable(address: str) -> str:
    """The label an organisation registers: "aphp" in "x@sls.aphp.fr", "attacker" in
    "https://lumiere.attacker.io" (a subdomain names nothing)."""
    host = address.rpartition("@")[2] if "@" in address else re.sub(r"^\w+://", "", address)
    labels = [label for label in host.split("/")[0].lower().split(".") if label]
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        labels = labels[:-1]  # "ac.uk", "co.uk"
    return fold_accents(labels[-2]) if len(labels) >= 2 else ""


def domain_fits(address: str, names: Sequence[str]) -> bool:
    """Whether the registrable domain of an e-mail or web address belongs to one of
    ``names``: it is one of their distinctive words, their letters or initials run together
    ("hcn" for "HC-N", "upjm" for "Université Paul et Jeanne Martin"), consecutive words of
    theirs run together ("jeanmartin"), or a hyphenated label one of whose parts is a
    distinctive word ("univ-ville-martin"). Never a part of a word ("oblumiere")."""
    label = _registrable(address)
    if not label:
        return False
    parts = [p for p in re.split(r"[-_]", label) if p]
    for name in names:
        words = _words(name)
        distinctive = {w for w in words if len(w) >= 4 and w not in _COMMON}
        initials = "".join(w[0] for w in words if len(w) > 2 or w.isupper())
        capitals = "".join(w[0] for w in re.findall(r"[A-ZÀ-Þ][\w’'-]*", name)).lower()
        runs = {
            "".join(words[i:j]) for i in range(len(words)) for j in range(i + 2, len(words) + 1)
        }
        whole = {"".join(words), initials, capitals, *distinctive, *runs} - {""}
        if label.replace("-", "") in whole or any(p in distinctive for p in parts):
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
        return "amount", str(fact.amount)
    return None


def _key(fact: Fact) -> tuple[str, ...] | None:
    if isinstance(fact, Contact):
        slot = _value(fact)
        return (
            "contact",
            " ".join(_words(fact.organisation)),
            fact.purpose or "",
            slot[0] if slot else "",
        )
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
            # Values as trusted as the best and as fitting (document order apart) are stated
            # too: nothing says which is right.
            tied = {_value(f) for f in members if rank(f)[:2] == rank(best)[:2]}
            dropped |= {id(f) for f in members if _value(f) not in tied}
            conflicts.append(_conflict("sources_disagree", best, members, documents, aliases))
        else:
            misfits = [f for f in members if _misfits(f, aliases)]
            if misfits:
                conflicts.append(_conflict("domain_mismatch", best, misfits, documents, aliases))
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
