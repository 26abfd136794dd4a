"""Questions answered from the fact store: exact values, aggregates, and honest "no answer"."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cancerassist.analysis import detect_operation
from cancerassist.answer import format_amount
from cancerassist.index import SearchIndex
from cancerassist.lookup import FactAnswer, Gazetteer, Intent, lookup
from cancerassist.models import (
    Contact,
    FactStore,
    Funding,
    PartnerRole,
    Person,
    Project,
    Provenance,
)


def ask(search_index: SearchIndex, question: str, intent: Intent = "funding") -> FactAnswer:
    """The fact store's answer to ``question`` read as an ``intent`` question (routing is
    tested in test_analysis and test_chat)."""
    operation = detect_operation(question)
    return lookup(question, search_index.facts, intent, operation.operation if operation else None)


def test_region_grant_for_a_year(search_index: SearchIndex) -> None:
    answer = ask(search_index, "Combien la Région a-t-elle accordé en 2010 ?")
    assert answer.status == "answered"
    assert answer.value == Decimal("4132000")
    (fact,) = answer.facts
    assert isinstance(fact, Funding)
    assert fact.provenance.quote == "2010 4.132 millions d’euros"


def test_lowest_grant_over_a_range(search_index: SearchIndex) -> None:
    answer = ask(search_index, "lowest Region grant between 2007 and 2016")
    assert (answer.aggregate, answer.year, answer.value) == ("min", 2015, Decimal("1535000"))


def test_total_over_a_range(search_index: SearchIndex) -> None:
    answer = ask(search_index, "total 2007–2009")
    assert (answer.aggregate, answer.value, answer.years) == (
        "total",
        Decimal("13950000"),
        (2007, 2009),
    )
    assert len(answer.facts) == 3


def test_highest_and_trend(search_index: SearchIndex) -> None:
    assert ask(search_index, "Highest Region funding").year == 2009
    trend = ask(search_index, "How did the Region's funding evolve?")
    assert trend.aggregate == "trend"
    assert [f.year for f in trend.facts if isinstance(f, Funding)] == list(range(2007, 2017))


@pytest.mark.parametrize(
    "question",
    [
        "Région en 2021",
        "How much did the Île-de-France Region grant in 2019?",
        "Financement de la Région en 2006",
    ],
)
def test_absent_year_is_no_answer_not_the_nearest(search_index: SearchIndex, question: str) -> None:
    answer = ask(search_index, question)
    assert answer.status == "no_answer"
    assert answer.reason == "year_not_found"
    assert answer.facts == []


def test_total_over_years_partly_missing_is_refused(search_index: SearchIndex) -> None:
    answer = ask(search_index, "Total Region funding 2005-2009")
    assert (answer.status, answer.reason) == ("no_answer", "range_incomplete")


@pytest.mark.parametrize(
    ("question", "email"),
    [
        ("Qui contacter pour la valorisation à l'Institut Curie ?", "techtransfer@curie.fr"),
        ("institut pasteur tech transfer contact", "nicolas.torno@pasteur.fr"),
        ("UPMC valorisation contact", "marie-france.daumas_ladouce@upmc.fr"),
        ("Université Pierre et Marie Curie valorisation", "marie-france.daumas_ladouce@upmc.fr"),
        ("email valorisation Paris Descartes", "Stephanie.Feliot@parisdescartes.fr"),
        ("Contact valorisation à l'Universite Paris Diderot", "lionel.pujol@univ-paris-diderot.fr"),
        ("Who handles technology transfer at Gustave Roussy?", "rechdev@gustaveroussy.fr"),
    ],
)
def test_contacts_match_tolerantly(search_index: SearchIndex, question: str, email: str) -> None:
    answer = ask(search_index, question, "contact")
    assert answer.status == "answered"
    assert [c.email for c in answer.facts if isinstance(c, Contact)] == [email]


@pytest.mark.parametrize(
    "question",
    [
        "Paris-Saclay tech transfer email",
        "Contact valorisation Sorbonne Université",
        "email of Inria",
    ],
)
def test_unknown_institution_gets_no_contact(search_index: SearchIndex, question: str) -> None:
    answer = ask(search_index, question, "contact")
    assert (answer.status, answer.reason) == ("no_answer", "unknown_entity")
    assert "Institut Curie" in answer.suggestions


def test_inca_phone_and_address(search_index: SearchIndex) -> None:
    (contact,) = ask(search_index, "What is INCa's phone number?", "contact").facts
    assert isinstance(contact, Contact)
    assert contact.phone == "+33141105000"


def test_project_questions(search_index: SearchIndex) -> None:
    coordinator = ask(search_index, "Who coordinates BONENET?", "coordinator")
    roles = [f for f in coordinator.facts if isinstance(f, PartnerRole)]
    assert [r.organisation for r in roles] == ["Université Claude Bernard Lyon 1"]
    assert [p.name for p in coordinator.facts if isinstance(p, Person)] == ["Philippe CLEZARDIN"]
    partners = ask(search_index, "Quels sont les partenaires du projet BONE-NET ?", "partners")
    assert len(partners.facts) == 9
    budget = ask(search_index, "What was BONE-NET's total budget?")
    assert budget.value == Decimal("3263864")
    sheet = ask(search_index, "Quelle est la durée de BONE-NET ?", "project").facts
    (project,) = [f for f in sheet if isinstance(f, Project)]
    assert "Durée : 2011-2015" in project.provenance.quote
    # The project's answer carries its amounts too: "what is its budget?" is asked of it.
    assert Decimal("3263864") in {f.amount for f in sheet if isinstance(f, Funding)}


def test_roles_people_biobanks(search_index: SearchIndex) -> None:
    (lip,) = ask(search_index, "What is the role of LIP?", "role").facts
    assert isinstance(lip, PartnerRole)
    assert lip.role == "third_party"
    assert ask(search_index, "Quel est le rôle de l'équipe UMRS 945 ?", "role").entity == "UMRS 945"
    assert (
        ask(search_index, "Who is Marc Billaud?", "person")
        .facts[0]
        .provenance.quote.startswith("• Marc Billaud")
    )
    bank = ask(
        search_index, "Qui est responsable de la tumorothèque de l'hôpital Foch ?", "biobank"
    )
    assert bank.entity == "TUMOROTHEQUE HOPITAL FOCH"
    axis = ask(search_index, "Qui coordonne l'axe 2 ?", "coordinator")
    assert {p.name for p in axis.facts if isinstance(p, Person)} == {
        "Jessica Zucman-Rossi",
        "Michaela Fontenay",
    }


def test_unknown_person_and_other_questions(search_index: SearchIndex) -> None:
    assert ask(search_index, "Who is the CEO of Sanofi?", "person").status == "no_answer"
    # A route tried on a question of another kind answers nothing rather than something.
    for intent in ("contact", "funding", "coordinator", "partners", "project", "biobank"):
        answer = ask(search_index, "What are the missions of the Cancéropôles?", intent)
        assert answer.status == "no_answer", intent


def test_gazetteer_names_written_whole_together_or_by_alias() -> None:
    gazetteer = Gazetteer(
        [
            ("Réseau Onco Atlantique", ["ROA"]),
            ("Réseau Onco Sud-Atlantique", []),
            ("Institut national du cancer", ["INCa"]),
            ("Centre Est", []),
        ]
    )
    # Written whole beats written in part; an alias names its entity.
    assert gazetteer.match("qui preside le reseau onco atlantique") == ["Réseau Onco Atlantique"]
    assert gazetteer.match("Who chairs the ROA?") == ["Réseau Onco Atlantique"]
    # The words of a name are written together, and a name glued together is not a typo of
    # other words ("centreest" is not "centres en").
    assert gazetteer.match("When was the national Quality of Life and Cancer platform born?") == []
    # … a word written twice does not widen them.
    assert gazetteer.match("budget de l'Institut national du cancer pour le cancer du sein") == [
        "Institut national du cancer"
    ]
    assert gazetteer.match("combien de centres en france ?") == []
    # A name with a common word in it is written as a phrase.
    assert gazetteer.match("Le Centre GSO est-il un GIP ?") == []
    assert gazetteer.match("qui dirige le centre est") == ["Centre Est"]
    # A passage that writes the alias names the entity; its full name is added for checks.
    assert gazetteer.named_in("Le ROA a été créé en 2010.") == {"Réseau Onco Atlantique"}
    assert gazetteer.expand("Le ROA a été créé.").endswith("Réseau Onco Atlantique")
    assert gazetteer.aliases("Réseau Onco Atlantique") == ["ROA"]


def test_a_name_by_its_possessive_or_by_the_initials_of_its_compound() -> None:
    gazetteer = Gazetteer(
        [("Région Nord-Est-Atlantique", []), ("Institut Sud", []), ("Agence Ouest", [])]
    )
    assert gazetteer.match("How did the Region's funding evolve?") == ["Région Nord-Est-Atlantique"]
    assert gazetteer.match("financement région NEA 2015") == ["Région Nord-Est-Atlantique"]
    # A common word in lower case names nothing.
    assert gazetteer.match("which regions of France take part?") == []
    # Its first word opening another name, through a linking word, names that other one.
    assert gazetteer.match("Who directs the Agence of Ocean Studies?") == []
    assert gazetteer.match("Qui dirige l'Agence de Recherche Marine ?") == []
    assert gazetteer.match("Who directs the Agence?") == ["Agence Ouest"]


def test_a_long_name_written_in_part_keeps_a_word_of_its_own() -> None:
    gazetteer = Gazetteer(
        [
            ("Institut national du cancer", ["National Cancer Institute"]),
            ("Hôpital Européen Georges Pompidou", []),
            ("Fondation Cancer Avenir", []),
            ("cervical-cancer project", []),
        ]
    )
    assert gazetteer.match("Who runs the biobank of the Georges Pompidou hospital?") == [
        "Hôpital Européen Georges Pompidou"
    ]
    # "Cancer … Institute" shares two words with the National Cancer Institute, none of its own.
    assert (
        gazetteer.match("Who leads the project at the Cancer Research Cambridge Institute?") == []
    )
    # "project" and "cancer" are in many names: the cervical-cancer project is not named.
    assert gazetteer.match("Qui pilote le projet du Cancer Research UK ?") == []
    # Two of its three words, inside a name with capitalised words of its own, name another.
    alone = Gazetteer([("Institut national du cancer", ["National Cancer Institute"])])
    assert alone.match("How can I reach the Organisation of Baltic Cancer Institutes?") == []
    assert alone.match("Who heads the national cancer institutes' board?") == [
        "Institut national du cancer"
    ]


def test_a_typed_name_with_two_letters_swapped() -> None:
    gazetteer = Gazetteer([("Région Centre-Loire", []), ("Réseau Nord", [])])
    assert gazetteer.match("regoin centre-loire funding 2012") == ["Région Centre-Loire"]
    # Words under five letters must be written exactly: "nrod" is not the Nord.
    assert gazetteer.match("resaeu nrod") == []
    assert gazetteer.match("resaeu nord") == ["Réseau Nord"]


def _funding(year: int, amount: str, purpose: str, funder: str = "Comité Loire") -> Funding:
    return Funding(
        funder=funder,
        recipient=None,
        amount=Decimal(amount),
        amount_text=amount,
        year=year,
        purpose=purpose,
        provenance=Provenance(doc_id="t", start=0, end=1, quote="x"),
    )


def test_a_series_by_purpose_where_a_funder_gives_several_amounts_a_year() -> None:
    store = FactStore(
        facts=[
            _funding(2018, "1500000", "recherche (total)"),
            _funding(2018, "900000", "niveau régional"),
            _funding(2018, "600000", "niveau national"),
            _funding(2020, "1560000", "recherche (total)"),
            _funding(2020, "990000", "niveau régional"),
            _funding(2020, "570000", "niveau national"),
        ]
    )

    def answer(question: str) -> FactAnswer:
        operation = detect_operation(question)
        return lookup(question, store, "funding", operation.operation if operation else None)

    # The purpose the question names makes the series; a difference needs only its two years.
    national = answer(
        "De combien le Comité Loire a-t-il augmenté le niveau national entre 2018 et 2020 ?"
    )
    assert national.status == "answered"
    assert [f.amount for f in national.facts if isinstance(f, Funding)] == [
        Decimal("600000"),
        Decimal("570000"),
    ]
    # Named by none of its purposes: the whole of each year, not one of its parts.
    whole = answer("How much more did the Comité Loire give in 2020 than in 2018?")
    assert [f.amount for f in whole.facts if isinstance(f, Funding)] == [
        Decimal("1500000"),
        Decimal("1560000"),
    ]
    # Two purposes named: both, added up.
    both = answer(
        "En 2020, combien le Comité Loire a-t-il versé au niveau régional et national au total ?"
    )
    assert both.value == Decimal("1560000")
    # A total over years one of which has no record is still refused.
    gap = answer("Quel est le total du Comité Loire de 2018 à 2020 ?")
    assert gap.status == "no_answer"
    assert gap.reason == "range_incomplete"


def test_a_name_in_the_other_language_or_by_the_initials_of_its_words() -> None:
    gazetteer = Gazetteer([("Comité de Paris", []), ("RESEAU GSO", []), ("Ligue Nord", [])])
    assert gazetteer.match("What did the Paris committee give in 2022?") == ["Comité de Paris"]
    assert gazetteer.match("Adresse du Réseau Grand Sud-Ouest ?") == ["RESEAU GSO"]
    # Initials are of the names the question writes in capitals, not of any three words.
    assert gazetteer.match("adresse du reseau grand sud ouest") == []


def test_a_first_word_alone_names_less_than_a_distinctive_word() -> None:
    gazetteer = Gazetteer([("RESEAU GSO", []), ("CNRS", []), ("Région Loire", [])])
    assert gazetteer.match("Which e-mail does the Réseau IDF give for the CNRS office?") == ["CNRS"]
    assert gazetteer.match("How did the Region's funding evolve?") == ["Région Loire"]
    # Its first word followed by another name's word names another of the family.
    assert gazetteer.match("Quelle est l'adresse du Réseau IDF ?") == []


def test_the_partners_of_the_kind_the_question_names() -> None:
    def partner(organisation: str) -> PartnerRole:
        quote = f"{organisation} (FR)"
        provenance = Provenance(doc_id="t", start=0, end=len(quote), quote=quote)
        return PartnerRole(
            project="TIDAL", organisation=organisation, role="partner", provenance=provenance
        )

    store = FactStore(
        facts=[
            partner("Université de Brest"),
            partner("University of Cork"),
            partner("Centre hospitalier de Quimper"),
            partner("Marine Labs Ltd"),
        ]
    )

    def names(question: str) -> list[str]:
        operation = detect_operation(question)
        answer = lookup(question, store, "partners", operation.operation if operation else None)
        return [f.organisation for f in answer.facts if isinstance(f, PartnerRole)]

    assert names("Quelles universités sont partenaires de TIDAL ?") == [
        "Université de Brest",
        "University of Cork",
    ]
    assert names("Which hospitals take part in TIDAL?") == ["Centre hospitalier de Quimper"]
    # No kind named: every partner.
    assert len(names("Who are the partners of TIDAL?")) == 4


def test_of_an_organisations_contacts_the_person_named() -> None:
    def card(person: str, email: str) -> Contact:
        provenance = Provenance(doc_id="t", start=0, end=len(email), quote=email)
        return Contact(
            organisation="RÉSEAU LOIRE", person=person, email=email, provenance=provenance
        )

    store = FactStore(
        facts=[
            card("Jeanne Roy", "j-roy@reseauloire.fr"),
            card("Paul Martin", "p-martin@reseauloire.fr"),
        ]
    )
    one = lookup("email jeanne roy reseau loire", store, "contact", None)
    assert [c.email for c in one.facts if isinstance(c, Contact)] == ["j-roy@reseauloire.fr"]
    both = lookup("Quel est le contact du Réseau Loire ?", store, "contact", None)
    assert len(both.facts) == 2


def test_a_person_is_named_by_their_surname_not_by_a_word_like_their_first_name() -> None:
    def person(name: str, role: str, affiliation: str) -> Person:
        quote = f"{name}, {role} du {affiliation}"
        return Person(
            name=name,
            role=role,
            affiliation=affiliation,
            provenance=Provenance(doc_id="t", start=0, end=len(quote), quote=quote),
        )

    store = FactStore(
        facts=[
            person("Clara Lenoir", "Directrice", "Réseau Sud"),
            person("Paul Vernier", "Président", "Directoire"),
        ]
    )
    # "CLARA" is an acronym here: Clara Lenoir is not asked about.
    answer = lookup("Qui est président du Directoire du CLARA ?", store, "person")
    assert [p.name for p in answer.facts if isinstance(p, Person)] == ["Paul Vernier"]
    answer = lookup("Who is Ms Lenoir?", store, "person")
    assert [p.name for p in answer.facts if isinstance(p, Person)] == ["Clara Lenoir"]


def test_amounts_in_two_currencies_are_listed_never_added() -> None:
    def grant(year: int, amount: str, text: str, currency: str) -> Funding:
        return Funding(
            funder="Fonds Orme",
            recipient="Réseau Sud",
            amount=Decimal(amount),
            amount_text=text,
            currency=currency,
            year=year,
            provenance=Provenance(doc_id="t", start=0, end=len(text), quote=text),
        )

    store = FactStore(
        facts=[grant(2020, "500000", "500 000 €", "EUR"), grant(2021, "400000", "£400,000", "GBP")]
    )
    answer = lookup("Total accordé par le Fonds Orme de 2020 à 2021 ?", store, "funding", "total")
    assert answer.status == "answered"
    assert answer.aggregate == "list"
    assert answer.value is None


def test_an_amount_is_written_in_its_own_currency() -> None:
    assert format_amount(Decimal("2500000"), "en", "GBP") == "2.5 million GBP"
    assert format_amount(Decimal("2500000"), "fr", "GBP") == "2,5 millions GBP"
    assert format_amount(Decimal("1500"), "fr", "CHF") == "1\u202f500 CHF"
    assert format_amount(Decimal("2500000"), "fr", "EUR") == "2,5 millions d’euros"
    assert format_amount(Decimal("85000"), "en") == "85,000 euros"


def test_a_name_written_only_inside_another_is_not_a_party_of_its_own() -> None:
    def budget(recipient: str, amount: str, funder: str | None = None) -> Funding:
        text = f"{recipient}: {amount} €"
        return Funding(
            funder=funder,
            recipient=recipient,
            amount=Decimal(amount),
            amount_text=f"{amount} €",
            currency="EUR",
            kind="budget",
            provenance=Provenance(doc_id="t", start=0, end=len(text), quote=text),
        )

    store = FactStore(
        facts=[
            budget("4.ALPHA.eu", "2900000"),
            budget("BetaScreen", "38700000"),
            budget("Gamma Network", "12000000", funder="EU"),
        ]
    )
    answer = lookup(
        "Quelle est la différence entre le budget de BetaScreen et celui de 4.ALPHA.eu ?",
        store,
        "funding",
        "difference",
    )
    # "EU" is written only inside "4.ALPHA.eu": two parties, not three.
    assert answer.aggregate == "compare"
    assert answer.value == Decimal("35800000")


def test_a_word_a_name_does_not_capitalise_does_not_name_it_alone() -> None:
    # With "institut" and "cancer" shared by many names, "national" is the one word left of
    # the first: it does not name it in "the national level".
    names = [
        "Institut national du cancer",
        "Cancer Alliance North",
        "Cancer Alliance South",
        "Cancer Alliance West",
        "Institut Brise",
        "Institut Orme",
    ]
    gazetteer = Gazetteer((n, []) for n in names)
    assert gazetteer.match("And how much of that went to the national level?") == []
    assert gazetteer.match("Who heads the Institut national du cancer?") == [
        "Institut national du cancer"
    ]
