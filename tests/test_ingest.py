"""Loading files of every supported type, and reporting the ones that cannot be indexed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cancerassist.config import Settings
from cancerassist.ingest import IngestError, load_corpus, parse_blocks

from .conftest import CORPUS

MAX_BYTES = 1_000_000


def make_pdf(lines: list[str], *more_pages: list[str]) -> bytes:
    """A minimal valid PDF, one page per list of lines, whose text pypdf can extract."""
    pages = [lines, *more_pages]
    count = len(pages)
    # Objects: catalog, page tree, the font, then a page and its content stream per page.
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(count))
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {count} >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, page in enumerate(pages):
        stream = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({line}) '" for line in page) + " ET"
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {5 + 2 * i} 0 R "
            "/Resources << /Font << /F1 3 0 R >> >> >>"
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out


def test_reference_corpus_loads_with_its_metadata() -> None:
    documents, problems = load_corpus(CORPUS, MAX_BYTES)
    assert problems == []
    by_path = {d.path: d for d in documents}
    assert set(by_path) == {
        "bonenet-fp7-project.txt",
        "canceropole-idf-website.txt",
        "canceropoles-inca-brochure-2023.txt",
        "inserm-ecrin-partner-profile.txt",
    }
    metadata = json.loads((CORPUS / "metadata.json").read_text(encoding="utf-8"))["documents"]
    for path, document in by_path.items():
        assert document.title == metadata[path]["title"]
        assert document.language == metadata[path]["language"]
        assert document.text == (CORPUS / path).read_text(encoding="utf-8")


def test_every_supported_type_is_read(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text(
        "# Heading\n\nUne phrase en français sur la recherche.\n", encoding="utf-8"
    )
    (tmp_path / "page.html").write_text(
        "<html><head><title>Page</title><script>alert('x')</script><style>p{}</style></head>"
        "<body><h1>Contacts</h1><table><tr><th>Institution</th><th>Contact</th></tr>"
        "<tr><td>Institut Curie</td><td>techtransfer@curie.fr</td></tr></table></body></html>",
        encoding="utf-8",
    )
    (tmp_path / "report.pdf").write_bytes(make_pdf(["BONE-NET budget", "Total 3263864 euros"]))
    (tmp_path / "plain.txt").write_text("Simple text file about Cancéropôles.\n", encoding="utf-8")

    documents, problems = load_corpus(tmp_path, MAX_BYTES)

    assert problems == []
    texts = {d.path: d.text for d in documents}
    assert "Une phrase en français" in texts["notes.md"]
    assert "Institut Curie | techtransfer@curie.fr" in texts["page.html"]
    assert "alert" not in texts["page.html"]
    assert "BONE-NET budget" in texts["report.pdf"]
    assert "3263864" in texts["report.pdf"]
    assert {d.doc_id for d in documents} == {"notes", "page", "report", "plain"}


def test_unreadable_files_are_reported_by_name_and_the_rest_indexed(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text(
        "Le Cancéropôle Île-de-France finance la recherche.\n", encoding="utf-8"
    )
    (tmp_path / "empty.txt").write_text("  \n\n", encoding="utf-8")
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20)
    (tmp_path / "broken.pdf").write_bytes(make_pdf(["never read"])[:60])
    (tmp_path / "fake.pdf").write_text("this is not a pdf", encoding="utf-8")
    (tmp_path / "copy.txt").write_text(
        "Le Cancéropôle Île-de-France finance la recherche.\n", encoding="utf-8"
    )
    (tmp_path / "huge.txt").write_text("x" * (MAX_BYTES + 1), encoding="utf-8")
    (tmp_path / "slides.pptx").write_bytes(b"PK\x03\x04")
    (tmp_path / "latin1.txt").write_bytes("Résumé des financements accordés.".encode("latin-1"))

    documents, problems = load_corpus(tmp_path, MAX_BYTES)

    # Files are read in name order, so the later of two identical files is the duplicate.
    assert sorted(d.path for d in documents) == ["copy.txt", "latin1.txt"]
    reasons = {p.path: (p.severity, p.reason) for p in problems}
    assert reasons["empty.txt"] == ("error", "empty: no text to index")
    assert reasons["binary.txt"][0] == "error"
    assert "binary" in reasons["binary.txt"][1]
    assert reasons["broken.pdf"][0] == "error"
    assert "PDF" in reasons["broken.pdf"][1]
    assert reasons["fake.pdf"] == ("error", "not a PDF file (no %PDF header)")
    assert reasons["huge.txt"][0] == "error"
    assert "too large" in reasons["huge.txt"][1]
    assert reasons["slides.pptx"][0] == "warning"
    assert "unsupported" in reasons["slides.pptx"][1]
    assert reasons["good.txt"] == ("error", "duplicate of copy.txt")
    assert reasons["latin1.txt"][0] == "warning"
    assert "Windows-1252" in reasons["latin1.txt"][1]
    latin = next(d for d in documents if d.path == "latin1.txt")
    assert latin.text == "Résumé des financements accordés."


def test_missing_corpus_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="corpus directory not found"):
        load_corpus(tmp_path / "nope", MAX_BYTES)


def test_structure_of_a_flattened_web_page() -> None:
    text = (CORPUS / "canceropole-idf-website.txt").read_text(encoding="utf-8")
    blocks = parse_blocks(text)
    tables = [b for b in blocks if b.kind == "table"]
    assert [t.header.text for t in tables if t.header] == [
        "Institution Contact",
        "Année Financement accordé",
        "Nom de la tumorothèque Etablissement Responsable",
    ]
    assert [len(t.segments) for t in tables] == [11, 10, 20]
    headings = [b.text for b in blocks if b.kind == "heading"]
    for expected in (
        "Cellules de valorisation institutionnelles",
        "Région Île-de-France",
        "Tumorothèques",
    ):
        assert expected in headings
    # CMS navigation and teaser excerpts are gone; the full sections remain.
    all_text = "\n".join(b.text for b in blocks)
    assert "Continuer la lecture" not in all_text
    assert "Lire la suite" not in all_text
    assert all_text.count("se nourrit de disciplines") == 2  # two real sections, no teaser


def test_pdf_extraction_artifacts_are_repaired() -> None:
    text = (CORPUS / "canceropoles-inca-brochure-2023.txt").read_text(encoding="utf-8")
    all_text = "\n".join(b.text for b in parse_blocks(text))
    assert "à l’échelle régionale ou interrégionale, une meilleure" in all_text
    assert (
        "• Établir une feuille de route adaptée à l’écosystème régional ou interrégional."
        in all_text
    )
    assert "Provence-Alpes-Côte d’Azur" in all_text


def test_a_50_mb_file_is_reported_without_being_read(tmp_path: Path) -> None:
    limit = Settings().max_file_bytes
    with (tmp_path / "dump.txt").open("wb") as f:
        f.truncate(50 * 1024 * 1024)  # 50 MB on disk, sparse: cheap to create
    (tmp_path / "good.txt").write_text("Le Cancéropôle finance la recherche.", encoding="utf-8")
    documents, problems = load_corpus(tmp_path, limit)
    assert [d.path for d in documents] == ["good.txt"]
    [problem] = problems
    assert problem.path == "dump.txt"
    assert problem.severity == "error"
    assert f"file too large (52,428,800 bytes; the limit is {limit:,})" in problem.reason


def test_sentences_end_at_full_stops_not_at_initials_or_titles() -> None:
    text = (
        "Le comité est placé sous la responsabilité de Pierre Martin, directeur du Centre "
        "G.F. Leclerc à Dijon. It is chaired by Prof. Anne Smith. Il se réunit deux fois par an.\n"
        # A line that ends with a space reads as wrapped; a long one is a paragraph anyway.
        "A paragraph written on a single line that goes on well beyond the width of a column "
        "of a PDF page and of most web pages, and whose author forgot the full stop at its end \n"
        "The next line is another paragraph.\n"
    )
    segments = [s.text for block in parse_blocks(text) for s in block.segments]
    assert segments == [
        "Le comité est placé sous la responsabilité de Pierre Martin, directeur du Centre "
        "G.F. Leclerc à Dijon.",
        "It is chaired by Prof. Anne Smith.",
        "Il se réunit deux fois par an.",
        "A paragraph written on a single line that goes on well beyond the width of a column "
        "of a PDF page and of most web pages, and whose author forgot the full stop at its end",
        "The next line is another paragraph.",
    ]


def test_hard_wrapped_text_is_one_paragraph_whatever_case_the_next_line_opens_with() -> None:
    wrapped = (
        "The consortium was chosen from a shortlist of nine collaborations drawn from\n"
        "universities, institutes and industry, after two rounds of review by a panel of\n"
        "experts who met in London and in Paris over the course of the last two years.\n"
        "\n"
        "Its chair said that the awards were among the largest the charity had ever made:\n"
        "“Cancer Research Network set up the awards to tackle the hardest problems in\n"
        "the field, and the winning teams come from eight countries and four continents.”\n"
        "\n"
        "The money will be spent over five years on staff, equipment and travel between\n"
        "the partner laboratories, with a review of the progress of each team every year.\n"
    )
    paragraphs = [b.text for b in parse_blocks(wrapped)]
    assert len(paragraphs) == 3
    assert "research network set up the awards" in paragraphs[1].lower()
    # Lines of varied length (a list of names, a table) are not a wrapped text.
    listing = "Members\n\nRéseau Nord\nRéseau Sud\nRéseau Est\nRéseau Ouest\nRéseau Centre\n"
    assert any("Réseau Nord\nRéseau Sud" in b.text for b in parse_blocks(listing))
