"""Lists asked for and counted, institutions listed for a purpose, people found by their post:
question classes the blind sets revealed, on synthetic documents of our own (FR/EN) and on the
reference corpus, each with the negative that must not be answered."""

from __future__ import annotations

from pathlib import Path

from cancerassist.chat import ChatService
from cancerassist.ingest import guess_title

from .conftest import ask_turns as ask
from .conftest import service_with

NETWORK = (
    "Réseau Loire – présentation\n\n"
    "Le Réseau Loire fédère des équipes de recherche sur le cancer de la région.\n\n"
    "Les plateformes du réseau\n\n"
    "Le réseau met à la disposition des équipes :\n\n"
    "• Imagerie du petit animal\n"
    "• Séquençage à haut débit\n"
    "• Cytométrie en flux\n"
    "• Banque de tissus\n\n"
    "Les sites du réseau\n\n"
    "Le réseau est présent dans plusieurs villes de la vallée.\n\n"
    "Site de Nantes\n"
    "Site d'Angers\n"
    "Site de Tours\n"
    "Site d'Orléans\n"
)


network = service_with("lists", {"reseau-loire.txt": NETWORK})


def test_a_list_is_counted_by_its_items(network: ChatService) -> None:
    response = ask(network, "Combien de plateformes le Réseau Loire met-il à disposition ?")
    assert response.status == "answered"
    assert response.answer.startswith("4 ")
    assert "Cytométrie en flux" in response.answer
    # A count of something the list does not hold is not its length.
    people = ask(network, "Combien d'habitants compte le Réseau Loire ?")
    assert people.status == "no_answer"


def test_lines_that_open_on_the_same_word_are_a_list(network: ChatService) -> None:
    response = ask(network, "Quels sont les sites du Réseau Loire ?")
    for city in ("Nantes", "Angers", "Tours", "Orléans"):
        assert city in response.answer
    assert "Imagerie" not in response.answer


def test_institutions_listed_for_a_purpose_are_counted_and_named(service: ChatService) -> None:
    counted = ask(service, "Combien d'établissements ont une cellule de valorisation listée ?")
    assert "11" in counted.answer
    assert "Institut Pasteur" in counted.answer
    which = ask(
        service, "Quelles institutions figurent dans le tableau des cellules de valorisation ?"
    )
    assert "Gustave Roussy" in which.answer
    # The name of the site that lists them does not stop the listing.
    named = ask(
        service,
        "Combien d'institutions figurent dans le tableau des cellules de valorisation du "
        "Cancéropôle IDF ?",
    )
    assert "11" in named.answer
    # An address asked of a name the records do not have is not the listing; nor is another
    # list that mentions the purpose.
    unknown = ask(service, "which email for patents at institut merieux")
    assert "11" not in unknown.answer
    missions = ask(service, "which of the missions of the networks is about valorisation?")
    assert "Gustave Roussy" not in missions.answer


def test_whoever_holds_a_post_at_the_organisation_named(service: ChatService) -> None:
    president = ask(service, "Qui est le président de l'Institut national du cancer ?")
    assert "Ifrah" in president.answer
    director = ask(service, "Who is INCa's director general?")
    assert "Breton" in director.answer
    assert "Ifrah" not in director.answer
    treasurer = ask(service, "Qui est le trésorier de l'Institut national du cancer ?")
    assert treasurer.status == "no_answer"
    assert "Ifrah" not in treasurer.answer


def test_a_spreadsheet_header_row_is_not_its_title() -> None:
    text = "Année | Financeur | Montant\n2020 | Comité Loire | 990 000 €\n"
    assert guess_title(text, Path("comite-loire-financements.csv")) == "comite loire financements"
    assert guess_title("Rapport 2020\n\nTexte.", Path("r.txt")) == "Rapport 2020"


def test_a_title_opening_on_a_currency_or_wrapped_after_a_linking_word() -> None:
    assert guess_title("# $2 million for young researchers\n\nRelease Date\n", Path("n.md")) == (
        "$2 million for young researchers"
    )
    assert guess_title("Network Update and\nFuture Plans\nJane Roe, PhD\n", Path("s.txt")) == (
        "Network Update and Future Plans"
    )


def test_an_email_asked_of_an_organisation_that_has_none(service: ChatService) -> None:
    asked = ask(service, "Quel est l'e-mail du CNRS pour la valorisation ?")
    assert asked.status == "no_answer"
    assert "dgdr.cnrs.fr" in asked.answer  # the contact the documents do give
    # E-mail mentioned in passing: the question asks for a way to reach them, which is given.
    reach = ask(
        service,
        "There's no email for CNRS in the table, right? How do I reach their tech-transfer office?",
    )
    assert reach.status == "answered"
    assert "dgdr.cnrs.fr" in reach.answer
