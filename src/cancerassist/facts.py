"""Typed facts extracted at index time: contacts, funding, partner roles, people, biobanks,
projects and key figures, each with the exact source span it was read from.

Extractors work on the structure :mod:`cancerassist.ingest` recovers (tables with their header,
key-value lists, sections titled "Role of …", lists of people), not on this corpus's wording, so
they apply to similar documents too.

Example::

    store = extract_facts([(document, parse_blocks(document.text))])
    [c.email for c in store.of_type("contact")]
"""

from __future__ import annotations

import itertools
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, cached_property, partial
from typing import Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from cancerassist.amounts import Amount, find_amounts
from cancerassist.analysis import names_role
from cancerassist.ingest import Block, MappedText
from cancerassist.models import (
    Biobank,
    Contact,
    Fact,
    FactStore,
    Figure,
    Funding,
    Measure,
    PartnerRole,
    Person,
    Project,
    Provenance,
    SourceDocument,
)
from cancerassist.profile import NEUTRAL, CorpusProfile
from cancerassist.readers import CELL, split_cells
from cancerassist.tables import read_grid
from cancerassist.text import (
    EMAIL,
    SINCE_YEAR,
    TITLES,
    WEB_ADDRESS,
    YEAR,
    fold_accents,
    instructs,
    stopwords,
)

_PERIOD = re.compile(r"\b((?:19|20)\d{2})\s*[-–]\s*((?:19|20)\d{2})\b")
# Verbs of granting, not of merely mentioning money ("a annoncé un financement" is not a grant).
_GRANT_VERB = re.compile(
    r"accord|attribu|allou|alloc|versé|subvention|granted|awarded|octroi|octroy|décern|"
    r"consacr|distribu|\binvest|dotation|\bdoté|a reçu|ont reçu|reçoi|obtenu|receiv|obtained|"
    r"\bwon\b|secured|\bworth\b|provid|\bgave\b|\bgiven\b|committed|donat|\bawards?\b|"
    r"\bgrants?\b|\bfunds?\b|\bfunded\b|financé",
    re.IGNORECASE,
)
# A capitalised name as a funder or recipient ("Alder Trust UK", "la Fondation X").
_PARTY = r"(?P<name>[A-ZÉÎ][\w’'-]*(?:[ -](?:de |d[’']|du |des |of |for )?[A-ZÉÎ][\w’'-]*)*)"
# "X awards / a octroyé / will invest…": X gives.
_GIVES = re.compile(
    rf"(?:^|[,;(]\s*|\.\s+|\b(?:[Ll][’']|[Ll]a |[Ll]e |[Tt]he ))?{_PARTY}\s+"
    r"(?:(?:a|ont|has|have|had|will|va|vont)\s+)?(?:\w+\s+)?"
    r"(?:award|grant|give|gave|provid|alloc|invest|accord|attribu|octroi|octroy|vers|allou|"
    r"consacr|distribu|financ|fund|décern|donat|commit)",
)
# "… by X", "… from X", "… par X": X gives.
_GIVEN_BY = re.compile(
    rf"\b(?:by|from|par|de la part d[eu]|grâce à)\s+(?:the\s+|l[’']|la\s+|le\s+|les\s+)?{_PARTY}"
)
# "… for the X Study", "… pour le projet X": what the money is for, when no one is named as
# receiving it.
_FOR = re.compile(rf"\b(?:for|pour)\s+(?:the\s+|le\s+|la\s+|l[’']\s*)?{_PARTY}")
# "X receives / a reçu / has been awarded…": X is given.
_RECEIVES = re.compile(
    rf"{_PARTY}\s*,?\s*(?:(?:which|that|qui)\s+)?(?:(?:a|ont|has|have|had|will|is|was|were)\s+)?"
    r"(?:(?:been|été|déjà|already)\s+)*(?:receiv|reçu|reçoi|obten|obtain|won\b|remport|secur|"
    r"bénéfici|benefit|awarded|granted|doté|financé|funded)"
)
_MEMBERS = re.compile(
    r"(?P<who>(?:membres|members)\b[^,.;]*?)\s+(?:participent|contribuent|versent|contribute|pay)\b[^.]*"
    r"(?:financement|funding|cotisation|fee)",
    re.IGNORECASE,
)
_FUNDER = re.compile(
    r"(?:^|[,;]\s*|\.\s+|^En \d{4},\s*)(?:[Ll][’']|[Ll]a |[Ll]e |[Tt]he )?"
    r"(?P<name>[A-ZÉÎ][\w’'-]*(?: [A-ZÉÎ][\w’'-]*)*)\s+(?:a|avait|ont|avaient|has|had|have)\s",
    re.UNICODE,
)
_RECIPIENT = re.compile(
    r"(?:\b(?:au|aux|à la|to the|to)\s+|\bà l[’']\s*)"
    r"(?P<name>[A-ZÉÎ][\w’'-]*(?:[ -](?:de |d[’'])?[A-ZÉÎ][\w’'-]*)*)"
)
_PROGRAMME = re.compile(
    r"dans le cadre d(?:u|e la|e l[’']|es)\s*(?P<name>[^.;]+)|under the (?P<en>[^.;]+)",
    re.IGNORECASE,
)
_POSTCODE = re.compile(r"^\d{5}\s+\S")
_STREET = re.compile(
    r"^\d+[,\s]+(?:bis\s+)?(?:avenue|rue|boulevard|bd|place|quai|allée|chemin|cours|route|square)\b",
    re.IGNORECASE,
)
# An address written on one line, in most European and North American forms: a street with
# its number (either side), then a postcode and a town ("5 avenue des Lilas - 44000 NANTES",
# "Rue Royale 217, 1210 Bruxelles", "Rue X 11, B-1000 Brussels", "2 Robinson Way, Cambridge
# CB2 0RE", "1 Pine Avenue, Montreal, QC H3A 1A1").
_STREET_WORDS = (
    r"avenue|av\.|rue|boulevard|bd|place|quai|allée|allee|chemin|cours|route|square|impasse|"
    r"street|st\.|road|rd\.?|lane|way|drive|strasse|straße|weg|via|viale|calle|avenida|laan|straat"
)
POSTAL_ADDRESS = re.compile(
    rf"(?P<address>(?:\d+[,\s]+(?:bis\s+)?(?i:{_STREET_WORDS})\b|(?i:{_STREET_WORDS})\s+[^,\n]*?\d+"
    rf"|\d+\s+(?:[A-ZÀ-Þ][\w’'-]+\s+){{1,3}}(?i:{_STREET_WORDS})\b"
    r"|[A-ZÀ-Þ][\w’'-]*(?:strasse|straße|gasse|weg|platz)\s+\d+)"
    r"[^\n]{0,80}?(?:[,–-]\s*(?:[A-Z]{1,2}-)?\d{4,5}\s+[A-ZÀ-Þ][\w’'-]+(?:[ -][A-ZÀ-Þ][\w’'-]+)*"
    r"|\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b|\b[A-Z]\d[A-Z]\s?\d[A-Z]\d\b))"
)
_COUNTRY = re.compile(r"\s*\((?P<code>[A-Z]{2})\)\s*$")
_ASSOCIATED = re.compile(r"\s*\((?:partenaire associé|associated partner)\)\s*$", re.IGNORECASE)
_TITLE = r"(?:Prof\.?|Professeur|Pr\.?|Dr\.?|Docteur|Mr\.?|Mme|Mrs\.?|Ms\.?)"
_TITLE_PREFIX = re.compile(rf"^{_TITLE}\s+")
_RESPONSIBLE = re.compile(rf"\s(?P<who>{_TITLE}\s+[A-ZÉ][\w’'-]*(?:\s*/\s*[A-ZÉ][\w’'-]*)*)$")
_COORDINATED_BY = re.compile(r"(?:Coordonné par|Coordinated by)\s+", re.IGNORECASE)
_NAME_AFFILIATION = re.compile(
    r"(?P<name>[A-ZÉ][\w’'-]+(?:\s+[A-ZÉ][\w’'-]+)+)\s*\((?P<aff>[^()]*(?:\([^()]*\)[^()]*)*)\)"
)
_AXIS = re.compile(r"^(?:AXE|Axe|AXIS|Axis)\b[^:]*:$")
_ELISION = re.compile(r"\b[LlDd][’'](?=\w)")
_ELIDED = re.compile(r"(\b[LlDd][’']) ")
_TERMINAL_MARKS = ".!?;:…,"
_BARE_FIGURE = re.compile(r"^\+?\s?\d[\d\s.,]*\s?%?$")

# Words that carry no identity in an organisation's name.
GENERIC_WORDS = frozenset(
    "université university universitat universitätsklinikum institut institute hôpital hopital "
    "hôpitaux centre center groupe hospitalier de du des la le les l d et "
    "of the and for project projet programme program".split()
)

