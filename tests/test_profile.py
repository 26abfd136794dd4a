"""The corpus profile: what is specific to a collection is data, with neutral defaults, and the
engine behaves the same on a collection whatever its organisations are called."""

from __future__ import annotations

from pathlib import Path

import pytest

from cancerassist.answer import Prompts
from cancerassist.ingest import parse_blocks
from cancerassist.models import Biobank, Contact, Figure, Funding, Person
from cancerassist.profile import NEUTRAL, CorpusProfile, ProfileError, load_profile

from .conftest import facts_of

ROOT = Path(__file__).resolve().parent.parent


def test_no_profile_file_means_the_neutral_profile(tmp_path: Path) -> None:
    assert load_profile(tmp_path / "profile.toml") == NEUTRAL


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ("boilerplate = ['Catégorie (']", "boilerplate"),
        ("[headings]\npeople = 'team('", "headings.people"),
        ("colour = 'blue'", "colour"),
        ("evidence_thresholds = 'high'", "evidence_thresholds"),
        # Valid alone, not once joined with the generic lines: checked as it will run.
        ("boilerplate = ['(?i)menu']", "boilerplate"),
    ],
)
def test_an_invalid_profile_is_refused_naming_the_field(
    tmp_path: Path, toml: str, named: str
) -> None:
    path = tmp_path / "profile.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ProfileError, match=named.replace(".", r"\.")):
        load_profile(path)


def test_the_reference_profile_loads() -> None:
    profile = load_profile(ROOT / "corpus" / "profile.toml")
    assert profile.examples["fr"]
    assert profile.examples["en"]
    assert profile.is_boilerplate("Catégorie : Actualités")


def test_boilerplate_lines_are_the_profiles_and_the_generic_ones() -> None:
    text = "Aller au contenu principal\n\nRubrique : Actualités\n\nLe réseau fédère 40 équipes.\n"
    neutral = [b.text for b in parse_blocks(text)]
    assert "Aller au contenu principal" not in neutral  # generic navigation: always dropped
    assert "Rubrique : Actualités" in neutral  # a CMS field only this collection has
    profile = CorpusProfile(boilerplate=[r"Rubrique\s*:"])
    assert [b.text for b in parse_blocks(text, profile)] == ["Le réseau fédère 40 équipes."]


TRANSFER_TABLE = """Bureaux de transfert de technologie

Établissement Contact
Université Alpha transfert@alpha.example
Institut Beta licences@beta.example
Hôpital Gamma innovation@gamma.example
"""
PRESS_TABLE = TRANSFER_TABLE.replace("Bureaux de transfert de technologie", "Contacts presse")


def test_contacts_take_their_purpose_from_the_heading_words() -> None:
    purposes = {c.purpose for c in facts_of(TRANSFER_TABLE) if isinstance(c, Contact)}
    assert purposes == {"technology_transfer"}
    # Press contacts are contacts, not technology-transfer offices.
    press = [c for c in facts_of(PRESS_TABLE) if isinstance(c, Contact)]
    assert len(press) == 3
    assert {c.purpose for c in press} == {None}
    # A collection whose offices sit under other words says so in its profile.
    partnerships = TRANSFER_TABLE.replace("Bureaux de transfert de technologie", "Partenariats")
    assert {c.purpose for c in facts_of(partnerships) if isinstance(c, Contact)} == {None}
    profile = CorpusProfile.model_validate(
        {"headings": {"purposes": {"technology_transfer": "partenariat"}}}
    )
    found = {c.purpose for c in facts_of(partnerships, profile) if isinstance(c, Contact)}
    assert found == {"technology_transfer"}


PEOPLE = """Key people involved

• Jeanne Martin, PhD, head of the imaging platform at NORDLAB.
• Paul Durand, MD, clinical coordinator for the Réseau Sud trials.
"""


