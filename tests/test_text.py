"""Language detection and the bilingual BM25 tokeniser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cancerassist.text import detect_language, fold_accents, term_variants, tokenize


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Qui contacter pour la valorisation à l'Institut Curie ?", "fr"),
        ("Et en 2012 ?", "fr"),
        ("Who coordinates BONE-NET?", "en"),
        ("How much did the Île-de-France Region grant in 2014?", "en"),
        ("Combien la Région a-t-elle accordé en 2010 ?", "fr"),
        ("What was its total budget?", "en"),
    ],
)
def test_short_questions(text: str, language: str) -> None:
    assert detect_language(text) == language


@given(st.text())
def test_detection_never_fails(text: str) -> None:
    assert detect_language(text) in ("fr", "en")


def test_tokens_fold_accents_and_share_stems_across_languages() -> None:
    assert fold_accents("Île-de-France Cancéropôle œuvre") == "Ile-de-France Canceropole oeuvre"
    assert set(tokenize("Coordinateur")) & set(tokenize("coordinates"))
    assert "bonenet" in tokenize("BONE-NET")
    assert "bonenet" in tokenize("BONENET")
    assert tokenize("le la les the of and qui who") == []


def test_a_compound_is_one_word_with_several_forms() -> None:
    variants = term_variants("Who coordinates BONE-NET?")
    assert len(variants) == 2
    assert {"bonenet", "bone", "net"} <= set(variants[1])
