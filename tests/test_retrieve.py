"""Hybrid retrieval on the real corpus with the real default model."""

from __future__ import annotations

import pytest

from cancerassist.retrieve import HybridRetriever, reciprocal_rank_fusion


def top_texts(retriever: HybridRetriever, question: str, k: int = 3) -> list[str]:
    return [hit.chunk.text for hit in retriever.run(question, k).hits]


@pytest.mark.parametrize(
    ("question", "needle"),
    [
        # the valorisation-contacts table
        ("Qui contacter pour la valorisation à l'Institut Curie ?", "techtransfer@curie.fr"),
        # the Region's year-by-year funding table, asked in English of a French page
        ("Île-de-France Region funding in 2010", "2010 4.132 millions d’euros"),
        # the BONE-NET project sheet
        ("Who coordinates BONE-NET?", "Coordinateur: Université Claude Bernard Lyon 1"),
    ],
)
def test_reference_questions_find_their_passage_in_the_top_three(
    retriever: HybridRetriever, question: str, needle: str
) -> None:
    assert any(needle in text for text in top_texts(retriever, question))


@pytest.mark.parametrize(
    ("question", "needle", "passage_language"),
    [
        (
            "Quel est le rôle de LIP dans le projet BONE-NET ?",
            "LIP is a Third Party of the coordinator",
            "en",
        ),
        ("Quel rôle joue ECRIN INSERM dans le projet ?", "ECRIN INSERM will be responsible", "en"),
        (
            "Who should I contact for technology transfer at Institut Pasteur?",
            "nicolas.torno@pasteur.fr",
            "fr",
        ),
        (
            "How much funding did INCa grant to the Cancéropôle in 2018?",
            "3.45 millions d’euros",
            "fr",
        ),
    ],
)
def test_retrieval_crosses_languages(
    retriever: HybridRetriever, question: str, needle: str, passage_language: str
) -> None:
    hits = retriever.run(question, 3).hits
    matching = [h for h in hits if needle in h.chunk.text]
    assert matching, [h.chunk.chunk_id for h in hits]
    assert matching[0].chunk.language == passage_language


def test_hits_carry_provenance_and_timings(retriever: HybridRetriever) -> None:
    result = retriever.run("Budget total BONE-NET", 5)
    assert [h.rank for h in result.hits] == [1, 2, 3, 4, 5]
    assert all(a.score >= b.score for a, b in zip(result.hits, result.hits[1:], strict=False))
    source = retriever.index.documents[result.hits[0].chunk.doc_id].text
    first = result.hits[0].chunk
    assert first.text.split("\n")[0].split()[0] in source[first.start : first.end]
    assert set(result.timings_ms) == {"embed", "dense", "bm25", "fusion"}
    assert any(h.dense_rank for h in result.hits)
    assert any(h.bm25_rank for h in result.hits)


def test_reciprocal_rank_fusion_rewards_agreement() -> None:
    dense = [(1, 0.9), (2, 0.8), (3, 0.7)]
    bm25 = [(3, 12.0), (1, 5.0)]
    fused = reciprocal_rank_fusion([dense, bm25], rrf_k=60)
    assert [doc for doc, _ in fused] == [1, 3, 2]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    weighted = reciprocal_rank_fusion([dense, bm25], rrf_k=60, weights=[0.0, 1.0])
    assert weighted[0][0] == 3
