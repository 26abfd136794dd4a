"""The fact scorer: one extracted fact answers one expected fact, and names match only when
they are the same name written another way."""

from __future__ import annotations

from decimal import Decimal

from cancerassist.factcheck import ExpectedFact, score_facts
from cancerassist.models import Contact, FactStore, Funding, Provenance


def _source() -> Provenance:
    return Provenance(doc_id="report", start=0, end=4, quote="text")


def _grant(recipient: str) -> Funding:
    return Funding(
        funder="Fondation Orion",
        recipient=recipient,
        amount=Decimal(150000),
        amount_text="150 000 €",
        year=2021,
        provenance=_source(),
    )


EXPECTED = [
    ExpectedFact(
        doc_id="report",
        type="funding",
        fields={
            "funder": "Fondation Orion",
            "recipient": "Université de Lille",
            "amount": "150 000 €",
            "year": "2021",
        },
        evidence="2021 | Fondation Orion | Université de Lille | 150 000 €",
    ),
    ExpectedFact(
        doc_id="report",
        type="contact",
        fields={"organisation": "UCL", "email": "office@ucl.example"},
        evidence="UCL | office@ucl.example",
    ),
]


def test_a_duplicate_counts_against_precision() -> None:
    store = FactStore(facts=[_grant("Université de Lille"), _grant("Université de Lille")])
    funding = score_facts(EXPECTED, store).by_type["funding"]
    assert (funding.found, funding.correct, funding.extracted) == (1, 1, 2)
    assert funding.precision == 0.5


def test_names_match_only_when_they_are_the_same_name() -> None:
    # The funder is right, the amount too: the record is found through its funder.
    assert (
        score_facts(EXPECTED, FactStore(facts=[_grant("Université de Lyon")]))
        .by_type["funding"]
        .found
        == 1
    )
    other_funder = _grant("Université de Lyon").model_copy(update={"funder": "Fondation Vega"})
    # Neither its funder nor its recipient is the one listed: Lyon is not Lille.
    assert score_facts(EXPECTED, FactStore(facts=[other_funder])).by_type["funding"].found == 0
    nucleus = Contact(
        organisation="Nucleus Biotech Ltd", email="office@ucl.example", provenance=_source()
    )
    # "UCL" is inside "Nucleus" but is not its name.
    assert score_facts(EXPECTED, FactStore(facts=[nucleus])).by_type["contact"].found == 0
    ucl = nucleus.model_copy(update={"organisation": "UCL (London)"})
    assert score_facts(EXPECTED, FactStore(facts=[ucl])).by_type["contact"].found == 1