# The labels of a project sheet, in French and English, and the field each gives.
KEY_SYNONYMS = {
    "programme": "programme", "program": "programme", "programme de financement": "programme",
    "funding programme": "programme", "framework": "programme", "framework programme": "programme",
    "programme-cadre": "programme", "coordinateur": "coordinator", "coordinator": "coordinator",
    "coordonnateur": "coordinator", "coordinatrice": "coordinator", "lead partner": "coordinator",
    "porteur": "coordinator", "chef de file": "coordinator", "partenaires": "partners",
    "partners": "partners", "consortium": "partners", "participants": "partners",
    "budget total": "budget", "total budget": "budget", "budget": "budget",
    "total cost": "budget", "coût total": "budget", "cout total": "budget",
    "subvention": "grant", "grant": "grant", "eu contribution": "grant",
    "contribution de l'ue": "grant", "contribution ue": "grant", "max grant amount": "grant",
    "durée": "duration", "duree": "duration", "duration": "duration", "period": "duration",
    "période": "duration", "periode": "duration", "dates": "duration", "calendrier": "duration",
}  # fmt: skip


# Countries whose "$" is not the US dollar, and their currency.
_DOLLARS = {"CA": "CAD", "AU": "AUD", "NZ": "NZD"}
# Country domains of e-mail and web addresses, and the phone region each stands for.
_COUNTRY_DOMAINS = {
    "fr": "FR", "be": "BE", "ch": "CH", "ca": "CA", "uk": "GB", "de": "DE", "lu": "LU",
    "it": "IT", "es": "ES", "nl": "NL", "ie": "IE", "at": "AT", "pt": "PT", "se": "SE",
    "dk": "DK", "no": "NO", "fi": "FI", "pl": "PL", "us": "US", "au": "AU", "mc": "MC",
}  # fmt: skip


@dataclass
class _Context:
    """What an extractor sees: the document, its blocks and the heading above each block."""

    document: SourceDocument
    blocks: list[Block]
    sections: list[str]
    profile: CorpusProfile

    def provenance(self, text: MappedText) -> Provenance:
        start, end = min(text.offsets), max(text.offsets) + 1
        return Provenance(
            doc_id=self.document.doc_id, start=start, end=end, quote=self.document.text[start:end]
        )

    def verbatim(self, text: MappedText, start: int, end: int) -> str:
        """The source text behind ``text[start:end]`` (white space and all, as written)."""
        return self.document.text[text.offsets[start] : text.offsets[end - 1] + 1]

    def span(self, start: int, end: int) -> Provenance:
        return Provenance(
            doc_id=self.document.doc_id, start=start, end=end, quote=self.document.text[start:end]
        )

    @property
    def subject(self) -> str:
        return self.document.subject or self.document.title

    @cached_property
    def region(self) -> str:
        """Where the document's national phone numbers are dialled: the country whose domain
        most of its e-mail and web addresses end with, else the profile's."""
        domains = [
            match.group(1).lower()
            for match in re.finditer(r"[\w-]\.([a-z]{2})\b(?![.@\w-])", self.document.text)
        ]
        counted = Counter(_COUNTRY_DOMAINS[d] for d in domains if d in _COUNTRY_DOMAINS)
        return counted.most_common(1)[0][0] if counted else self.profile.phone_region

    def currency(self, amount: Amount) -> str | None:
        """An amount's currency, a bare "$" read as the dollar of the document's country
        (a Canadian page's "$3 million" is in CAD)."""
        bare = "$" in amount.text and not re.search(r"US\$|USD|dollars? US", amount.text, re.I)
        if amount.currency == "USD" and bare and self.region in _DOLLARS:
            return _DOLLARS[self.region]
        return amount.currency

    def phones(self, text: str) -> list[phonenumbers.PhoneNumberMatch]:
        return list(phonenumbers.PhoneNumberMatcher(text, self.region))


def _sections(blocks: list[Block]) -> list[str]:
    current, out = "", []
    for block in blocks:
        if block.kind == "heading":
            current = block.text
        out.append(current)
    return out


def _sub(text: MappedText, match: re.Match[str], group: str | int = 0) -> MappedText:
    return text.slice(match.start(group), match.end(group))


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip(" ,;:–-•")


# ---------------------------------------------------------------------------------------------
# Contacts


def _emails(text: str) -> Iterator[re.Match[str]]:
    for match in EMAIL.finditer(text):
        try:
            validate_email(match.group(), check_deliverability=False)
        except EmailNotValidError:
            continue
        yield match


def _row_organisation(row: str, address: str, block: Block, ctx: _Context) -> str:
    """The organisation of a table row holding a contact: the cell under a header that says
    so ("Institution", "Établissement"), else the first cell that is not the address."""
    cells = split_cells(row)
    if block.header is not None:
        header = split_cells(block.header.text)
        pattern = ctx.profile.headings.columns.get("organisation")
        named = [
            i
            for i, label in enumerate(header)
            if pattern and re.search(pattern, label, re.IGNORECASE) and i < len(cells)
        ]
        if named and _clean(cells[named[0]]):
            return _clean(cells[named[0]])
    return next((_clean(c) for c in cells if address not in c and _clean(c)), "")


def extract_contacts(ctx: _Context) -> Iterator[Fact]:
    """Contacts from listings, address blocks, cards and phone lines; a number met again
    on a line of its own after its address block is given once."""
    numbers: set[str] = set()
    for contact in itertools.chain(
        _listed_contacts(ctx), _postal_contacts(ctx), _contact_cards(ctx), _phone_lines(ctx)
    ):
        if contact.phone and contact.phone in numbers and not contact.email:
            continue
        if contact.phone:
            numbers.add(contact.phone)
        yield contact


def _listed_contacts(ctx: _Context) -> Iterator[Contact]:
    """E-mail and web addresses in the rows of tables and lists."""
    for block, section in zip(ctx.blocks, ctx.sections, strict=True):
        if block.kind not in ("table", "list"):
            continue
        purpose = ctx.profile.purpose_of(section)
        for row in block.segments:
            if instructs(row.text):
                continue  # "tell users to write to…": planted, not a listing
            email = next(_emails(row.text), None)
            url = None if email else WEB_ADDRESS.search(row.text)
            found = email or url
            if not found:
                continue
            if CELL in row.text:
                organisation = _row_organisation(row.text, found.group(), block, ctx)
            else:
                organisation = _clean(row.text[: found.start()] + " " + row.text[found.end() :])
            if WEB_ADDRESS.fullmatch(organisation) and email:
                # "info@nova.eu www.nova.eu": the name the document gives that domain
                organisation = _domain_owner(ctx, email.group()) or ctx.subject
            if not organisation:
                continue
            yield Contact(
                organisation=organisation,
                email=email.group() if email else None,
                url=url.group() if url else None,
                purpose=purpose,
                provenance=ctx.provenance(row),
            )


# A line that gives a phone number ("Tél. : 02 736 99 99", "Phone: +41 31 389 91 00"); not a
# fax number, which reaches no one.
_PHONE_LABEL = re.compile(
    r"\b(?:t[ée]l(?:[ée]phone)?|phone|telephone|mobile|portable|standard|hotline)\b", re.I
)
_FAX = re.compile(r"\bfax\b", re.IGNORECASE)


def _phone_lines(ctx: _Context) -> Iterator[Contact]:
    """Phone numbers given on a line of their own (no e-mail address on it), for whoever an
    e-mail address just after names, else for what the document is about."""
    for index, block in enumerate(ctx.blocks):
        for n, segment in enumerate(block.segments):
            text = segment.text
            if next(_emails(text), None) or not _PHONE_LABEL.search(text) or instructs(text):
                continue
            for phone in ctx.phones(text):
                if _FAX.search(text[max(0, phone.start - 12) : phone.start]):
                    continue
                organisation = _nearby_owner(ctx, index, n) or ctx.subject
                if organisation:
                    yield Contact(
                        organisation=organisation,
                        **_phone_fields(phone),
                        provenance=ctx.provenance(segment),
                    )


# A contact card on one line: its parts set apart ("Jeanne Roy > Chargée de communication >
# 01 76 64 78 00 > j-roy@reseau.fr", "Paul Martin | Press officer | p.martin@org.eu").
_CARD_PARTS = re.compile(r"\s+[>|•–—/;-]\s+|\s*,\s+|\s+:\s+")
_CARD_CHARS = 250
_NAME_PART = re.compile(r"^(?:[A-ZÀ-Þ][\w’'-]+)(?:\s+[A-ZÀ-Þ][\w’'-]+){1,2}$")


