"""Tables read as grids of figures, and questions answered from them exactly.

The tables here are invented; the last tests add one to a copy of the corpus and ask through
the chat service, in French and in English."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from cancerassist.answer import Prompts
from cancerassist.chat import ChatService
from cancerassist.facts import extract_facts
from cancerassist.ingest import parse_blocks
from cancerassist.models import Measure, SourceDocument
from cancerassist.readers import csv_to_text
from cancerassist.tables import TableIndex, coverage, format_figure, read_grid, render_table_answer
from tests.conftest import ask_turns, service_with

PROMPTS = Prompts.load(Path(__file__).parents[1] / "prompts")

RATES = """Selection results of the Alder Trust,,,,
Awards starting in:,2016,2017,2018,2019
Proposals,400,420,510,480
Awards,40,50,51,36
Success rate,10%,11.9%,10%,7.5%
"""

BY_TUMOUR = """Group,Tumour type,Number of awards,Awarded amount ($),Targeted amount ($)
Open call (2024),Melanoma,12,"3,400,000","1,250,000"
Open call (2024),Glioma,8,"2,900,500","2,000,000"
Open call (2024),Sarcoma,5,"1,100,000",
Open call (2024),Other tumours,30,"9,000,000","4,000,000"
Open call (2024),Grand Total,55,"16,400,500","7,250,000"
"""

YEARLY = """Année,Financeur,Objet,Montant
2021,Fonds Bouleau,appel jeunes équipes,"1,2 million d'euros"
2022,Fonds Bouleau,appel jeunes équipes,850 000 €
2022,Fonds Bouleau,bourses de thèse,
2023,Fonds Bouleau,bourses de thèse,900 000 €
"""


def _document(doc_id: str, csv: str, title: str) -> SourceDocument:
    return SourceDocument(
        doc_id=doc_id,
        path=f"{doc_id}.csv",
        title=title,
        language="en",
        content_hash=doc_id,
        text=csv_to_text(csv),
    )


def _measures(*documents: SourceDocument) -> list[Measure]:
    store = extract_facts([(d, parse_blocks(d.text)) for d in documents])
    return [f for f in store.facts if isinstance(f, Measure)]


@pytest.fixture(scope="module")
def tables() -> TableIndex:
    documents = [
        _document("alder-trust-awards", RATES, "Alder Trust: how we fund"),
        _document("hazel-foundation-awards", BY_TUMOUR, "Hazel Foundation awards by tumour"),
        _document("fonds-bouleau", YEARLY, "Fonds Bouleau : nos soutiens"),
    ]
    return TableIndex(_measures(*documents), {d.doc_id: d for d in documents})


# ---------------------------------------------------------------------------------------------
# Reading


def test_a_header_of_years_labels_the_columns_and_the_line_above_is_the_caption() -> None:
    cells = _measures(_document("t", RATES, "T"))
    awards = {c.column: c.value for c in cells if c.row == "Awards"}
    assert awards == {"2016": 40, "2017": 50, "2018": 51, "2019": 36}
    rate = next(c for c in cells if c.row == "Success rate" and c.column == "2017")
    assert rate.value == Decimal("11.9")
    assert rate.percent
    assert rate.value_text == "11.9%"
    assert cells[0].caption == "Selection results of the Alder Trust — Awards starting in"
    # Each figure cites its whole row.
    assert rate.provenance.quote.startswith("Success rate")


def test_a_column_repeating_down_the_rows_groups_them_and_a_total_row_is_marked() -> None:
    cells = _measures(_document("t", BY_TUMOUR, "T"))
    melanoma = next(c for c in cells if c.row == "Melanoma" and c.column.startswith("Awarded"))
    assert melanoma.value == 3_400_000
    assert melanoma.group == "Open call (2024)"
    assert [c.row for c in cells if c.is_total] == ["Grand Total"] * 3
    # An empty cell is no figure; the row's others are.
    assert {c.column for c in cells if c.row == "Sarcoma"} == {
        "Number of awards",
        "Awarded amount ($)",
    }


def test_a_column_of_years_names_rows_and_amounts_in_words_are_exact() -> None:
    cells = _measures(_document("t", YEARLY, "T"))
    assert [(c.row, c.value) for c in cells] == [
        ("2021 — appel jeunes équipes", Decimal("1200000")),
        ("2022 — appel jeunes équipes", Decimal("850000")),
        ("2023 — bourses de thèse", Decimal("900000")),
    ]
    assert {c.group for c in cells} == {"Fonds Bouleau"}


def test_rows_of_text_without_a_header_of_labels_give_no_figures() -> None:
    assert read_grid([["Name", "Role"], ["Ada Pine", "Chair"], ["Bo Fir", "Treasurer"]]) == []
    assert read_grid([["Room 12", "45"], ["Room 14", "30"]]) == []  # no header row above


# ---------------------------------------------------------------------------------------------
# Questions


@pytest.mark.parametrize(
    ("question", "operation", "figure"),
    [
        ("How many awards did the Alder Trust make for awards starting in 2018?", "count", "51"),
        ("Combien de propositions l'Alder Trust a-t-il reçues en 2019 ?", "count", "480"),
        ("What is the awarded amount for glioma at the Hazel Foundation?", None, "2,900,500"),
    ],
)
def test_a_row_and_a_column_named_give_their_cell(
    tables: TableIndex, question: str, operation: str | None, figure: str
) -> None:
    answer = tables.answer(question, operation)
    assert answer is not None
    assert answer.operation == "value"
    assert [c.value_text for c in answer.cells] == [figure]


def test_a_total_over_a_range_of_years_adds_every_year_between(tables: TableIndex) -> None:
    answer = tables.answer("Total awards of the Alder Trust from 2016 to 2018?", "total")
    assert answer is not None
    assert answer.value == 141
    assert [c.column for c in answer.cells] == ["2016", "2017", "2018"]
    text = render_table_answer(answer, "en", PROMPTS)
    assert "141" in text
    assert "2017: 50" in text
    assert "Alder Trust" in text


def test_a_difference_between_two_years_says_up_or_down_in_the_readers_language(
    tables: TableIndex,
) -> None:
    question = (
        "De combien le nombre de propositions à l'Alder Trust a-t-il baissé entre 2018 et 2019 ?"
    )
    answer = tables.answer(question, "difference")
    assert answer is not None
    assert answer.value == -30
    text = render_table_answer(answer, "fr", PROMPTS)
    assert "baisse de 30" in text
    assert "510 en 2018" in text
    assert "« Proposals »" in text


def test_a_french_question_meets_an_english_table_through_the_glossary(
    tables: TableIndex,
) -> None:
    # "taux" is "rate"; "meilleur" asks for the highest.
    answer = tables.answer("Quelle année l'Alder Trust a eu le meilleur taux de succès ?", "max")
    assert answer is not None
    assert answer.best is not None
    assert answer.best.column == "2017"


def test_rows_left_aside_and_total_rows_are_out_of_a_ranking(tables: TableIndex) -> None:
    question = (
        "Leaving aside Other tumours, which tumour type has the largest awarded amount "
        "at the Hazel Foundation?"
    )
    answer = tables.answer(question, "max")
    assert answer is not None
    assert answer.best is not None
    assert answer.best.row == "Melanoma"
    assert "Grand Total" not in {c.row for c in answer.cells}


def test_an_average_is_exact_and_rates_are_never_added(tables: TableIndex) -> None:
    answer = tables.answer("Average number of awards of the Alder Trust?", "average")
    assert answer is not None
    assert answer.value == Decimal("44.25")
    assert tables.answer("Total success rate of the Alder Trust?", "total") is None


def test_a_difference_between_two_rows_of_a_column(tables: TableIndex) -> None:
    answer = tables.answer(
        "Écart de Awarded amount entre Melanoma et Sarcoma à la Hazel Foundation ?", "difference"
    )
    assert answer is not None
    assert abs(answer.value or 0) == 2_300_000
    assert "2\u202f300\u202f000" in render_table_answer(answer, "fr", PROMPTS)


def test_a_table_of_another_organisation_does_not_answer(tables: TableIndex) -> None:
    # The Rowan Fund has no table: the Alder Trust's awards are not its awards.
    assert tables.answer("How many awards did the Rowan Fund make in 2018?", "count") is None


def test_a_question_naming_no_row_or_column_is_not_a_table_question(tables: TableIndex) -> None:
    assert tables.answer("Who chairs the Alder Trust?", None) is None
    assert tables.answer("What does the Hazel Foundation fund?", None) is None


def test_coverage_counts_the_question_words_a_source_writes() -> None:
    assert coverage("success rate of the Alder Trust", "Alder Trust: success rate") == 1.0
    assert coverage("success rate of the Alder Trust", "Rowan Fund grants") == 0.0


def test_figures_are_written_the_readers_way() -> None:
    assert format_figure(Decimal("45412331"), "fr") == "45\u202f412\u202f331"
    assert format_figure(Decimal("45412331"), "en") == "45,412,331"
    assert format_figure(Decimal("44.25"), "fr") == "44,25"
    assert format_figure(Decimal("7.5"), "en", percent=True) == "7.5%"


# ---------------------------------------------------------------------------------------------
# Through the chat service, on a copy of the corpus with a table added

table_service = service_with("tables", {"alder-trust-awards.csv": RATES})


def test_the_chat_answers_from_an_added_table_and_cites_its_rows(
    table_service: ChatService,
) -> None:
    response = ask_turns(table_service, "Total awards of the Alder Trust from 2016 to 2019?")
    assert response.status == "answered"
    assert "177" in response.answer
    assert {c.doc_id for c in response.citations} == {"alder-trust-awards"}
    assert all(f.type == "measure" for f in response.facts)
    french = ask_turns(
        table_service, "Quelle année l'Alder Trust a-t-il eu le taux de succès le plus faible ?"
    )
    assert french.status == "answered"
    assert "2019" in french.answer
    assert "7.5%" in french.answer
    assert french.language == "fr"


def test_an_added_table_does_not_take_the_reference_documents_questions(
    table_service: ChatService, service: ChatService
) -> None:
    # The same question gets the same answer with and without the table in the corpus.
    question = "Combien la Région Île-de-France a-t-elle accordé au total de 2007 à 2010 ?"
    with_table, without = ask_turns(table_service, question), ask_turns(service, question)
    assert with_table.answer == without.answer
    assert "alder-trust-awards" not in {c.doc_id for c in with_table.citations}


def test_a_row_named_without_its_column_answers_nothing() -> None:
    # A contents page is a table too: "regions?" names its row "By region", not a figure.
    contents = "Section,Page\nWelcome,2\nBy region,13\nBy institution,14\n"
    document = _document("alder-report", contents, "Alder Trust annual report")
    tables = TableIndex(_measures(document), {document.doc_id: document})
    assert tables.answer("alder trust regions?", None) is None
    assert tables.answer("Who is the president of the institution?", None) is None
    found = tables.answer("On which page of the Alder Trust report is By region?", None)
    assert found is not None
    assert [c.value_text for c in found.cells] == ["13"]
