"""Chunks of the real corpus: clean text, intact tables, exact source spans."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cancerassist.chunk import chunk_document, source_offset
from cancerassist.ingest import load_corpus
from cancerassist.models import Chunk, SourceDocument
from cancerassist.profile import NEUTRAL

from .conftest import CORPUS
from .test_ingest import MAX_BYTES

MAX_CHARS = 1000


@pytest.fixture(scope="module")
def documents() -> dict[str, SourceDocument]:
    docs, _ = load_corpus(CORPUS, MAX_BYTES)
    return {d.doc_id: d for d in docs}


@pytest.fixture(scope="module")
def chunks(documents: dict[str, SourceDocument]) -> list[Chunk]:
    return [c for d in documents.values() for c in chunk_document(d, 750, MAX_CHARS, 150)]


def chunk_with(chunks: list[Chunk], needle: str) -> Chunk:
    found = [c for c in chunks if needle in c.text]
    assert len(found) == 1, f"{needle!r} is in {len(found)} chunks"
    return found[0]


def test_brochure_chunks_have_no_pdf_artifacts(chunks: list[Chunk]) -> None:
    brochure = [c for c in chunks if c.doc_id == "canceropoles-inca-brochure-2023"]
    assert brochure
    for chunk in brochure:
        assert "inter-\nrégional" not in chunk.text
        assert not re.search(r"\w-\n\w", chunk.text), chunk.text
        assert not re.search(r"(?:^|\n)l\s", chunk.text), chunk.text
        assert not re.search(r"\s\s", chunk.text.replace("\n", " ")), chunk.text
    repaired = chunk_with(chunks, "à l’échelle régionale ou interrégionale, une meilleure")
    assert repaired.doc_id == "canceropoles-inca-brochure-2023"


def test_every_character_maps_back_to_the_source(
    chunks: list[Chunk], documents: dict[str, SourceDocument]
) -> None:
    for chunk in chunks:
        source = documents[chunk.doc_id].text
        assert 0 <= chunk.start < chunk.end <= len(source)
        for position, char in enumerate(chunk.text):
            if char.isalnum():
                offset = source_offset(chunk, position)
                assert chunk.start <= offset < chunk.end
                assert source[offset] == char, (chunk.chunk_id, position)


def test_tables_stay_whole_with_their_header(chunks: list[Chunk]) -> None:
    contacts = chunk_with(chunks, "techtransfer@curie.fr")
    assert contacts.kind == "table"
    assert contacts.text.startswith(
        "Cellules de valorisation institutionnelles\nInstitution Contact\n"
    )
    assert contacts.section == "Cellules de valorisation institutionnelles"
    for email in ("info.ottpi@sls.aphp.fr", "nicolas.torno@pasteur.fr", "romain.marlange@cea.fr"):
        assert email in contacts.text
    assert "http://www.dgdr.cnrs.fr/daj/partenariat/annuaire/spv.htm" in contacts.text

    region = chunk_with(chunks, "2010 4.132 millions d’euros")
    assert region.text.startswith("Année Financement accordé\n")
    assert region.section == "Région Île-de-France"
    assert [int(y) for y in re.findall(r"^(20\d\d) ", region.text, re.MULTILINE)] == list(
        range(2007, 2017)
    )

    biobanks = [
        c for c in chunks if c.table_header == "Nom de la tumorothèque Etablissement Responsable"
    ]
    assert len(biobanks) >= 2, "a 20-row table is longer than one chunk"
    rows = [line for c in biobanks for line in c.text.split("\n")[1:]]
    assert all(c.text.startswith(c.table_header or "") for c in biobanks)
    assert len(rows) == 20
    assert rows[0].startswith("TUMOROTHEQUE AP-HP GH EST")
    assert rows[-1].endswith("Dr Vielh")


def test_chunk_sizes_are_bounded(chunks: list[Chunk]) -> None:
    assert all(len(c.text) <= MAX_CHARS for c in chunks)
    assert sum(len(c.text) >= 200 for c in chunks) >= 0.9 * len(chunks)


def test_language_section_and_context(chunks: list[Chunk]) -> None:
    context = chunk_with(chunks, "More than 400,000 European men and women")
    assert context.language == "en"
    assert context.section == "Context / Contexte"
    assert context.embedding_text().startswith("BONE-NET – FP7 project sheet")
    assert all(c.language == "fr" for c in chunks if c.doc_id == "canceropole-idf-website")
    lip = chunk_with(chunks, "LIP is a Third Party of the coordinator")
    assert lip.section == "Role of LIP"
    assert lip.language == "en"
    people = chunk_with(chunks, "Jacques Demotes-Mainard")
    assert people.section == "Description of key people involved in the project"


def test_long_paragraphs_are_split_between_sentences_with_overlap() -> None:
    sentences = [
        f"Sentence number {i} talks about cancer research networks in France." for i in range(40)
    ]
    text = "Heading\n\n" + " ".join(sentences) + "\n"
    document = SourceDocument(
        doc_id="d", path="d.txt", title="T", language="en", content_hash="0", text=text
    )
    pieces = chunk_document(document, 300, 400, 150)
    assert len(pieces) > 5
    for previous, current in itertools.pairwise(pieces):
        assert current.text.split(". ")[0].rstrip(".") in previous.text  # one sentence of overlap
        assert current.section == "Heading"
    for piece in pieces:
        assert piece.text.rstrip().endswith(".")


def test_chunking_is_deterministic(documents: dict[str, SourceDocument]) -> None:
    document = documents["canceropoles-inca-brochure-2023"]
    assert chunk_document(document) == chunk_document(document)


# Documents as they come: paragraphs, headings, lists, long lines, any Unicode in between.
WORDS = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40)
PROSE = st.lists(
    st.one_of(
        WORDS,
        st.sampled_from(["\n", "\n\n", ". ", " ", "\t", "• ", "1. ", "# ", "€", "é"]),
    ),
    max_size=200,
).map("".join)


@settings(max_examples=120, deadline=None)
@given(st.one_of(st.text(alphabet=st.characters(codec="utf-8"), max_size=3000), PROSE))
def test_arbitrary_text_chunks_map_back_bounded_and_complete(text: str) -> None:
    document = SourceDocument(
        doc_id="x", path="x.txt", title="X", language="fr", content_hash="0", text=text
    )
    covered: set[int] = set()
    for chunk in chunk_document(document, 300, 400, 100):
        assert len(chunk.text) <= 400
        assert 0 <= chunk.start <= chunk.end <= len(text)
        for position, char in enumerate(chunk.text):
            if char.isalnum() and char not in "•":
                offset = source_offset(chunk, position)
                assert text[offset] == char
                covered.add(offset)
    # No text lost: every letter and digit of the source is in some chunk, but for lines of
    # navigation boilerplate ("Back to top"), dropped on purpose.
    dropped = {
        i
        for line in re.finditer(r"[^\n]+", text)
        if NEUTRAL.is_boilerplate(line.group())
        for i in range(line.start(), line.end())
    }
    lost = [i for i, char in enumerate(text) if char.isalnum() and i not in covered | dropped]
    assert not lost, f"lost {[text[i] for i in lost[:20]]}"
