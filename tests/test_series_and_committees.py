"""Figures a sentence gives year by year, committee lists written the Dutch way, and pages
whose organisation only their file name gives: question classes documents nobody here wrote
revealed, each on documents of our own with the negative that must not be answered."""

from __future__ import annotations

from cancerassist.chat import ChatService
from cancerassist.models import Measure

from .conftest import ask_turns as ask
from .conftest import service_with

SERIES = (
    "Fondation Ardoise : bilan de l'année\n\n"
    "La collecte de la fondation a atteint 412.000 euros en 2020 et près de 530.000 euros en "
    "2021. Elle finance deux chaires de recherche sur les sarcomes.\n\n"
    "Le budget des chaires était de 1,2 million d'euros en 2019.\n"
)
# A site's page: the organisation is in the file's name, not in the text.
COMMITTEE = (
    "Review committees of the Verwey fund\n\n"
    "There are two review committees: a laboratory committee and a clinical committee.\n\n"
    "Laboratory research committee:\n\n"
    "Prof. dr. H.J. (Henk Jan) Oosterhuis, chair\n"
    "Dr. T.M. (Tineke) Brouwer, secretary\n"
    "Prof. dr. W. (Willem) de Groot\n"
)

# A brochure page dated by the line that heads it, not by its sentences.
DATED_PAGE = (
    "Dr. Lise Aubépine\n"
    "Knowledge Manager\n"
    "Fondation Verger\n\n"
    "www.verger.example - 1\n"
    "Fondation Verger - 2014\n"
    "La Fondation Verger affecte aujourd'hui, grâce à ses donateurs, plus de 4,5 millions "
    "d'euros à la recherche clinique en oncologie.\n"
)

# A spreadsheet of a report's parts (its title is the file's name): its opening row names the
# institute, its later rows do not.
OPENING = (
    "Rubrique,Texte\n"
    "Titre,Rapport d'activité 2020 : « Les Compagnons » premier donateur privé de l'Institut "
    "Mirabel\n"
    + "".join(
        f"Paragraphe,Action {n} : les bénévoles ont organisé des ventes des courses et des "
        f"concerts dans toute la région avec le soutien des communes et des entreprises.\n"
        for n in range(1, 16)
    )
    + "Texte,L'an dernier « Les Compagnons » ont financé au total plus de 35 projets de "
    "recherche.\n"
)

# Grant holders listed under a heading that says what they are.
APPLICANTS = """# $3 million for cancer research

The Minister announced nine new research grants this week.

## Successful applicants and their projects

- Dr Ana Quill, Harbour University - Imaging for bone tumours (BONIMA)
- Prof Ivo Reed, Lakeside University - A registry of rare sarcomas (SARREG)
"""

service = service_with(
    "series",
    {
        "new-grants.md": APPLICANTS,
        "compagnons-2020.csv": OPENING,
        "ardoise-bilan.txt": SERIES,
        "zeeland-umc-verwey-committees.txt": COMMITTEE,
        "verger-brochure.txt": DATED_PAGE,
    },
)


def test_a_sentence_with_a_figure_per_year_is_a_row_of_figures(service: ChatService) -> None:
    rows = [
        f
        for f in service.index.facts.facts
        if isinstance(f, Measure) and f.provenance.doc_id == "ardoise-bilan"
    ]
    assert {(m.row, m.column, m.value_text) for m in rows} == {
        ("collecte de la fondation", "2020", "412.000 euros"),
        ("collecte de la fondation", "2021", "530.000 euros"),
    }
    difference = ask(
        service,
        "De combien la collecte de la Fondation Ardoise a-t-elle progressé entre 2020 et 2021 ?",
    )
    assert "118" in difference.answer
    average = ask(
        service, "Quelle a été la collecte moyenne de la Fondation Ardoise en 2020 et 2021 ?"
    )
    assert "471" in average.answer


def test_one_amount_with_its_year_is_no_series(service: ChatService) -> None:
    assert not [
        m
        for m in service.index.facts.facts
        if isinstance(m, Measure) and "budget" in m.row and m.provenance.doc_id == "ardoise-bilan"
    ]


def test_a_committee_written_the_dutch_way_and_named_by_its_file(service: ChatService) -> None:
    """ "Prof. dr." opens no sentence; the organisation asked about ("Zeeland UMC") is only in
    the file's name."""
    chair = ask(service, "Who is the chair of the laboratory research committee at Zeeland UMC?")
    assert chair.status == "answered"
    assert "Oosterhuis" in chair.answer
    assert "Brouwer" not in chair.answer
    elsewhere = ask(
        service, "Who is the chair of the laboratory research committee at Utrecht UMC?"
    )
    assert "Oosterhuis" not in elsewhere.answer


def test_a_page_headed_by_its_year_answers_for_that_year(service: ChatService) -> None:
    dated = ask(
        service, "In 2014, how much was the Fondation Verger devoting to clinical research?"
    )
    assert "4,5" in dated.answer or "4.5" in dated.answer
    other = ask(
        service, "In 2016, how much was the Fondation Verger devoting to clinical research?"
    )
    assert "4,5" not in other.answer
    assert "4.5" not in other.answer


def test_the_opening_of_a_document_says_whose_its_later_passages_are(
    service: ChatService,
) -> None:
    response = ask(
        service,
        "Combien de projets de recherche « Les Compagnons » de l'Institut Mirabel ont-ils "
        "financés en 2020 ?",
    )
    assert "35" in response.answer
    other = ask(
        service,
        "Combien de projets de recherche « Les Compagnons » de l'Institut Verdier ont-ils "
        "financés en 2020 ?",
    )
    assert "35" not in other.answer


def test_who_leads_a_project_is_its_applicant_in_a_list_of_grant_holders(
    service: ChatService,
) -> None:
    response = ask(service, "who leads the SARREG registry project, and at which university?")
    assert "Reed" in response.answer
    assert "Lakeside" in response.answer
    assert "Quill" not in response.answer
    treasurer = ask(service, "Who is the treasurer of the SARREG project?")
    assert "Reed" not in treasurer.answer