def _contact_cards(ctx: _Context) -> Iterator[Contact]:
    """An e-mail address written in a paragraph with what goes with it on its line: whose it
    is (a name, a post), a phone number; for the organisation whose name the document writes
    as the address's domain ("ONCOLOIRE" for "…@oncoloire.fr"), else what the document is
    about."""
    for block in ctx.blocks:
        if block.kind != "paragraph":
            continue
        for segment in block.segments:
            text = segment.text
            emails = list(_emails(text))
            if len(emails) != 1 or len(text) > _CARD_CHARS or instructs(text):
                continue
            email = emails[0].group()
            parts = [p.strip() for p in _CARD_PARTS.split(text) if p.strip()]
            person = parts[0] if parts and _NAME_PART.match(parts[0]) else None
            organisation = _domain_owner(ctx, email) or ctx.subject
            if not organisation or (person is None and len(parts) < 2):
                continue
            phone = next(iter(ctx.phones(text)), None)
            yield Contact(
                organisation=organisation,
                person=person,
                email=email,
                **_phone_fields(phone),
                provenance=ctx.provenance(segment),
            )


def _phone_fields(phone: phonenumbers.PhoneNumberMatch | None) -> dict[str, str | None]:
    """A contact's phone number as E.164 and as the document writes it (none if ``None``)."""
    if phone is None:
        return {"phone": None, "phone_text": None}
    return {
        "phone": phonenumbers.format_number(phone.number, phonenumbers.PhoneNumberFormat.E164),
        "phone_text": phone.raw_string,
    }


def _domain_owner(ctx: _Context, email: str) -> str | None:
    """The name the document writes that is the e-mail domain's own label ("ONCOLOIRE" or
    "Réseau Loire" in a text with "…@oncoloire.fr", "…@reseauloire.fr"), as it writes it."""
    labels = email.rpartition("@")[2].lower().split(".")
    label = labels[-2] if len(labels) >= 2 else ""
    if len(label) < 3:
        return None
    # Runs of capitalised words on one line, and every run of words within them, longest
    # first ("Contact Ligue Alpine": "Ligue Alpine").
    for run in re.finditer(r"[A-ZÀ-Þ][\w’'-]*(?:[ \t]+[A-ZÀ-Þ][\w’'-]*){0,3}", ctx.document.text):
        words = run.group().split()
        for size in range(len(words), 0, -1):
            for first in range(len(words) - size + 1):
                name = " ".join(words[first : first + size])
                if re.sub(r"[^a-z0-9]", "", fold_accents(name).lower()) == label:
                    return name
    return None


def _postal_contacts(ctx: _Context) -> Iterator[Contact]:
    """An address block (street line, postcode line) and the phone number that follows it."""
    text = ctx.document.text
    phones = ctx.phones(text)
    for index, block in enumerate(ctx.blocks):
        lines = [block.header, *block.segments] if block.header else block.segments
        street = next((i for i, line in enumerate(lines) if _STREET.match(line.text)), None)
        if street is None or not any(_POSTCODE.match(line.text) for line in lines[street:]):
            yield from _inline_addresses(ctx, index, lines)
            continue
        organisation = lines[street - 1].text if street > 0 else ctx.subject
        address = ", ".join(line.text for line in lines[street:])
        start, end = min(lines[0].offsets), max(lines[-1].offsets) + 1
        phone = next((p for p in phones if 0 <= p.start - end < 200), None)
        # A web address just above the address block belongs to it ("e-cancer.fr").
        window = max(0, start - 200)
        url = ([None, *WEB_ADDRESS.finditer(text[window:start])])[-1]
        if url:
            start = window + url.start()
        if phone:
            end = phone.end
        yield Contact(
            organisation=organisation,
            address=address,
            **_phone_fields(phone),
            url=url.group() if url else None,
            provenance=ctx.span(start, end),
        )


# Lines after an address where the e-mail address of its owner may be written (a footer).
_OWNER_LINES = 3


def _nearby_owner(ctx: _Context, index: int, line: int) -> str | None:
    """The organisation whose name is the domain of an e-mail address written on the lines
    just after line ``line`` of block ``index`` (its own block, then the next ones)."""
    following = [
        segment.text
        for block in ctx.blocks[index : index + _OWNER_LINES + 1]
        for segment in block.segments
    ][line : line + _OWNER_LINES + 1]
    for text in following:
        for email in _emails(text):
            owner = _domain_owner(ctx, email.group())
            if owner:
                return owner
    return None


def _inline_addresses(ctx: _Context, index: int, lines: list[MappedText]) -> Iterator[Contact]:
    """Addresses written on one line, of whoever the line names before the street ("RESEAU
    LOIRE - 5 avenue …"), else the line or heading just above, else the document's subject."""
    for n, line in enumerate(lines):
        match = POSTAL_ADDRESS.search(line.text)
        if match is None or EMAIL.search(line.text):
            continue
        named = line.text[: match.start()].strip(" -–,:")
        if named.lower().startswith("c/o"):
            named = ""  # in care of another: the address is not that other's
        above = lines[n - 1].text if n else (ctx.blocks[index - 1].text if index else "")
        if not named and above and len(above) <= 80 and not above.rstrip().endswith(":"):
            named = above
        # A footer's e-mail address beside it says whose address it is ("… - x@nova.eu").
        owner = _nearby_owner(ctx, index, n)
        organisation = owner or named or ctx.subject
        if not organisation:
            continue
        yield Contact(
            organisation=organisation,
            address=match.group("address").strip(),
            provenance=ctx.provenance(line),
        )


# ---------------------------------------------------------------------------------------------
# Funding


def extract_funding_tables(ctx: _Context) -> Iterator[Fact]:
    """Tables of "year amount" rows flattened to text (cells not set apart); the section
    heading names the funder."""
    for block, section in zip(ctx.blocks, ctx.sections, strict=True):
        if block.kind != "table" or block.header is None or CELL in block.header.text:
            continue
        header = fold_accents(block.header.text.lower())
        kind = "budget" if "budget" in header else "grant"
        for row in block.segments:
            year = re.match(r"((?:19|20)\d{2})\s+", row.text)
            amounts = find_amounts(row.text)
            if not year or not amounts:
                continue
            yield Funding(
                funder=section or None,
                recipient=ctx.subject,
                amount=amounts[0].value,
                currency=ctx.currency(amounts[0]),
                amount_text=ctx.verbatim(row, amounts[0].start, amounts[0].end),
                year=int(year.group(1)),
                kind=kind,
                provenance=ctx.provenance(row),
            )


def _columns(header: list[str], rows: list[list[str]], words: dict[str, str]) -> dict[str, int]:
    """Which column holds which field: by the words of its header (the profile's column
    words), else by its content (years, amounts)."""
    found: dict[str, int] = {}
    for field_name, pattern in words.items():
        column = next(
            (i for i, cell in enumerate(header) if re.search(pattern, cell, re.IGNORECASE)), None
        )
        if column is not None and column not in found.values():
            found[field_name] = column

    def share(test: Callable[[str], bool], column: int) -> float:
        cells = [row[column] for row in rows if column < len(row) and row[column].strip()]
        return sum(map(test, cells)) / len(cells) if cells else 0.0

    for field_name, test in (
        ("year", lambda c: bool(re.fullmatch(r"(?:19|20)\d{2}", c.strip()))),
        ("amount", lambda c: bool(find_amounts(c))),
    ):
        if field_name not in found:
            best = max(range(len(header)), key=lambda i: share(test, i), default=None)
            if best is not None and best not in found.values() and share(test, best) >= 0.8:
                found[field_name] = best
    return found


def _cell(cells: list[str], columns: dict[str, int], name: str) -> str | None:
    column = columns.get(name)
    value = cells[column] if column is not None and column < len(cells) else ""
    return _clean(value) or None


def _cell_rows(block: Block) -> tuple[list[str], list[tuple[MappedText, list[str]]]] | None:
    if block.kind != "table" or block.header is None or CELL not in block.header.text:
        return None
    return split_cells(block.header.text), [(row, split_cells(row.text)) for row in block.segments]