def test_affiliations_come_from_the_text_or_the_profile() -> None:
    neutral = {p.name: p.affiliation for p in facts_of(PEOPLE) if isinstance(p, Person)}
    assert neutral == {"Jeanne Martin": "NORDLAB", "Paul Durand": None}
    profile = CorpusProfile(affiliations=["Réseau Sud"])
    known = {p.name: p.affiliation for p in facts_of(PEOPLE, profile) if isinstance(p, Person)}
    assert known == {"Jeanne Martin": "NORDLAB", "Paul Durand": "Réseau Sud"}


BIOBANKS = """Biobanques du réseau

Nom Établissement Responsable
BIOBANQUE NORD CHU Hôpital Nord Pr Martin
TUMOROTHEQUE SUD CLCC Institut Sud Dr Durand
CRB EST Clinique Est Pr Petit
"""


def test_biobank_tables_are_found_by_the_plain_words_of_either_language() -> None:
    banks = {b.name: b.establishment for b in facts_of(BIOBANKS) if isinstance(b, Biobank)}
    assert banks == {
        "BIOBANQUE NORD": "CHU Hôpital Nord",
        "TUMOROTHEQUE SUD": "CLCC Institut Sud",
        "CRB EST": "Clinique Est",
    }
    # A table of something else, with the same shape, holds no biobank.
    other = BIOBANKS.replace("Biobanques du réseau", "Plateformes").replace("Nom ", "Plateforme ")
    assert not [b for b in facts_of(other) if isinstance(b, Biobank)]


FIGURES = """Institut Régional d'Oncologie

L'Institut Régional d'Oncologie (IRO) fédère les équipes de la région.

312
Nombre de patients inclus

5,2
Effet levier sur la période

Il a obtenu 9,4 M€ pour 1,8 M€ investis.
"""


def test_key_figures_follow_the_profiles_labels_and_sentences() -> None:
    neutral = facts_of(FIGURES)
    figures = [f for f in neutral if isinstance(f, Figure)]
    # The subject is the name the document defines with an acronym, with no profile.
    assert [(f.subject, f.value_text) for f in figures] == [
        ("Institut Régional d'Oncologie", "312")
    ]
    assert not [f for f in neutral if isinstance(f, Funding)]
    profile = CorpusProfile.model_validate(
        {
            "figures": {
                "labels": "^(?:Nombre d|Effet levier)",
                "leverage": [r"(?P<raised>[\d,]+ M€) pour (?P<invested>[\d,]+ M€) investis"],
            }
        }
    )
    known = facts_of(FIGURES, profile)
    assert [f.value_text for f in known if isinstance(f, Figure)] == ["312", "5,2"]
    funds = {(f.kind, f.amount_text) for f in known if isinstance(f, Funding)}
    assert funds == {("funds_raised", "9,4 M€"), ("investment", "1,8 M€")}


def test_prompts_say_what_the_profile_covers() -> None:
    neutral = Prompts.load(ROOT / "prompts")
    assert "{covers}" not in neutral.say("en", "no_answer.default")
    assert "the documents I have been given" in neutral.say("en", "no_answer.default")
    profile = CorpusProfile.model_validate(
        {
            "covers": {"fr": "le Réseau Sud", "en": "the Southern Network"},
            "prompts": {"en": {"widget.title": "Southern Network assistant"}},
        }
    )
    prompts = Prompts.load(ROOT / "prompts", profile)
    assert "the Southern Network" in prompts.say("en", "no_answer.default")
    assert "le Réseau Sud" in prompts.say("fr", "llm.system")
    assert prompts.say("en", "widget.title") == "Southern Network assistant"
    assert prompts.say("fr", "widget.title") == neutral.say("fr", "widget.title")
    wrong = CorpusProfile.model_validate({"prompts": {"en": {"widget.titel": "x"}}})
    with pytest.raises(ProfileError, match=r"widget\.titel"):
        Prompts.load(ROOT / "prompts", wrong)
    # A placeholder the sentence is never given would fail when it is said: refused at load.
    unknown = CorpusProfile.model_validate({"prompts": {"en": {"widget.welcome": "Ask {them}"}}})
    with pytest.raises(ProfileError, match="them"):
        Prompts.load(ROOT / "prompts", unknown)
