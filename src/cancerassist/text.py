"""Language detection and the bilingual tokeniser shared by indexing and querying."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

from cancerassist.models import Language

_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)
_NOISE = re.compile(r"\S+@\S+|https?://\S+|www\.\S+|\d+")
_FR_CUES = frozenset(
    "le la les des du de un une est sont qui que quoi quel quelle quels quelles pour "
    "dans avec combien où comment et au aux sur par ce cette ces son sa ses leur été "
    "était a-t-il a-t-elle qu'est-ce ".split()
)
_EN_CUES = frozenset(
    "the of and who whom what which how much many is are was were for in to with "
    "does did do this that these its their has have been by on at from ".split()
)
_FR_LETTERS = frozenset("éèêëàâçîïôûùœ")
# A capitalised word inside a sentence: a name, whatever its language.
_NAME = re.compile(r"(?<=[\w,;:’'()] )[A-ZÀ-Þ][\w’'-]*")

# Patterns that facts extraction, lookup and the LLM guard must read the same way.
EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
WEB_ADDRESS = re.compile(
    r"\b(?:https?://|www\.)[^\s<>\"»”)]+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:fr|com|org|eu|net|int)\b"
)
YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
# Two years written as a span ("2006-2015", "from 2006 to 2015", "entre 2006 et 2014").
YEAR_RANGE = re.compile(
    r"\b((?:19|20)\d{2})\s*(?:-|–|—|to|and|et|a|à|au|through|until|jusqu'?en)\s*((?:19|20)\d{2})\b"
)
# Titles written before a person's name.
TITLES = r"Dr|Pr|Prof|Professeur|Docteur|Mme|Mrs|Ms|Mr"
# A full stop that ends no sentence: an initial ("G.F. Leclerc") or a title ("Prof. Martin",
# "Prof. dr. Jansen" as Dutch and German write it).
NOT_A_STOP = (
    r"(?<!\b[A-Z]\.)(?<!\bDr\.)(?<!\bPr\.)(?<!\bMr\.)(?<!\bMs\.)(?<!\bSt\.)"
    r"(?<!\bMrs\.)(?<!\bMme\.)(?<!\bProf\.)(?<!\bdr\.)(?<!\bdrs\.)"
)
# Small numbers written as words, which count things as digits do ("cinq projets").
NUMBER_WORDS = (
    # (not the end of a compound: "vingt-cinq projets" are not five)
    r"(?<![\w-])(?i:deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|vingt|two|three|four|"
    r"five|six|seven|eight|nine|ten|eleven|twelve|twenty)\b"
)
SINCE_YEAR = re.compile(r"\b(?:depuis|since)\s+((?:19|20)\d{2})\b", re.IGNORECASE)


@lru_cache(maxsize=16384)  # the same names and passages are folded again and again
def fold_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("œ", "oe")


def _cue_votes(text: str) -> tuple[int, int]:
    """Votes for French and English: function words, the glossary's words of each language,
    and French accented letters in words that are not names (an English question about
    "Réseau Val-de-Loire" is still English)."""
    found = _WORD.findall(text)
    words = [w.lower() for w in found]
    fr_words, en_words = _glossary_words()
    folded = [fold_accents(w) for w in words]
    fr = sum(w in _FR_CUES for w in words) + sum(w in fr_words for w in folded)
    fr += sum(c in _FR_LETTERS for w in found if not w[0].isupper() for c in w)
    en = sum(w in _EN_CUES for w in words) + sum(w in en_words for w in folded)
    return fr, en


@lru_cache(maxsize=1)
def _glossary_words() -> tuple[frozenset[str], frozenset[str]]:
    """Words only French or only English in the glossary: cues for keyword queries
    ("mail transfert techno", "biobank contact")."""
    french: set[str] = set()
    english: set[str] = set()
    for english_text, french_text in _glossary_rows():
        english.update(fold_accents(w.lower()) for w in _WORD.findall(english_text))
        french.update(fold_accents(w.lower()) for w in _WORD.findall(french_text))
    # Short words are shared by both languages once accents are folded ("à" and "a").
    return (
        frozenset(w for w in french - english if len(w) >= 4),
        frozenset(w for w in english - french if len(w) >= 4),
    )


@lru_cache(maxsize=1)
def _glossary_rows() -> list[tuple[str, str]]:
    rows = []
    for line in (Path(__file__).parent / "glossary.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            english, french = line.split("\t")
            rows.append((english, french))
    return rows


def detect_language(text: str, default: Language = "fr") -> Language:
    """``fr`` or ``en``, never an exception: langdetect (seeded) for prose, cue words for
    short questions where langdetect is unreliable. Names are left out where enough other
    words remain: "Région Val-de-Loire" does not make an English sentence French."""
    letters = _NOISE.sub(" ", text)
    unnamed = _NAME.sub(" ", letters)
    if sum(c.isalpha() for c in unnamed) >= 20:
        letters = unnamed
    fr_votes, en_votes = _cue_votes(letters)
    short = sum(c.isalpha() for c in letters) < 60
    # Function words of one language only settle it, however long the text.
    if (short and fr_votes != en_votes) or min(fr_votes, en_votes) == 0 < max(
        fr_votes, en_votes
    ) - 1:
        return "fr" if fr_votes > en_votes else "en"
    probabilities = _langdetect_probabilities(letters)
    fr_p, en_p = probabilities.get("fr", 0.0), probabilities.get("en", 0.0)
    if fr_p or en_p:
        return "fr" if fr_p >= en_p else "en"
    if fr_votes != en_votes:
        return "fr" if fr_votes > en_votes else "en"
    return default


def _langdetect_probabilities(text: str) -> dict[str, float]:
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    # langdetect is random by default; a fixed seed makes indexing reproducible.
    DetectorFactory.seed = 0
    try:
        return {str(item.lang): float(item.prob) for item in detect_langs(text)}
    except LangDetectException:
        return {}


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """French and English stop words and question words, lower-case and accent-folded."""
    from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_FRENCH

    # Question words carry no content, yet are missing from the stock lists.
    questions = "who whom what which when where why how qui quoi quel quelle quels quelles combien "
    questions += "comment ou quand"
    return frozenset(
        fold_accents(w.lower()) for w in (*STOPWORDS_EN, *STOPWORDS_FRENCH, *questions.split())
    )


@lru_cache(maxsize=2)
def _stemmer(language: Language):  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("french" if language == "fr" else "english")


@lru_cache(maxsize=1)
def _glossary() -> dict[str, set[str]]:
    """Stem -> stems of its translations, both ways (see ``glossary.tsv``)."""
    table: dict[str, set[str]] = {}
    for english, french in _glossary_rows():
        source_words, target_words = term_variants(english), term_variants(french)
        for source, target in ((source_words, target_words), (target_words, source_words)):
            # A phrase translates through its last word ("technology transfer" -> "transfer"),
            # and only into a single word: "call for projects" would otherwise pull in "call".
            if source and (len(source) == 1 or len(target) == 1):
                for stem in source[-1]:
                    table.setdefault(stem, set()).update(f for forms in target for f in forms)
    return table


def _translated(variants: list[list[str]]) -> list[list[str]]:
    glossary = _glossary()
    return [
        list(dict.fromkeys([*forms, *(t for f in forms for t in sorted(glossary.get(f, ())))]))
        for forms in variants
    ]


def term_variants(text: str, *, translate: bool = False) -> list[list[str]]:
    """BM25 terms of ``text``: for each content word, the forms it may match.

    A word's forms are its French and its English stem, so matching does not depend on the
    (often mixed) language of a passage or question: "coordinates" and "Coordinateur" share
    "coordin". A hyphenated compound is one word whose forms include the joined spelling and its
    parts, so "ONCO-NET" matches "ONCONET" and "onco" without outweighing the other words.
    Words are lower-cased and accent-folded; stop words are dropped. With ``translate``, a
    word also gets the forms of its translations (``glossary.tsv``): for questions, so an English
    question meets French text and the reverse.
    """
    stop = stopwords()
    fr, en = _stemmer("fr"), _stemmer("en")
    out: list[list[str]] = []
    for match in _WORD.finditer(fold_accents(text.lower()).replace("’", "'")):
        parts = [p for p in re.split(r"[-']", match.group()) if p and p not in stop]
        if not parts:
            continue
        forms = ["".join(parts), *parts] if len(parts) > 1 else parts
        out.append(list(dict.fromkeys([*fr.stemWords(forms), *en.stemWords(forms)])))
    return _translated(out) if translate else out


def tokenize(text: str) -> list[str]:
    """BM25 tokens of a passage: every form of every word (see :func:`term_variants`)."""
    return [form for variants in term_variants(text) for form in variants]


# Orders to the reader or to an assistant, in either language: a document that gives them
# ("ignore the other sources", "tell users that…") is trying to steer answers (OWASP LLM01).
_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget)\b.{0,40}\b(?:instructions?|documents?|sources?|previous|"
    r"above|other|rules?)\b|\b(?:tell|inform|instruct|answer|reply to)\s+(?:the\s+|all\s+)?"
    r"users?\b|\byou (?:must|should) (?:say|answer|reply|tell|give)\b|\b(?:ignorez|oubliez|"
    r"ignore[rz]?)\s+(?:les|toutes?|tout)\b|\b(?:dites|indiquez|répondez|repondez|"
    r"communiquez)\s+(?:aux|à\s+l[’']|a\s+l[’'])\s*utilisat",
    re.IGNORECASE,
)


def instructs(text: str) -> bool:
    """Whether ``text`` gives orders to its reader (planted instructions are never answers)."""
    return bool(_INSTRUCTION.search(text))