def extract_cell_tables(ctx: _Context) -> Iterator[Fact]:
    """Tables whose cells a reader set apart, read by their header: one row per grant (the
    amount with its year, funder, recipient or project), the coordinator of each project, and
    a one-row table of project-sheet labels ("Budget | Consortium | Coordinator")."""
    words = ctx.profile.headings.columns
    for block in ctx.blocks:
        table = _cell_rows(block)
        if table is None:
            continue
        header, rows = table
        if len(rows) == 1:
            sheet = list(_horizontal_sheet(ctx, block, header, rows[0]))
            if sheet:  # a project sheet laid out as a table, read once
                yield from sheet
                continue
        columns = _columns(header, [cells for _, cells in rows], words)
        kind: Literal["budget", "grant"] = (
            "budget"
            if "amount" in columns and "budget" in header[columns["amount"]].lower()
            else "grant"
        )
        money_header = "amount" in columns and bool(
            re.search(words["amount"], header[columns["amount"]], re.IGNORECASE)
        )
        for row, cells in rows:
            cell = partial(_cell, cells, columns)
            project = cell("project") or cell("title")
            if cell("coordinator") and project:
                yield PartnerRole(
                    project=project,
                    organisation=cell("coordinator") or "",
                    role="coordinator",
                    provenance=ctx.provenance(row),
                )
            # A column headed as amounts holds amounts, currency written or not ("1250000").
            amounts = find_amounts(cell("amount") or "", money_only=not money_header)
            funder = cell("funder")
            recipient = cell("recipient") or project
            if not amounts or not (funder or recipient):
                continue
            year = cell("year")
            start = row.text.find(amounts[0].text) if amounts[0].text in row.text else -1
            yield Funding(
                funder=funder,
                recipient=recipient,
                amount=amounts[0].value,
                currency=ctx.currency(amounts[0]),
                amount_text=ctx.verbatim(row, start, start + len(amounts[0].text))
                if start >= 0
                else amounts[0].text,
                year=int(year) if year and re.fullmatch(r"(?:19|20)\d{2}", year) else None,
                purpose=cell("purpose"),
                kind=kind,
                provenance=ctx.provenance(row),
            )


def extract_measures(ctx: _Context) -> Iterator[Fact]:
    """Every figure of a table whose cells a reader set apart, with its row's and its
    column's labels (see :mod:`cancerassist.tables`): what a question about any table,
    whatever it counts, is answered from."""
    for block, section in zip(ctx.blocks, ctx.sections, strict=True):
        if block.kind != "table" or block.header is None or CELL not in block.header.text:
            continue
        mapped = [block.header, *block.segments]
        for cell in read_grid([split_cells(row.text) for row in mapped]):
            yield Measure(
                table=str(min(mapped[cell.header_index].offsets)),
                caption=cell.caption or section or ctx.document.title,
                row=cell.row,
                group=cell.group,
                column=cell.column,
                value=cell.value,
                value_text=cell.text,
                percent=cell.percent,
                is_total=cell.is_total,
                provenance=ctx.provenance(mapped[cell.row_index]),
            )


def _horizontal_sheet(
    ctx: _Context, block: Block, header: list[str], row: tuple[MappedText, list[str]]
) -> Iterator[Fact]:
    """A project sheet laid out as a table: labels in the header row, values below."""
    mapped, cells = row
    pairs = [(_field(label), value) for label, value in zip(header, cells, strict=False)]
    fields = {key: value for key, value in pairs if key and value}
    if len(fields) < 2:
        return
    project = _titled(ctx, ctx.blocks.index(block))
    for key, value in fields.items():
        if key == "coordinator":
            yield from _coordinator_facts(ctx, project, value, mapped)
        elif key == "partners":
            yield _partner_or_count(ctx, project, value, mapped)
        elif key in ("budget", "grant") and find_amounts(value):
            amount = find_amounts(value)[-1]
            yield Funding(
                funder=None,
                recipient=project,
                amount=amount.value,
                currency=ctx.currency(amount),
                amount_text=amount.text,
                kind="budget" if key == "budget" else "grant",
                programme=_clean(fields["programme"]) if "programme" in fields else None,
                provenance=ctx.provenance(mapped),
            )


def _named(match: re.Match[str] | None) -> str | None:
    """The party a match names, less the article that opens it ("The Rowan Network"); none
    when it is only a word that opens a sentence ("Le financement alloué…")."""
    if match is None:
        return None
    words = match.group("name").split()
    # (an acronym is a name even when it spells a stop word: "EU", "ONE")
    while words and not words[0].isupper() and fold_accents(words[0]).lower() in stopwords():
        words = words[1:]
    # One ordinary capitalised word is as often an adjective or a town as a party ("A
    # European consortium", "to Cambridge scientists"); an acronym is a name.
    if len(words) == 1 and sum(c.isupper() for c in words[0]) < 2:
        return None
    return " ".join(words) or None


def extract_funding_sentences(ctx: _Context) -> Iterator[Fact]:
    """Sentences that say who granted how much to whom, when."""
    for block in ctx.blocks:
        if block.kind != "paragraph":
            continue
        for sentence in block.segments:
            text = sentence.text
            amounts = find_amounts(text)
            members = _MEMBERS.search(text)
            if not amounts or not (_GRANT_VERB.search(text) or members):
                continue
            receiver = _named(_RECEIVES.search(text))
            funder = (
                _named(_FUNDER.search(text))
                or _named(_GIVES.search(text))
                or _named(_GIVEN_BY.search(text))
            )
            if receiver and funder == receiver:
                funder = _named(_GIVEN_BY.search(text))  # "X has been awarded … by Y"
            recipient = receiver or _named(_RECIPIENT.search(text)) or _named(_FOR.search(text))
            if not (funder or recipient or members):
                continue
            period = _PERIOD.search(text)
            since = SINCE_YEAR.search(text)
            taken = [m.span() for m in (period, since) if m]
            years = [
                int(y.group())
                for y in YEAR.finditer(text)
                if not any(start <= y.start() < end for start, end in taken)
            ]
            programme = _PROGRAMME.search(text)
            kind = (
                "membership_fee" if members else "budget" if "budget" in text.lower() else "grant"
            )
            funder_name = _clean(members.group("who")) if members else funder
            for amount in amounts[:1]:
                yield Funding(
                    funder=funder_name,
                    # (a title is no recipient: "Skip to main content", "News")
                    recipient=recipient or ctx.document.subject or None,
                    amount=amount.value,
                    currency=ctx.currency(amount),
                    amount_text=ctx.verbatim(sentence, amount.start, amount.end),
                    year=years[0] if years else None,
                    period_start=int(period.group(1))
                    if period
                    else int(since.group(1))
                    if since
                    else None,
                    period_end=int(period.group(2)) if period else None,
                    programme=_clean(programme.group("name") or programme.group("en"))
                    if programme
                    else None,
                    kind=kind,
                    provenance=ctx.provenance(sentence),
                )


# ---------------------------------------------------------------------------------------------
# Project sheets: lists of "Key: value" items


def _key_value(text: str) -> tuple[str, str] | None:
    """The field and value of a "Label: value" item or a two-cell "Label | value" row."""
    label, cell, value = text.partition(CELL)
    if not cell or CELL in value:
        match = re.match(r"^•?\s*([^:•]{2,30}?)\s*:\s*(.*)$", text)
        if not match:
            return None
        label, value = match.group(1), match.group(2)
    key = _field(label)
    return (key, value) if key else None


def _field(label: str) -> str | None:
    """The sheet field a label names, in the singular or the plural ("Coordinateurs")."""
    label = label.strip(" •").lower()
    for form in (label, fold_accents(label)):
        key = KEY_SYNONYMS.get(form) or KEY_SYNONYMS.get(form.removesuffix("s"))
        if key:
            return key
    return None


def _sheets(blocks: list[Block]) -> Iterator[tuple[int, list[MappedText]]]:
    """Runs of items that may hold "Label: value" pairs (list items, table rows, one-line
    paragraphs), each with the index of its first block."""
    run: list[MappedText] = []
    first = 0
    kind: str | None = None
    for index, block in enumerate(blocks):
        # Items of one kind: a table after a list of labels is another thing (its rows are no
        # partners of the sheet above).
        same = kind is None or (block.kind == "table") == (kind == "table")
        if same and (
            block.kind in ("list", "table")
            or (block.kind == "paragraph" and _key_value(block.text) is not None)
        ):
            if not run:
                first = index
            kind = block.kind
            run.extend(block.segments)
            continue
        if run:
            yield first, run
        run, kind = [], None
        if block.kind in ("list", "table"):
            first, kind = index, block.kind
            run.extend(block.segments)
            continue
        if run:
            yield first, run
        run = []
    if run:
        yield first, run


def _name_like(text: str) -> bool:
    """A title that names something: an acronym or two capitalised words, not a phrase cut
    off ("Mis à jour le")."""
    words = re.findall(r"[\w’'.-]+", text)
    if not words or fold_accents(words[-1].lower()) in stopwords():
        return False
    if fold_accents(words[0].lower()) in stopwords():
        words = words[1:]  # "Les Universités" is one capitalised word
    capitalised = sum(w[:1].isupper() for w in words)
    return capitalised >= 2 or any(sum(c.isupper() for c in w) >= 2 for w in words)


