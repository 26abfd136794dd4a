"""Question classes that documents nobody here wrote revealed, each on synthetic documents of
our own in French and English, with the negative that must not be answered."""

from __future__ import annotations

from cancerassist.chat import ChatService
from cancerassist.models import PartnerRole

from .conftest import ask_turns as ask
from .conftest import service_with

REPORT = (
    "Rapport d'activité 2019 du Réseau Armor\n\n"
    "Le Réseau Armor fédère les équipes de recherche en cancérologie de Bretagne depuis 2009.\n\n"
    "Gouvernance\n\n"
    "Les fonctions de président et de directrice sont désormais occupées par Yves Le Goff et "
    "Anne Keraudren.\n\n"
    "Membres fondateurs\n\n"
    "Les universités\n\n"
    "• Université de Brest\n"
    "• Université de Rennes\n"
    "• Université de Vannes\n\n"
    "Les hôpitaux\n\n"
    "• Centre hospitalier de Quimper\n"
    "• Centre hospitalier de Lorient\n"
)
PROJECTS = """# Projets européens du Réseau Armor

Le Réseau Armor participe à deux projets européens, présentés ci-dessous.

## MARINUS

MARINUS étudie les molécules marines contre le cancer du pancréas.

- Programme : Horizon Europe
- Budget : 4,2 M€
- Consortium : 17 partenaires dans 9 pays
- Coordinateur : Université de Brest

## TIDAL

TIDAL forme des doctorants en imagerie des tumeurs.

- Programme : MSCA Doctoral Networks
- Budget : 2,6 M€
- Coordinateur : Université de Cork
"""
NEWS = (
    "EU backs ocean-drug consortium\n\n"
    "A consortium of marine biologists and oncologists has been awarded a grant of "
    "€3 million by the EU. Partners in SEAMED include: University of Galway; Marine "
    "Institute Bergen; Pharmamar Labs; and the University of Algarve.\n"
)


service = service_with(
    "new-documents", {"armor-2019.txt": REPORT, "armor-projets.md": PROJECTS, "seamed.txt": NEWS}
)


def test_members_listed_under_a_heading_or_after_a_lead_in(service: ChatService) -> None:
    partners = {
        (f.project, f.organisation)
        for f in service.index.facts.facts
        if isinstance(f, PartnerRole) and f.provenance.doc_id in ("armor-2019", "seamed")
    }
    assert ("Réseau Armor", "Université de Brest") in partners
    # The hospitals' list comes after another list: without heading levels, "Membres
    # fondateurs" is not known to reach it, and no member is claimed rather than a wrong one.
    assert ("Réseau Armor", "Centre hospitalier de Lorient") not in partners
    assert ("SEAMED", "Pharmamar Labs") in partners
    assert ("SEAMED", "the University of Algarve") in partners
    # Governance prose is no member list.
    assert not any("Goff" in organisation for _, organisation in partners)


def test_a_list_question_gets_the_whole_list(service: ChatService) -> None:
    seamed = ask(service, "List the partners of SEAMED.")
    for partner in ("University of Galway", "Marine Institute Bergen", "University of Algarve"):
        assert partner in seamed.answer
    universities = ask(service, "Quelles universités sont membres fondatrices du Réseau Armor ?")
    for city in ("Brest", "Rennes", "Vannes"):
        assert city in universities.answer


def test_roles_named_before_who_holds_them(service: ChatService) -> None:
    """ "Les fonctions de président … sont occupées par X": a year the question takes from
    the report's title ("d'après le rapport 2019") need not be in the sentence."""
    response = ask(service, "Qui préside le Réseau Armor d'après le rapport d'activité 2019 ?")
    assert response.status == "answered"
    assert "Le Goff" in response.answer
    treasurer = ask(service, "Qui est le trésorier du Réseau Armor ?")
    assert treasurer.status == "no_answer"


def test_project_sheets_of_a_page_about_several_projects(service: ChatService) -> None:
    budget = ask(service, "Quel est le budget de MARINUS ?")
    assert "4,2 millions" in budget.answer
    assert "2,6" not in budget.answer
    coordinator = ask(service, "Who coordinates TIDAL?")
    assert "Université de Cork" in coordinator.answer
    count = ask(service, "How many partners does MARINUS have?")
    assert "17" in count.answer


def test_a_funder_the_documents_do_not_state_does_not_hide_the_amount(
    service: ChatService,
) -> None:
    """The sheet gives TIDAL's budget without its funder: asked what a known funder (INCa, of
    the reference corpus) gives for TIDAL, the budget is the answer, as it contradicts nothing;
    asked about a project with no budget, none is given."""
    response = ask(service, "What budget does INCa give for TIDAL?")
    assert "2.6 million" in response.answer
    none = ask(service, "What budget does INCa give for SEAMED?")
    assert "2.6" not in none.answer


def test_the_difference_between_two_projects_budgets(service: ChatService) -> None:
    response = ask(
        service, "Quelle est la différence entre le budget de MARINUS et celui de TIDAL ?"
    )
    assert "1,6 million" in response.answer
    assert "4,2" in response.answer
    assert "2,6" in response.answer
    together = ask(service, "What is the total budget of MARINUS and TIDAL together?")
    assert "6.8 million" in together.answer
