"""Question analysis without the model: names, operations, answer types, follow-up scores."""

from __future__ import annotations

import numpy as np
import pytest

from cancerassist.analysis import (
    CUE_WEIGHT,
    FOLLOW_UP_THRESHOLD,
    Analyser,
    asked_role,
    asked_types,
    continuation_score,
    cue_scores,
    detect_operation,
    follow_up_score,
    holds_role,
    missing_names,
    name_phrases,
    name_words,
    split_question,
)
from cancerassist.answer import FIGURE, counts


@pytest.mark.parametrize(
    ("question", "words"),
    [
        ("Quel est l'email de valorisation de l'Université Paris-Saclay ?", ["paris", "saclay"]),
        ("What is INCa's phone number?", ["inca"]),
        ("Et à l'Université Paris 13 ?", ["paris", "13"]),
        ("Who's the contact at Paris Diderot? Just the name, please.", ["paris", "diderot"]),
        ("What is the legal status of the Cancéropôle Est (CEST)?", ["canceropole", "est"]),
        # Adjectives of countries name no entity; a question's opening word is not a name.
        ("Which Belgian partner takes part in BONE-NET?", ["bone", "net"]),
        ("combien de tumorothèques ?", []),
        ("Paris-Saclay tech transfer email", ["paris", "saclay"]),
        ("Highest Region grant between 2012 and 2016", ["region"]),
    ],
)
def test_name_words(question: str, words: list[str]) -> None:
    assert [w for w in name_words(question) if w != "universite"] == words


def test_name_phrases_keep_the_written_name() -> None:
    assert name_phrases("Parle-moi du Cancéropôle Nord-Ouest.") == ["Cancéropôle Nord-Ouest"]


def test_missing_names_accept_typos_and_acronyms_but_not_other_names() -> None:
    assert missing_names(["gustave", "roussi"], "Gustave Roussy rechdev@gustaveroussy.fr") == []
    # The context may call it by its initials.
    assert missing_names(["canceropole", "grand", "ouest"], "le CGO a défini 8 réseaux") == []
    assert missing_names(["idf"], "Le Cancéropôle Île-de-France et l’Ariis") == []
    # … or the words of the name it lacks by theirs.
    words = ["canceropole", "grand", "sud", "ouest"]
    assert missing_names(words, "CANCEROPOLE GSO - 5 avenue Irène Joliot-Curie") == []
    assert missing_names(words, "CANCEROPOLE GO - 5 avenue Irène Joliot-Curie") == [
        "grand",
        "sud",
        "ouest",
    ]
    assert missing_names(["paris", "saclay"], "Université Paris Diderot") == ["saclay"]
    # A number in a name must be near the sentence, not anywhere in the passage.
    assert missing_names(["paris", "13"], "Université Paris Diderot", near="Paris Diderot") == [
        "13"
    ]


@pytest.mark.parametrize(
    ("question", "operation"),
    [
        ("Quelle est la moyenne annuelle des subventions de la Région ?", "average"),
        ("What was the average grant per year?", "average"),
        ("Quelle est la différence entre 2008 et 2009 ?", "difference"),
        ("By how much did it change between 2012 and 2013?", "difference"),
        ("Quelle a été la plus forte baisse d'une année sur l'autre ?", "decrease"),
        ("What was the biggest year-on-year increase?", "increase"),
        ("Did the funding go up or down between 2014 and 2016?", "trend"),
        ("Quel est le total de ces deux années ?", "total"),
        ("How many partners does the project have?", "count"),
        # Question words a slip away from themselves.
        ("wich regions does the network cover?", "list"),
        ("combein de projets le réseau a-t-il financés ?", "count"),
        # "that" is not "what" mistyped: a list is not asked.
        ("Tell me about the teams that are funded.", None),
        # "among" in a "how many" question does not make it a membership question.
        ("How many networks are listed among those of the programme?", "count"),
        (
            "Combien de millions de plus le réseau a-t-il reçus en 2022 par rapport à 2019 ?",
            "difference",
        ),
        ("Is the University of Nantes a partner?", "membership"),
        ("L'Université de Sheffield fait-elle partie des partenaires ?", "membership"),
        # "somme" is also just "amount": no total without "des", "totale"…
        ("Quelle somme le réseau accorde-t-il à chaque projet ?", None),
        ("Who coordinates the project?", None),
    ],
)
def test_operations(question: str, operation: str | None) -> None:
    found = detect_operation(question)
    assert (found.operation if found else None) == operation