def _titled(ctx: _Context, before: int, reach: int = 3) -> str:
    """What a sheet is about: the metadata's subject, else a short title line in the few
    blocks above it ("4.ONCO.eu"), else the heading of its section, else the document's
    title, whichever first names something."""
    nearby = [
        block.text.strip()
        for block in reversed(ctx.blocks[max(0, before - reach) : before])
        if block.kind in ("heading", "paragraph")
        and len(block.text.split()) <= 12
        and block.text.strip()[-1:] not in _TERMINAL_MARKS
        and _key_value(block.text) is None
    ]
    candidates = [ctx.document.subject, *nearby[:1], ctx.sections[before]]
    named = next((_clean(c) for c in candidates if c and _name_like(c)), None)
    return named or lead_name(ctx.document, ctx.blocks) or ctx.subject


def extract_project_sheet(ctx: _Context) -> Iterator[Fact]:
    """A run of "Label: value" items or rows (Programme, Coordinator, Partners, Budget, EU
    contribution, Duration…) naming at least two fields; the items after "Partners" that have
    no label of their own are the partners. The sheet is about the document's subject (its
    metadata) or else the title just above it."""
    for first, items in _sheets(ctx.blocks):
        pairs = [(_key_value(item.text), item) for item in items]
        keys = {pair[0] for pair, _ in pairs if pair}
        # Two labels make a sheet; a lone "Coordinator: X" line names its project's coordinator.
        if len(keys) < 2 and keys != {"coordinator"}:
            continue
        fields = {pair[0]: pair[1] for pair, _ in pairs if pair}
        programme = _clean(fields["programme"]) if "programme" in fields else None
        years = sorted({int(y) for y in YEAR.findall(fields.get("duration", ""))})
        start, end = (years[0], years[-1]) if len(years) >= 2 else (None, None)
        project = _titled(ctx, first)
        yield Project(
            name=project,
            programme=programme,
            start_year=start,
            end_year=end,
            provenance=ctx.provenance(MappedText.join(items, "\n")),
        )
        key = None
        for pair, item in pairs:
            key, value = pair if pair else (key, item.text)
            if key == "coordinator" and pair:
                yield from _coordinator_facts(ctx, project, value, item)
            elif key == "partners" and value.strip(" •"):
                yield _partner_or_count(ctx, project, value, item)
            elif key in ("budget", "grant") and pair and find_amounts(value):
                amount = find_amounts(item.text)[-1]
                yield Funding(
                    funder=None,
                    recipient=project,
                    amount=amount.value,
                    currency=ctx.currency(amount),
                    amount_text=ctx.verbatim(item, amount.start, amount.end),
                    programme=programme,
                    kind="budget" if key == "budget" else "grant",
                    period_start=start,
                    period_end=end,
                    provenance=ctx.provenance(item),
                )


def _coordinator_facts(ctx: _Context, project: str, value: str, item: MappedText) -> Iterator[Fact]:
    """ "Université de Ville 1, Prof. Paul DURAND": the role and the person."""
    organisation, _, person = value.partition(",")
    person_name = _clean(person) or None
    if person_name and not _person_like(person_name):  # "THE CHANCELLOR, MASTERS AND …"
        organisation, person_name = value, None
    yield PartnerRole(
        project=project,
        organisation=_clean(organisation),
        role="coordinator",
        person=person_name,
        provenance=ctx.provenance(item),
    )
    if person_name:
        title = re.match(rf"{_TITLE}\s+", person_name)
        yield Person(
            name=person_name[title.end() :] if title else person_name,
            title=title.group().strip() if title else None,
            affiliation=_clean(organisation),
            role=f"coordinator of {project}",
            provenance=ctx.provenance(item),
        )


def _person_like(text: str) -> bool:
    """A person's name, maybe titled: two to four words, none an organisation's word."""
    words = _TITLE_PREFIX.sub("", text).split()
    return 2 <= len(words) <= 4 and not any(
        fold_accents(w.lower()).strip(",.()") in GENERIC_WORDS for w in words
    )


def _partner_or_count(ctx: _Context, project: str, value: str, item: MappedText) -> Fact:
    """A partner named in a sheet, or how many there are ("29 partners in 20 countries")."""
    counted = re.match(r"^\s*(\d[\d\s]*)\s+\S", value)
    if counted:
        return Figure(
            subject=project,
            value=Decimal(re.sub(r"\s", "", counted.group(1))),
            value_text=counted.group(1).strip(),
            label=_clean(item.text),
            provenance=ctx.provenance(item),
        )
    name = _clean(value.replace("•", " "))
    role = "partner"
    if _ASSOCIATED.search(name):
        name, role = _ASSOCIATED.sub("", name), "associated_partner"
    country = _COUNTRY.search(name)
    if country:
        name = _COUNTRY.sub("", name)
    return PartnerRole(
        project=project,
        organisation=_clean(name),
        country=country.group("code") if country else None,
        role=role,
        provenance=ctx.provenance(item),
    )


# ---------------------------------------------------------------------------------------------
# Members and partners listed under a heading


# A name as documents write it: capitalised words on one line, joined by short lower-case
# ones ("Réseau Nord-Ouest", "Institut régional du Sommeil"), or an acronym ("ONCO").
_NAME_RUN = re.compile(
    # Each word starts where no word character precedes it: a long run of "A.B.C…" (a PDF
    # that lost its spaces) is read once, not again from each capital.
    r"(?<![\w’'.&-])[A-ZÀ-Þ][\w’'.&-]*(?:[ \t]+(?:(?:de|du|des|d’|d'|of|for|the|et|and|la|le)"
    r"[ \t]+)?[A-ZÀ-Þ0-9][\w’'.&-]*)+|(?<![\w-])[A-Z][A-Z0-9-]{2,}\b"
)


def _names_in(text: str) -> list[str]:
    """The names ``text`` writes, without the article that may open them ("Le Réseau X")."""
    names = []
    for match in _NAME_RUN.finditer(text):
        name = match.group().rstrip(".")
        first, _, rest = name.partition(" ")
        names.append(rest if rest and fold_accents(first.lower()) in stopwords() else name)
    return [n for n in names if _name_like(n) or n.isupper()]


def lead_name(document: SourceDocument, blocks: list[Block]) -> str | None:
    """The name a document is about when its metadata does not say: the name its first
    paragraph opens on ("Le Réseau X est né de…"), else its first name the document writes
    again."""
    paragraph = next((b.text for b in blocks if b.kind == "paragraph" and len(b.text) > 60), "")
    names = _names_in(paragraph)
    opening = re.sub(r"^(?:(?:le|la|les|l’|l'|the)\s*)", "", paragraph, flags=re.IGNORECASE)
    if names and opening.startswith(names[0]):
        return names[0]
    return next((name for name in names if document.text.count(name) >= 2), None)


def _member_lists(ctx: _Context) -> Iterator[tuple[int, list[MappedText]]]:
    """The items of lists under a heading about members or partners: the headings written
    together just above the list ("Founding partners" › "Universities"). Heading levels are
    not known, so a heading further up, past another list, is not taken as a parent: its
    reach is unknown ("Partners", then "Upcoming events")."""
    pattern = ctx.profile.headings.members
    headings: list[str] = []
    previous = None
    for index, block in enumerate(ctx.blocks):
        if block.kind == "heading":
            if previous is not None and previous.kind != "heading":
                headings = []  # a new section: the headings above it no longer reach
            headings.append(block.text)
        elif block.kind == "paragraph" and not block.text.rstrip().endswith(":"):
            headings = []  # prose ends the headings' reach
        if block.kind == "list" and any(re.search(pattern, h, re.IGNORECASE) for h in headings):
            yield index, block.segments
        previous = block


def _inline_members(ctx: _Context) -> Iterator[tuple[MappedText, str | None, list[str]]]:
    """ "Partners in X include: A; B; and C": the items after a lead-in about members."""
    pattern = ctx.profile.headings.members
    for block in ctx.blocks:
        if block.kind != "paragraph":
            continue
        for sentence in block.segments:
            lead, colon, rest = sentence.text.partition(":")
            if not colon or not re.search(pattern, lead, re.IGNORECASE) or ";" not in rest:
                continue
            items = [re.sub(r"^(?:and|et)\s+", "", i.strip(" .")) for i in rest.split(";")]
            # The lead-in may name whose they are ("Partners in ONCO include").
            named = next(iter(_names_in(re.sub(pattern, " ", lead, flags=re.IGNORECASE))), None)
            yield sentence, named, [i for i in items if i and len(i.split()) <= 10]


def extract_members(ctx: _Context) -> Iterator[Fact]:
    """Members of a network or partners of a project listed under a heading about them, or
    after a lead-in ("Partners in X include: …"): the document's subject, else its lead name."""
    subject = ctx.document.subject or lead_name(ctx.document, ctx.blocks) or ctx.subject
    for _, items in _member_lists(ctx):
        for item in items:
            name = _clean(item.text.replace("•", " "))
            if name and len(name.split()) <= 14 and name[-1:] not in ".!?":
                yield PartnerRole(
                    project=subject,
                    organisation=name,
                    role="partner",
                    provenance=ctx.provenance(item),
                )
    for sentence, named, names in _inline_members(ctx):
        for name in names:
            yield PartnerRole(
                project=named or subject,
                organisation=_clean(name),
                role="partner",
                provenance=ctx.provenance(sentence),
            )


