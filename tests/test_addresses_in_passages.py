"""Telephone numbers, faxes and e-mail addresses that documents nobody here wrote give outside
any contact record: on a line of their own under an address, in North American form, in a
press release in the other language. Each with the negative that must not be answered."""

from __future__ import annotations

import pytest

from cancerassist.amounts import MONEY
from cancerassist.analysis import detect_operation
from cancerassist.chat import ChatService

from .conftest import ask_turns as ask
from .conftest import service_with

# A cover page: the telephone number alone on its line, labelled by the address above it.
COVER = (
    "Dr. Ilse Marwick\n"
    "Knowledge Manager\n"
    "Fondation Verhaegen\n"
    "Rue des Tanneurs 12\n"
    "1000 Bruxelles\n"
    "02 555 41 27\n"
    "www.verhaegen.example\n"
    "2014\n"
    "SOUTIEN À LA RECHERCHE\n\n"
    "La Fondation Verhaegen consacre chaque année ses dons à la recherche en oncologie.\n"
)
# An annual report's address block, North American numbers, a fax under the telephone.
REPORT = (
    "Annual report 2005 of the Kestrel Cancer Institute\n\n"
    "Kestrel Cancer Institute\n"
    "800 Lakeshore Road, suite 12\n"
    "Halifax (Nova Scotia) B3H 1A1\n"
    "Tel.: (902) 555-0143\n"
    "Fax: (902) 555-0199\n\n"
    "The institute funds research on childhood cancers across the Atlantic provinces.\n"
)
# A French press release an English question asks about; its own press contact beside an
# agency's.
PRESS = (
    "Communiqué de presse\n\n"
    "Les 9e Journées Jeunes Chercheurs de la Fondation ORLA ont réuni 80 doctorants à Lille.\n\n"
    "CONTACTS PRESSE\n"
    "Fondation ORLA pour la recherche 03 20 55 17 40 presse@orla.example\n"
    "Agence Quintal 06 70 12 88 31 c.roux@quintal.example\n"
)

# An imprint: another kind of number above the telephone, the report's year in its title only.
IMPRINT = (
    "Alpine Cancer Research 2021\n"
    "A publication of the Alpine Cancer League on its funded projects\n\n"
    "Imprint\n\n"
    "Publisher: Alpine Cancer League\n"
    "Bergweg 40, 3001 Bern\n"
    "Article number: 04 1034 02 4121\n"
    "Tel. +41 (0)31 555 91 16\n"
)

service = service_with(
    "addresses",
    {
        "verhaegen-2014.txt": COVER,
        "kestrel-2005.txt": REPORT,
        "orla-presse.txt": PRESS,
        "alpine-research-2021.txt": IMPRINT,
    },
)


def test_a_number_on_its_own_line_is_labelled_by_the_address_above_it(
    service: ChatService,
) -> None:
    response = ask(service, "Quel est le numéro de téléphone de la Fondation Verhaegen ?")
    assert response.status == "answered"
    assert "02 555 41 27" in response.answer


def test_north_american_numbers_and_the_fax_asked_for(service: ChatService) -> None:
    phone = ask(service, "phone number of the Kestrel Cancer Institute in Halifax?")
    assert "555-0143" in phone.answer
    assert "555-0199" not in phone.answer
    fax = ask(service, "Où se trouve le Kestrel Cancer Institute ?", "Et son numéro de fax ?")
    assert "555-0199" in fax.answer
    assert "555-0143" not in fax.answer


def test_the_number_labelled_as_asked_in_a_report_named_by_its_year(
    service: ChatService,
) -> None:
    response = ask(
        service,
        "What's the phone number of the Alpine Cancer League in the imprint of Alpine Cancer "
        "Research 2021?",
    )
    assert "555 91 16" in response.answer
    assert "1034" not in response.answer


def test_an_english_question_about_a_french_press_release(service: ChatService) -> None:
    """ "ORLA Foundation's Young Researchers Days" is "Journées Jeunes Chercheurs de la
    Fondation ORLA": the acronym is the same in both languages, the other words are not."""
    response = ask(
        service,
        "Which phone number is given for the ORLA Foundation's Young Researchers Days press "
        "contact?",
    )
    assert "03 20 55 17 40" in response.answer


def test_an_address_is_never_taken_from_the_row_of_another_organisation(
    service: ChatService,
) -> None:
    """The reference corpus lists a tech-transfer office by its web site alone, between rows
    that give e-mail addresses: its e-mail is not theirs."""
    response = ask(
        service,
        "What e-mail address does the Cancéropôle IDF give for the CNRS tech-transfer office?",
    )
    assert response.status == "no_answer"
    assert "@" not in response.answer
    company = ask(service, "What is the phone number of the Quintal agency's CEO?")
    assert "03 20 55 17 40" not in company.answer


@pytest.mark.parametrize(
    ("question", "counts"),
    [
        ("What is the phone number of the Kestrel institute?", False),
        ("What's the fax number of the institute?", False),
        ("What's the mobile number of its director?", False),
        ("What is the number of grants awarded in 2005?", True),
        ("Quel est le nombre de projets financés ?", True),
    ],
)
def test_a_phone_number_is_no_count(question: str, counts: bool) -> None:
    found = detect_operation(question)
    assert (found is not None and found.operation == "count") is counts


@pytest.mark.parametrize(
    ("text", "money"),
    [
        ("committed £4.8M to clinical trials", True),
        ("a budget of 6M euro", True),
        ("plus de 3,8 millions d'euros", True),
        ("CHF 300 000 for the cohort", True),
        ("$3 million for the study", True),
        ("12 millions de dollars", True),
        ("in 2019, 45 teams", False),
        ("a 45 k sample", False),
    ],
)
def test_a_sum_of_money_in_any_currency(text: str, money: bool) -> None:
    assert bool(MONEY.search(text)) is money
