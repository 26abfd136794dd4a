"""What is specific to one collection of documents, kept as validated data next to it.

The engine names no organisation, heading or phrase of any corpus. A collection's boilerplate
lines, the heading words that mark its contact, people and biobank lists, the labels of its key
figures, the other names of what it names, the example questions of its demo page, the sentences
that say what the assistant covers and the thresholds tuned on it live in ``profile.toml`` in the
corpus directory (or the file ``CANCERASSIST_PROFILE_PATH`` names). Every field has a neutral
default, so a folder of new documents works with no profile at all.

Example::

    profile = load_profile(Path("corpus/profile.toml"))
    profile.is_boilerplate("Aller au contenu principal")  # True: a default pattern
    profile.covers_in("en")  # what the assistant says it covers
"""

from __future__ import annotations

import re
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cancerassist.models import ContactPurpose, Language

PROFILE_FILE = "profile.toml"

# Navigation text every website export carries: it says nothing and duplicates titles.
GENERIC_BOILERPLATE = (
    r"Aller au contenu\b",
    r"Skip to (?:main )?content\b",
    r"Lire la suite\b",
    r"\[\s*Lire la suite\b",
    r"Read more\b",
    r"Continue reading\b",
    r"Continuer la lecture\b",
    r"Retour en haut\b",
    r"Back to top\b",
)


NEUTRAL_COVERS: dict[Language, str] = {
    "fr": "les documents qui m’ont été confiés",
    "en": "the documents I have been given",
}


class ProfileError(ValueError):
    """The profile file cannot be read or does not validate; the message names the field."""


def _compiles(patterns: list[str]) -> list[str]:
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {pattern!r} ({exc})") from exc
    return patterns


_HEADING_WORDS: dict[str, Any] = tomllib.loads(
    Path(__file__).with_name("heading_words.toml").read_text(encoding="utf-8")
)


class HeadingWords(BaseModel):
    """Words (regular expressions, case-insensitive) of the section headings under which a
    list or table holds one kind of fact. The defaults are the plain words of each kind in
    French and English."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The neutral words (heading_words.toml, data beside the code like questions.toml).
    # Contacts listed under such a heading are given that purpose.
    purposes: dict[ContactPurpose, str] = Field(
        default_factory=lambda: dict(_HEADING_WORDS["purposes"])
    )
    people: str = Field(default_factory=lambda: str(_HEADING_WORDS["people"]))
    # Lists of the members of a network or the partners of a project.
    members: str = Field(default_factory=lambda: str(_HEADING_WORDS["members"]))
    biobanks: str = Field(default_factory=lambda: str(_HEADING_WORDS["biobanks"]))
    # Header words of table columns, by the field each column holds.
    columns: dict[str, str] = Field(default_factory=lambda: dict(_HEADING_WORDS["columns"]))

    @field_validator("people", "members", "biobanks")
    @classmethod
    def _pattern(cls, value: str) -> str:
        return _compiles([value])[0]

    @field_validator("purposes", "columns")
    @classmethod
    def _patterns(cls, value: dict[str, str]) -> dict[str, str]:
        _compiles(list(value.values()))
        return value


class Figures(BaseModel):
    """Key figures printed as a bare number above its label ("284" / "Number of patients")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Labels that say what a bare figure counts; other pairings of scattered figure boxes and
    # captions are too unreliable to state as facts.
    labels: str = r"^(?:Nombre d|Number of)"
    # Who a figure belongs to: by default, the names a document introduces with an acronym
    # ("Institut X (IX)"); a pattern with groups ``name`` and ``acronym`` narrows that.
    subjects: str | None = None
    # Sentences that state funds raised for an investment: groups ``raised`` and ``invested``.
    leverage: list[str] = []

    @field_validator("labels")
    @classmethod
    def _pattern(cls, value: str) -> str:
        return _compiles([value])[0]

    @field_validator("leverage")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        return _compiles(value)


class CorpusProfile(BaseModel):
    """A collection's specifics. Fields left out take their neutral default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    # Lines (regular expressions anchored at the line start, case-insensitive) that carry no
    # content, on top of GENERIC_BOILERPLATE.
    boilerplate: list[str] = []
    headings: HeadingWords = HeadingWords()
    figures: Figures = Figures()
    # Acronyms that open an establishment's name in a table row ("CHU Hôpital X"): by default
    # the kinds of French public hospital (university, regional, cancer centre, group).
    establishment_prefixes: list[str] = ["CHU", "CHRU", "CLCC", "GH"]
    # Organisations a person may be affiliated to when a list writes only their name.
    affiliations: list[str] = []
    aliases: dict[str, list[str]] = Field(default={}, description="Other names of an entity")
    # Where a phone number written without its country code is dialled, for a document whose
    # e-mail and web addresses do not say (their country domain decides otherwise).
    phone_region: str = "FR"
    # What the assistant covers, as the prompts' {covers} puts it ("I can help with {covers}").
    covers: dict[Language, str] = {}
    # Sentences of prompts/{fr,en}.toml replaced for this collection, by key ("widget.title").
    prompts: dict[Language, dict[str, str]] = {}
    # Example questions for the demo page (its paragraph is the prompt "demo.about").
    examples: dict[Language, list[str]] = {}
    # Points (coverage of the question's weighted words, cosine similarity of the passage) at
    # which retrieved evidence supports an answer: well covered, or less covered but very close;
    # and, when the sentence is in the other language, these points too. Fitted on the dev
    # questions (eval/gold.jsonl, eval/blind.jsonl, eval/unseen/) by recording each answer's
    # best evidence and counting the answers right at each point; not on eval/blind2.jsonl.
    evidence_thresholds: list[tuple[float, float]] = [(0.35, 0.78), (0.2, 0.84)]
    cross_language_thresholds: list[tuple[float, float]] = [(0.2, 0.845)]

    @field_validator("boilerplate")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        # Checked as they will run: joined into one pattern (a global flag such as "(?i)"
        # is valid alone, not inside the alternation).
        _compiles(["^(?:" + "|".join([*GENERIC_BOILERPLATE, *value]) + ")"])
        return _compiles(value)

    @cached_property
    def _boilerplate(self) -> re.Pattern[str]:
        patterns = [*GENERIC_BOILERPLATE, *self.boilerplate]
        return re.compile("^(?:" + "|".join(patterns) + ")", re.IGNORECASE)

    def is_boilerplate(self, line: str) -> bool:
        return bool(self._boilerplate.match(line.strip()))

    def purpose_of(self, heading: str) -> ContactPurpose | None:
        """The purpose of the contacts listed under ``heading``, if its words say one."""
        return next(
            (
                purpose
                for purpose, pattern in self.headings.purposes.items()
                if re.search(pattern, heading, re.IGNORECASE)
            ),
            None,
        )

    def covers_in(self, language: Language) -> str:
        return self.covers.get(language) or NEUTRAL_COVERS[language]

    def warm_up_questions(self) -> list[str]:
        """A question per language to run once on a new index, before a user pays for it."""
        return [questions[0] for questions in self.examples.values() if questions]


NEUTRAL = CorpusProfile()


def profile_path(corpus_dir: Path, explicit: Path | None = None) -> Path:
    return explicit if explicit is not None else corpus_dir / PROFILE_FILE


def load_profile(path: Path) -> CorpusProfile:
    """The profile in ``path``; the neutral one when the file does not exist."""
    if not path.exists():
        return CorpusProfile()
    try:
        with path.open("rb") as f:
            return CorpusProfile.model_validate(tomllib.load(f))
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML ({exc})") from exc
    except ValidationError as exc:
        fields = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise ProfileError(f"{path}: {fields}") from exc