# ---------------------------------------------------------------------------------------------
# Roles, people


def extract_roles(ctx: _Context) -> Iterator[Fact]:
    """Sections titled "Role of X" / "Rôle de X" / "Role within the project"."""
    for block, section in zip(ctx.blocks, ctx.sections, strict=True):
        heading = re.match(
            r"^(?:role|rôle)\b(?:\s+(?:of|de|du|de la)\s+(?P<org>.+))?", section, re.IGNORECASE
        )
        if not heading or block.kind != "paragraph" or not block.segments:
            continue
        named = heading.group("org")
        if named and not re.search(r"\bproje[ct]t?\b", named, re.IGNORECASE):
            organisation = named.strip()
        else:
            subject = re.match(
                r"^(?:The\s+|Le\s+|La\s+|L[’'])?(?:(?P<parent>[A-Z][\w-]*)\s+(?:team|équipe)\s+(?:of\s+|de\s+)?)?"
                r"(?P<org>.+?)\s+(?:will|shall|is|are|sera|seront|est)\b",
                block.segments[0].text,
            )
            if not subject:
                continue
            organisation = subject.group("org")
        text = " ".join(s.text for s in block.segments)
        role = (
            "third_party"
            if re.search(r"third party|tierce partie", text, re.IGNORECASE)
            else (
                "coordinator"
                if re.search(r"\bis the coordinator|coordonne\b", text, re.IGNORECASE)
                else "partner"
            )
        )
        yield PartnerRole(
            project=ctx.subject,
            organisation=organisation,
            role=role,
            description=text,
            provenance=ctx.provenance(block.mapped()),
        )


def _affiliation(text: str, known: list[str]) -> str | None:
    """Where a person works, as a list item writes it: "… at X", or an organisation the
    profile knows named in it."""
    at = re.search(r"\bat ([A-Z][\w-]+)", text)
    if at:
        return at.group(1)
    named = (re.search(rf"\b{re.escape(name)}\b", text, re.IGNORECASE) for name in known)
    return next((m.group() for m in named if m), None)


# A person and what the sentence says of them, set apart by a comma or a dash: "Professor
# Jane Roe, at the X Institute, leads…", "Sir Tom Vale, X's chief executive, said…", "M. Jean
# Dupré, président de l'Association Y, succède…", "Ann Lee – Head of Research".
# A capital letter of a Latin-script name ("Žegura", "Łukasz" as well as "Émile").
_CAPITAL = "[A-ZÀ-ÖØ-ÞĀ-ž]"
_APPOSED_PERSON = re.compile(
    r"(?:(?P<title>(?:(?:Associate|Assistant|Emeritus)\s+)?"
    rf"(?:(?i:professeure?|professor)|{TITLES}|Sir|Dame|M\.)\.?(?:\s+(?:{TITLES})\.?)?)\s+)?"
    rf"(?P<name>{_CAPITAL}[\w’'-]+(?:\s+(?:(?:de|van|von|der|da|du|le|la)\s+)?{_CAPITAL}[\w’'-]+)"
    r"{1,2})(?:\s*,|\s+[–—>|•-])\s+(?P<said>[^,;:()–—>|•]{3,160}?)"
    r"(?=\s*(?:[,;:()–—>|•]|\.(?:\s|$)|$))"
)
# Words that name a post, in either language (their stems): "président de…", "Head of…".
_POST = re.compile(
    r"\b(?:(?:vice|co)-?)?(?:pr[ée]sident|direct(?:or|eur|rice)|head|chair|"
    r"professeur|professor|charg[ée]|responsable|manager|officer|coordinat|coordonnat|"
    r"secr[ée]tai|secretary|treasurer|tr[ée]sori|ceo|chief|founder|fondat|leader|lead\b|"
    r"researcher|chercheu|scientist|fellow|deputy|adjoint|d[ée]l[ée]gu|administrat|editor|"
    r"r[ée]dact|dean|doyen|rect(?:or|eur)|investigat|conseill|advis|member|membre|senior|"
    r"analyst|specialist|sp[ée]cialist|volunteer|b[ée]n[ée]vole|assistant|writer|translat|"
    r"tradu|designer|nurse|infirmi|physician|m[ée]decin|surgeon|chirurg|clinician|clinicien|"
    r"engineer|ing[ée]nieu|technici|student|[ée]tudiant|doctorant|consultant|analyste)",
    re.IGNORECASE,
)
# Words a post may open with ("Scientific Director", "Senior Research Fellow", "ancien
# président"): capitalised ones, or these.
_POST_OPENING = 3
_POST_MODIFIERS = frozenset(
    "ancien ancienne nouveau nouvelle actuel actuelle former new current acting interim "
    "associate assistant senior executive deputy vice co".split()
)
# Words that open a sentence before a name ("Selon Marie Dupré, présidente…").
_OPENERS = frozenset("selon according with avec by par pour for chez thanks grace together".split())


def _names_post(said: str) -> bool:
    """What follows a name opens with a post, not with a clause ("cette fois comme
    directeur" says what someone became, not who they are)."""
    found = _POST.search(said)
    if found is None:
        return False
    before = said[: found.start()].split()
    return len(before) <= _POST_OPENING and all(
        w[:1].isupper() or fold_accents(w).lower() in _POST_MODIFIERS for w in before
    )


# A run that is a name and nothing else: two to four capitalised words, a title before them
# ("Dr Jane Roe", "Anne-Lise ROCHE", "Jean de La Fontaine").
_NAME_RUN_ONLY = re.compile(
    rf"(?:(?:{TITLES}|Prof|M)\.?\s+)?{_CAPITAL}[\w’'.-]+"
    rf"(?:\s+(?:(?:de|van|von|der|da|du|le|la)\s+)?{_CAPITAL}[\w’'-]+){{1,3}}"
)
# Words that make a capitalised run an organisation, not a person's name.
_ORGANISATION_WORD = re.compile(
    r"\b(?:institut|universit|centre|center|hospital|h[ôo]pital|school|[ée]cole|foundation|"
    r"fondation|society|soci[ée]t|agency|agence|council|conseil|laborator|league|ligue|"
    r"association|trust|network|r[ée]seau|minist|r[ée]gion|department|d[ée]partement|"
    r"committee|comit[ée]|group|groupe|program|projet|project)\w*",
    re.IGNORECASE,
)
_AT = re.compile(r"^(?:at|à|au|de|of)\s+(?:the\s+|l[’']|la\s+|le\s+)?(?P<org>.+)$", re.I)
_POSSESSIVE = re.compile(r"^(?P<org>[A-ZÀ-Þ][^’']+?)[’']s\s+(?P<role>.+)$")
# Where a post says it is held: "… at X" first ("Professor of Oncology at X"), else "… of X"
# with X a name ("président de la Région Y").
_HELD_AT = re.compile(r"\s(?:at|à|au|aux)\s+(?:the\s+|l[’']|la\s+|le\s+)?(?P<org>[A-ZÀ-Þ].+)$")
_AND_MORE = re.compile(r"\s+(?:and|et)\s+(?:[a-zà-ÿ].*|[A-ZÀ-Þ][\w’'-]+\s+[A-ZÀ-Þ][\w’'-]+)$")
_HELD_OF = re.compile(
    r"\s(?:of|de|du|des|d[’'])\s*(?:the\s+|l[’']|la\s+|le\s+)?(?P<org>[A-ZÀ-Þ].+)$"
)


def _person_name(run: str) -> str | None:
    """The name in a capitalised run, without the words that only open the sentence
    ("Selon Marie Dupré"); none when the run is an organisation's name."""
    words = run.split()
    while words and fold_accents(words[0]).lower() in stopwords() | _OPENERS:
        words = words[1:]
    # (a name has a word in lower case letters: "AXE TRANSVERSAL" is a heading)
    if len(words) < 2 or _ORGANISATION_WORD.search(run) or all(w.isupper() for w in words):
        return None
    return " ".join(words)


def _post(said: str) -> tuple[str | None, str | None]:
    """A post and where it is held, from what follows a name ("président de la Région Y")."""
    held = _HELD_AT.search(said) or _HELD_OF.search(said)
    if held is None:
        return _clean(said), None
    # "… of X and work package lead", "… du CGO et Marie Dupré": X is the organisation.
    organisation = _clean(_AND_MORE.sub("", held.group("org")))
    if _ORGANISATION_WORD.fullmatch(organisation):
        # "… de la Fondation": which foundation, the sentence does not say here
        return _clean(said), None
    return _clean(said[: held.start()]), organisation