@pytest.mark.parametrize(
    ("question", "types"),
    [
        ("When was INSERM founded?", ["year"]),
        ("Depuis quelle année l'Inserm coordonne-t-il ECRIN ?", ["year"]),
        ("Quel est le montant accordé ?", ["amount"]),
        ("Qui préside le Cancéropôle Grand Ouest ?", ["person"]),
        ("Who was the head of the institute when the convention was signed?", ["year", "person"]),
        ("Who are the partners of BONE-NET?", []),
        ("Quel chercheur de l'unité étudie les macrophages ?", ["person"]),
        ("Et qui y mène les projets sur l'imagerie ?", ["person"]),
        ("Which researcher leads the imaging work?", ["person"]),
        ("Which research teams take part?", []),
        # A way to reach someone is asked in so many words, not by a topic word.
        ("À qui m'adresser pour un brevet à l'Institut Curie ?", ["contact"]),
        ("What is the phone number of the institute?", ["contact"]),
        ("Which of the missions is about valorisation?", []),
        ("Quelle mission concerne le transfert de technologie ?", []),
    ],
)
def test_asked_types(question: str, types: list[str]) -> None:
    assert sorted(t.answer_type for t in asked_types(question)) == sorted(types)


@pytest.mark.parametrize(
    ("text", "own_subject", "follows"),
    [
        ("Et en 2012 ?", False, True),
        ("What was its total budget?", False, True),
        ("Il couvre quelles régions ?", False, True),
        ("What's the average over those years?", False, True),
        # A new question, however short, is not a follow-up: no word count decides it.
        ("What is ECRIN?", True, False),
        ("Quand l'INSERM a-t-il été fondé ?", True, False),
        ("Combien y a-t-il de tumorothèques ?", False, False),
        ("Quel est le rôle de LIP ?", True, False),
    ],
)
def test_follow_up_scores(text: str, own_subject: bool, follows: bool) -> None:
    assert (follow_up_score(text, own_subject) >= FOLLOW_UP_THRESHOLD) is follows


def test_continuation_is_the_same_question_about_something_else() -> None:
    assert continuation_score("And at Institut Pasteur?") >= FOLLOW_UP_THRESHOLD
    assert continuation_score("Et pour l'AP-HP ?") >= FOLLOW_UP_THRESHOLD
    assert continuation_score("What are the missions of the Cancéropôles?") < FOLLOW_UP_THRESHOLD


def test_routes_are_scored_by_the_nearest_example_and_cue_words() -> None:
    """A fake embedder that maps a text to the bag of its letters: the route whose example
    shares most letters wins, and a cue word adds its weight."""

    def embed(text: str) -> np.ndarray:
        vector = np.zeros(27, dtype=np.float32)
        for c in text.lower():
            vector[ord(c) - 97 if "a" <= c <= "z" else 26] += 1
        return vector / np.linalg.norm(vector)

    analyser = Analyser(
        embed, {"contact": ["email address please"], "passage": ["what are the missions"]}
    )
    analysis = analyser.analyse("what are the missions of the network")
    assert analysis.routes[0].route == "passage"
    assert analysis.routes == sorted(analysis.routes, key=lambda r: -r.score)
    # "email" is a contact cue: it adds CUE_WEIGHT to the contact route's similarity.
    question = "what are the missions: email them"
    similarity = float(embed(question) @ embed("email address please"))
    assert analyser.analyse(question).score_of("contact") == pytest.approx(
        similarity + CUE_WEIGHT, abs=1e-3
    )


@pytest.mark.parametrize(
    ("question", "holder", "other"),
    [
        ("Qui est le président du réseau ?", "Loïc Vaillant, Président du CGO", "CEO, Mablink"),
        ("Who chairs the network?", "The network is chaired by Prof. Smith.", "Its CEO, J. Doe"),
        ("Qui dirige le réseau ?", "Georges Delsol, Directeur du CGSO", "CEO, Mablink"),
        ("Qui est à la tête du réseau ?", "Georges Delsol, Directeur du CGSO", "son trésorier"),
        ("Qui en est le directeur d'unité ?", "It is headed by Dr Martin.", "its headquarters"),
        ("Who is the treasurer of the network?", "Anne Roy, treasurer", "Anne Roy, president"),
        ("Who founded the company?", "It was founded in 2010 by A. Roy.", "Les fonds propres"),
        # A possessive before the post; "who leads" is answered by any post that heads.
        (
            "Who is Armor's director general?",
            "Paul Giraud, Directeur général",
            "Anne Roy, trésorière",
        ),
        ("Who leads the platform?", "Dr Vielh, responsable de la plateforme", "its headquarters"),
        ("Qui pilote le projet ?", "Il est coordonné par Anne Roy.", "son trésorier"),
        (
            "Who is responsible for the biobank?",
            "Responsable : Dr Vielh",
            "the biobank's trésorier",
        ),
    ],
)
def test_the_role_a_who_question_names(question: str, holder: str, other: str) -> None:
    role = asked_role(question)
    assert role is not None
    assert holds_role(holder, role)
    assert not holds_role(other, role)


@pytest.mark.parametrize(
    "question",
    ["Who is the person responsible for the biobank?", "Who takes part in the network?"],
)
def test_a_who_question_may_name_no_role(question: str) -> None:
    assert asked_role(question) is None


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        (
            "Who directs the Foo Institute, and what is its budget?",
            ["Who directs the Foo Institute", "and what is its budget?"],
        ),
        (
            "Combien l'institut a-t-il reçu en 2015, et à quoi sert cet argent ?",
            ["Combien l'institut a-t-il reçu en 2015", "et à quoi sert cet argent ?"],
        ),
        (
            "Le laboratoire est rattaché à quelle université, dans quelle ville ?",
            ["Le laboratoire est rattaché à quelle université", "dans quelle ville ?"],
        ),
        # One question: a comma before the question word, "where and when", no question first.
        ("Pour les brevets, qui contacter à l'institut ?", None),
        ("Where and when was the institute founded?", None),
        ("I want to know who handles patents at the institute", None),
        ("Quel est le montant accordé en 2010 et en 2011 ?", None),
    ],
)
def test_a_message_may_ask_two_questions(question: str, parts: list[str] | None) -> None:
    assert split_question(question) == (parts or [question])


@pytest.mark.parametrize(
    ("sentence", "counted", "found"),
    [
        ("Entre 2005 et 2007, cinq projets collaboratifs ont été financés.", {"projet"}, True),
        ("It trains 10 early-stage (ESR) and 4 experienced (ER) researchers.", {"research"}, True),
        ("22,5 M€ obtenus pour 3,8 M€ investis", {"obtenus"}, True),
        # A year counts nothing; a number of other things is not the number asked.
        ("En 2008, le réseau a été créé.", {"reseau"}, False),
        ("Three partners and 12 teams took part in the project.", {"project"}, False),
    ],
)
def test_a_sentence_counts_the_thing_asked(sentence: str, counted: set[str], found: bool) -> None:
    assert counts(sentence, counted) is found
    assert bool(FIGURE.search(sentence)) or not found


def test_which_before_a_plural_asks_for_a_list() -> None:
    listed = detect_operation("Which institutions partner with the network?")
    assert listed is not None
    assert listed.operation == "list"
    assert detect_operation("Who leads it, and at which university?") is None


def test_a_number_the_question_gives_is_no_count() -> None:
    """ "How many partners joined for the 13 grants?": "the 13 grants" is given, not found."""
    sentence = "The 13 grants were announced; 6 partners joined them."
    assert counts(sentence, {"grant"}, given=frozenset({"13"})) is False
    assert counts(sentence, {"partner"}, given=frozenset({"13"})) is True
    assert counts(sentence, {"grant"}) is True


def test_a_yearly_operation_with_a_year_is_a_cue_for_funding() -> None:
    assert "funding" in cue_scores("Combien de plus en 2022 qu'en 2019 ?")
    # Neither a count nor an operation without a year says the question is about funding.
    assert "funding" not in cue_scores("Combien d'équipes le réseau fédère-t-il en 2022 ?")
    assert "funding" not in cue_scores("What is the difference between a SIRIC and a network?")


def test_a_message_of_punctuation_only_is_one_question_never_an_empty_one() -> None:
    # (found by schemathesis: "," gave an empty part, which no message may be)
    assert split_question(",") == [","]
    assert split_question(" , ") == [" , "]