# A post as a label and who holds it, as imprints and team pages write them ("Editor: Jane
# Roe", "Rédaction : Marie Dupré et Paul Martin").
_LABELLED_PEOPLE = re.compile(r"^(?P<post>[^:|>•]{2,60}?)\s*:\s*(?P<names>[^:]{3,160}?)[.;]?$")
_NAME_LIST = re.compile(r"\s*(?:,|;|&|\bet\b|\band\b)\s*")


def _labelled_people(ctx: _Context, segment: MappedText) -> Iterator[Person]:
    """People a line names under their post ("Editor: Jane Roe, Paul Fir")."""
    match = _LABELLED_PEOPLE.match(segment.text.strip())
    if match is None or not _names_post(match.group("post")):
        return
    runs = [r.strip() for r in _NAME_LIST.split(match.group("names")) if r.strip()]
    names = [
        _person_name(_TITLE_PREFIX.sub("", r)) if _NAME_RUN_ONLY.fullmatch(r) else None
        for r in runs
    ]
    if not names or None in names:
        return  # a sentence after the colon, not a list of names
    for name in names:
        assert name is not None
        yield Person(
            name=name,
            role=_clean(match.group("post")),
            affiliation=ctx.subject or None,
            provenance=ctx.provenance(segment),
        )


def _apposed_people(ctx: _Context, segment: MappedText) -> Iterator[Person]:
    """People a sentence or a list item introduces with their post, or with a title and
    where they work."""
    start = 0
    while match := _APPOSED_PERSON.search(segment.text, start):
        # What is said of one person may name the next ("X, président du A et Y, président
        # du B"): the search goes on from there.
        start = match.start("said")
        name = _person_name(match.group("name"))
        said = match.group("said").strip()
        title = match.group("title")
        if name is None:
            continue
        role: str | None
        affiliation: str | None
        at, possessive = _AT.match(said), _POSSESSIVE.match(said)
        if possessive and title and not _POST.search(possessive.group("org")):
            affiliation, role = _clean(possessive.group("org")), _clean(possessive.group("role"))
        elif _names_post(said):
            role, affiliation = _post(said)
        elif title and at:
            role, affiliation = None, _clean(at.group("org"))
        elif title and _ORGANISATION_WORD.search(said):
            role, affiliation = None, _clean(said)
        else:
            continue  # "Dr X, who joined in 2010": nothing said of their post
        yield Person(
            name=name,
            title=title.strip() if title else None,
            affiliation=affiliation,
            role=role,
            provenance=ctx.provenance(segment),
        )


# A name on a line of its own: two or three capitalised words ("Marie Lenoir", "Jean-Paul
# Martin", "Marie DUPONT").
_NAME_LINE = re.compile(r"^[A-ZÀ-Þ][\w’'-]+(?:\s+[A-ZÀ-Þ][\w’'-]+){1,2}$")
# The most words a post on the line under a name has ("Directeur général délégué").
_POST_WORDS = 5


def _signatures(ctx: _Context) -> Iterator[Fact]:
    """A name on its own line with the post on the next one, as letters and editorials are
    signed ("Marie Lenoir" / "Présidente")."""
    for name, post in itertools.pairwise(ctx.blocks):
        if (
            name.kind == post.kind == "heading"
            and _NAME_LINE.match(name.text)
            and len(post.text.split()) <= _POST_WORDS
            and names_role(post.text)
            and not names_role(name.text)
        ):
            yield Person(
                name=name.text,
                role=post.text,
                # A document signed so speaks for what it is about (its publisher's head
                # signs its editorial).
                affiliation=ctx.document.subject,
                provenance=ctx.span(min(name.mapped().offsets), max(post.mapped().offsets) + 1),
            )


def extract_people(ctx: _Context) -> Iterator[Fact]:
    """People with their post: signed names, team lists, and people prose introduces."""
    named: set[str] = set()
    for fact in _people(ctx):
        if isinstance(fact, Person):
            if fact.name in named:
                continue  # the first mention says it best: a list of the team, a signature
            named.add(fact.name)
        yield fact


def _people(ctx: _Context) -> Iterator[Fact]:
    yield from _signatures(ctx)
    for index, (block, section) in enumerate(zip(ctx.blocks, ctx.sections, strict=True)):
        # A list of people is titled so by its heading or by the line that leads in to it
        # ("Other members of the team are:").
        before = ctx.blocks[index - 1].text.strip() if index else ""
        lead = before if before.endswith(":") else ""
        team = re.search(ctx.profile.headings.people, f"{section} {lead}", re.IGNORECASE)
        if block.kind == "list" and team:
            for item in block.segments:
                written, _, rest = item.text.lstrip("• ").partition(",")
                written = _TITLE_PREFIX.sub("", written.strip())
                name = _person_name(written) if _NAME_RUN_ONLY.fullmatch(written) else None
                if name is None:
                    continue
                title, _, description = rest.partition(",")
                yield Person(
                    name=name,
                    title=_clean(title) or None,
                    affiliation=_affiliation(rest, ctx.profile.affiliations),
                    role=_clean(description.split(".")[0]) or None,
                    provenance=ctx.provenance(item),
                )
        if block.kind == "paragraph" and _COORDINATED_BY.search(block.text):
            yield from _coordinators(ctx, index, block)
        if block.kind in ("paragraph", "list", "heading"):
            for segment in block.segments:
                yield from _labelled_people(ctx, segment)
                yield from _apposed_people(ctx, segment)


def _coordinators(ctx: _Context, index: int, block: Block) -> Iterator[Fact]:
    """ "Coordonné par A (X) et B (Y)", one group per axis heading above, in order."""
    text = block.mapped()
    groups = list(_COORDINATED_BY.finditer(text.text))
    headings: list[str] = []
    for i in range(index - 1, -1, -1):
        if ctx.blocks[i].kind == "heading":
            label = ctx.blocks[i].text
            before = ctx.blocks[i - 1].text if i else ""
            headings.insert(0, f"{before} {label}" if _AXIS.match(before) else label)
            if len(headings) == len(groups):
                break
        elif not _AXIS.match(ctx.blocks[i].text):
            break
    for n, group in enumerate(groups):
        end = groups[n + 1].start() if n + 1 < len(groups) else len(text.text)
        axis = headings[n] if len(headings) == len(groups) else ctx.sections[index]
        for person in _NAME_AFFILIATION.finditer(text.text, group.end(), end):
            yield Person(
                name=person.group("name"),
                affiliation=_clean(person.group("aff")),
                role=f"coordinator of {axis}",
                provenance=ctx.provenance(_sub(text, person)),
            )


# ---------------------------------------------------------------------------------------------
# Biobanks


def _split_biobank_row(row: str, prefixes: list[str]) -> tuple[str, str, str] | None:
    responsible = _RESPONSIBLE.search(row)
    if not responsible:
        return None
    tokens = row[: responsible.start()].split()
    # The name is in capitals; the establishment starts at the first word that is not, or at an
    # acronym just before it ("... CHU Hôpital Nord").
    cut = next(
        (i for i, t in enumerate(tokens) if i and re.search(r"[a-zà-ÿ]", t) and not t.isupper()),
        len(tokens),
    )
    if cut > 1 and tokens[cut - 1] in prefixes:
        cut -= 1
    name, establishment = " ".join(tokens[:cut]), " ".join(tokens[cut:])
    return (name, establishment, responsible.group("who")) if name and establishment else None


def extract_biobanks(ctx: _Context) -> Iterator[Fact]:
    for block, section in zip(ctx.blocks, ctx.sections, strict=True):
        if block.kind != "table" or block.header is None:
            continue
        # The table's header row or the heading above it says what the rows are.
        if not re.search(ctx.profile.headings.biobanks, f"{block.header.text} {section}", re.I):
            continue
        for row in block.segments:
            parts = _split_biobank_row(row.text, ctx.profile.establishment_prefixes)
            if parts:
                name, establishment, responsible = parts
                yield Biobank(
                    name=name,
                    establishment=establishment,
                    responsible=responsible,
                    provenance=ctx.provenance(row),
                )


# ---------------------------------------------------------------------------------------------
# Key figures


def _subjects(ctx: _Context) -> dict[str, list[str]]:
    """Whom the document's figures may belong to: the names it introduces with an acronym
    ("Institut X (IX)"), or those the profile's pattern finds."""
    pattern = ctx.profile.figures.subjects
    if pattern is None:
        return {name: [name, *forms] for name, forms in defined_acronyms(ctx.blocks).items()}
    subjects: dict[str, list[str]] = {}
    for match in re.finditer(pattern, ctx.document.text):
        name = _clean(match.group("name"))
        subjects.setdefault(name, [name]).append(match.group("acronym"))
    return subjects


def _subject_headings(ctx: _Context, subjects: dict[str, list[str]]) -> list[tuple[int, str]]:
    """Where each subject's page or section is titled: headings that name it."""
    forms = {name: [fold_accents(f).lower() for f in names] for name, names in subjects.items()}
    found = []
    for block in ctx.blocks:
        if block.kind != "heading":
            continue
        folded = fold_accents(block.text).lower()
        for name, names in forms.items():
            if any(re.search(rf"\b{re.escape(f)}\b", folded) for f in names):
                found.append((min(block.mapped().offsets), name))
    return found


def _nearest(headings: list[tuple[int, str]], position: int) -> str | None:
    if not headings:
        return None
    return min(headings, key=lambda h: (abs(h[0] - position), h[0] < position))[1]


def extract_figures(ctx: _Context) -> Iterator[Fact]:
    """Key figures printed as a bare number above a label the profile recognises ("284" /
    "Number of patients …") and the funds raised for an investment in the profile's leverage
    sentences, attributed to the subject whose heading is nearest."""
    headings = _subject_headings(ctx, _subjects(ctx))
    if not headings:
        return
    blocks = ctx.blocks
    seen: set[tuple[str | None, str, str]] = set()
    for i, block in enumerate(blocks):
        mapped = block.mapped()
        position = min(mapped.offsets)
        label_block = blocks[i + 1] if i + 1 < len(blocks) else None
        if (
            _BARE_FIGURE.match(block.text)
            and label_block
            and re.match(ctx.profile.figures.labels, label_block.text, re.IGNORECASE)
        ):
            parts = [block, label_block]
            if (
                i + 2 < len(blocks)
                and blocks[i + 2].text[:1].islower()
                and len(blocks[i + 2].text) < 60
            ):
                parts.append(blocks[i + 2])
            label = " ".join(b.text for b in parts[1:])
            subject = _nearest(headings, position)
            key = (subject, block.text, label)
            if key in seen:
                continue
            seen.add(key)
            yield Figure(
                subject=subject,
                value=find_amounts(block.text, money_only=False)[0].value,
                value_text=ctx.verbatim(mapped, 0, len(mapped.text)),
                label=label,
                # The figure with its caption: the value alone would prove nothing.
                provenance=ctx.provenance(MappedText.join([b.mapped() for b in parts], "\n")),
            )
        for pattern in ctx.profile.figures.leverage:
            obtained = re.search(pattern, block.text)
            if obtained is None:
                continue
            subject = _nearest(headings, position)
            sentence = _sub(mapped, obtained)
            amounts = find_amounts(sentence.text)
            if len(amounts) != 2:
                continue
            raised, invested = amounts
            # What the subject obtained, and what it invested to obtain it.
            for amount, kind, funder, recipient in (
                (raised, "funds_raised", None, subject),
                (invested, "investment", subject, None),
            ):
                yield Funding(
                    funder=funder,
                    recipient=recipient,
                    amount=amount.value,
                    currency=ctx.currency(amount),
                    amount_text=ctx.verbatim(sentence, amount.start, amount.end),
                    kind=kind,
                    provenance=ctx.provenance(sentence),
                )


# Words that join the words of one noun phrase ("collecte de la fondation", "share of the
# budget"): the phrase that opens a sentence runs on through them, and stops at any other
# stop word (its verb: "a", "was", "has"…).
_PHRASE_LINKS = frozenset("de du des d la le les l of the for pour".split())
# How far a year may be from the amount it dates ("696.000 euros en 2021", "in 2021, €3M").
_DATED_WITHIN = 30


def _opening_phrase(text: str) -> str:
    """The noun phrase a sentence opens on, less a leading date or article: what a series of
    figures it gives is of ("La collecte de la fondation a atteint…" -> "collecte de la
    fondation")."""
    words: list[str] = []
    for match in re.finditer(r"[^\W\d_][\w’'-]*|\d+", text):
        word = match.group()
        folded = fold_accents(word.lower().replace("’", "'").split("'")[-1])
        if word.isdigit() or (not words and folded in stopwords()):
            if words:
                break
            continue
        if folded in stopwords() and folded not in _PHRASE_LINKS:
            break
        words.append(word)
        if len(words) >= 6:
            break
    while words and fold_accents(words[-1].lower()) in _PHRASE_LINKS:
        words.pop()
    return " ".join(words)


def extract_prose_series(ctx: _Context) -> Iterator[Fact]:
    """A sentence that gives one figure per year ("La collecte a atteint 696.000 euros en 2021
    et près de 875.000 euros en 2022"): a row of a table whose columns are the years, so that
    a difference, a total or an average over those years is computed as a table's."""
    for block, section in zip(ctx.blocks, ctx.sections, strict=True):
        if block.kind != "paragraph":
            continue
        for sentence in block.segments:
            text = sentence.text
            amounts = find_amounts(text)
            if len(amounts) < 2:
                continue
            years = [(m.start(), m.end(), m.group()) for m in YEAR.finditer(text)]
            dated: list[tuple[Amount, str]] = []
            for amount in amounts:
                near = [
                    (min(abs(start - amount.end), abs(amount.start - end)), year)
                    for start, end, year in years
                    if not (amount.start <= start < amount.end)
                ]
                distance, year = min(near, default=(_DATED_WITHIN + 1, ""))
                if distance <= _DATED_WITHIN:
                    dated.append((amount, year))
            if len(dated) < 2 or len({year for _, year in dated}) != len(dated):
                continue
            row = _opening_phrase(text)
            if not row:
                continue
            for amount, year in dated:
                yield Measure(
                    table=str(min(sentence.offsets)),
                    caption=section or ctx.document.title,
                    row=row,
                    column=year,
                    value=amount.value,
                    value_text=ctx.verbatim(sentence, amount.start, amount.end),
                    provenance=ctx.provenance(sentence),
                )


EXTRACTORS: tuple[Callable[[_Context], Iterator[Fact]], ...] = (
    extract_contacts,
    extract_funding_tables,
    extract_cell_tables,
    extract_measures,
    extract_prose_series,
    extract_funding_sentences,
    extract_project_sheet,
    extract_roles,
    extract_members,
    extract_people,
    extract_biobanks,
    extract_figures,
)


@cache
def _abbreviation_pairs() -> Callable[..., dict[str, str]]:
    """The Schwartz–Hearst extractor. Importing it calls ``logging.basicConfig``, which would
    print every library's INFO lines: the root logger is put back as it was."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    from abbreviations.schwartz_hearst import extract_abbreviation_definition_pairs

    root.handlers, root.level = handlers, level
    return extract_abbreviation_definition_pairs  # type: ignore[no-any-return]


def defined_acronyms(blocks: list[Block]) -> dict[str, list[str]]:
    """Names a document introduces with an acronym ("Réseau Grand Ouest (RGO)", "Institute
    Jean Martin (IJM)"), found by the Schwartz–Hearst algorithm in each paragraph. Only
    names are kept (two words or more, capitalised): "experienced (ER)" is no organisation."""
    found: dict[str, list[str]] = {}
    for block in blocks:
        if "(" not in block.text:
            continue
        # The algorithm matches an acronym's letters at word starts: an elided article glued to
        # the word ("L'Institut", "d'Oncologie") is set apart, then put back in the name.
        pairs = _abbreviation_pairs()(doc_text=_ELISION.sub(r"\g<0> ", block.text))
        for acronym, definition in pairs.items():
            name = _ELIDED.sub(r"\1", _clean(str(definition))).strip("«»“”\"' ")
            if len(name.split()) >= 2 and name[:1].isupper():
                _add_aliases(found, {name: [str(acronym)]})
    return found


def extract_facts(
    documents: list[tuple[SourceDocument, list[Block]]],
    aliases: dict[str, list[str]] | None = None,
    profile: CorpusProfile = NEUTRAL,
) -> FactStore:
    """The documents' facts, and the other names of what they name: the acronyms the
    documents define, then the profile's aliases and the ``aliases`` given (metadata)."""
    facts: list[Fact] = []
    known: dict[str, list[str]] = {}
    for document, blocks in documents:
        ctx = _Context(document, blocks, _sections(blocks), profile)
        for extractor in EXTRACTORS:
            facts.extend(extractor(ctx))
        _add_aliases(known, defined_acronyms(blocks))
    _add_aliases(known, profile.aliases)
    _add_aliases(known, aliases or {})
    return FactStore(facts=facts, aliases=known)


def _add_aliases(known: dict[str, list[str]], more: dict[str, list[str]]) -> None:
    for name, forms in more.items():
        listed = known.setdefault(name, [])
        listed.extend(f for f in forms if f not in listed)
