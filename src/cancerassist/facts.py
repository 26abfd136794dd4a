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

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from cancerassist.amounts import find_amounts
from cancerassist.ingest import Block, MappedText
from cancerassist.models import (
    Biobank,
    Contact,
    Fact,
    FactStore,
    Figure,
    Funding,
    PartnerRole,
    Person,
    Project,
    Provenance,
    SourceDocument,
)
from cancerassist.text import EMAIL, SINCE_YEAR, WEB_ADDRESS, YEAR, fold_accents

_PERIOD = re.compile(r"\b((?:19|20)\d{2})\s*[-–]\s*((?:19|20)\d{2})\b")
# Verbs of granting, not of merely mentioning money ("a annoncé un financement" is not a grant).
_GRANT_VERB = re.compile(
    r"accord|attribu|allou|alloc|versé|subvention|granted|awarded", re.IGNORECASE
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
    r"\b(?:au|aux|à la|à l[’']|to the|to)\s+"
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
_COUNTRY = re.compile(r"\s*\((?P<code>[A-Z]{2})\)\s*$")
_ASSOCIATED = re.compile(r"\s*\((?:partenaire associé|associated partner)\)\s*$", re.IGNORECASE)
_TITLE = r"(?:Prof\.?|Professeur|Pr\.?|Dr\.?|Docteur|Mr\.?|Mme|Mrs\.?|Ms\.?)"
_RESPONSIBLE = re.compile(rf"\s(?P<who>{_TITLE}\s+[A-ZÉ][\w’'-]*(?:\s*/\s*[A-ZÉ][\w’'-]*)*)$")
_COORDINATED_BY = re.compile(r"(?:Coordonné par|Coordinated by)\s+", re.IGNORECASE)
_NAME_AFFILIATION = re.compile(
    r"(?P<name>[A-ZÉ][\w’'-]+(?:\s+[A-ZÉ][\w’'-]+)+)\s*\((?P<aff>[^()]*(?:\([^()]*\)[^()]*)*)\)"
)
_AXIS = re.compile(r"^(?:AXE|Axe|AXIS|Axis)\b[^:]*:$")
_ALIAS = re.compile(
    r"\b(?P<name>(?:Cancéropôle|Canceropole)\s+[\w’'\- ]+?)\s+\((?P<acronym>[A-Z]{2,6})\)"
)
_BARE_FIGURE = re.compile(r"^\+?\s?\d[\d\s.,]*\s?%?$")
# Labels that say what a bare figure counts; other pairings of a PDF's scattered figure boxes and
# captions are too unreliable to state as facts.
_FIGURE_LABEL = re.compile(r"^(?:Nombre d|Number of|Effet levier|Leverage)", re.IGNORECASE)
_VALORISATION = re.compile(r"valoris|transfer|transfert|innovation|tech", re.IGNORECASE)

# Words that carry no identity in an organisation's name.
GENERIC_WORDS = frozenset(
    "université university universitat universitätsklinikum institut institute hôpital hopital "
    "hôpitaux centre center groupe hospitalier cancéropôle canceropole de du des la le les l d et "
    "of the and for".split()
)
# Acronyms that open an establishment's name in French hospital tables ("AP-HP Hôpital Necker").
_ESTABLISHMENT_ACRONYMS = frozenset({"AP-HP", "GH", "CHU", "CHRU", "CLCC"})

KEY_SYNONYMS = {
    "programme": "programme", "program": "programme", "coordinateur": "coordinator",
    "coordinator": "coordinator", "coordonnateur": "coordinator", "partenaires": "partners",
    "partners": "partners", "budget total": "budget", "total budget": "budget", "budget": "budget",
    "subvention": "grant", "grant": "grant", "eu contribution": "grant", "durée": "duration",
    "duree": "duration", "duration": "duration",
}  # fmt: skip


@dataclass
class _Context:
    """What an extractor sees: the document, its blocks and the heading above each block."""

    document: SourceDocument
    blocks: list[Block]
    sections: list[str]

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


def extract_contacts(ctx: _Context) -> Iterator[Fact]:
    for block, section in zip(ctx.blocks, ctx.sections, strict=True):
        if block.kind not in ("table", "list"):
            continue
        purpose = "valorisation / technology transfer" if _VALORISATION.search(section) else None
        for row in block.segments:
            email = next(_emails(row.text), None)
            url = None if email else WEB_ADDRESS.search(row.text)
            found = email or url
            if not found:
                continue
            organisation = _clean(row.text[: found.start()] + " " + row.text[found.end() :])
            if not organisation:
                continue
            yield Contact(
                organisation=organisation,
                email=email.group() if email else None,
                url=url.group() if url else None,
                purpose=purpose,
                provenance=ctx.provenance(row),
            )
    yield from _postal_contacts(ctx)


def _postal_contacts(ctx: _Context) -> Iterator[Fact]:
    """An address block (street line, postcode line) and the phone number that follows it."""
    text = ctx.document.text
    phones = list(phonenumbers.PhoneNumberMatcher(text, "FR"))
    for block in ctx.blocks:
        lines = [block.header, *block.segments] if block.header else block.segments
        street = next((i for i, line in enumerate(lines) if _STREET.match(line.text)), None)
        if street is None or not any(_POSTCODE.match(line.text) for line in lines[street:]):
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
            phone=phonenumbers.format_number(phone.number, phonenumbers.PhoneNumberFormat.E164)
            if phone
            else None,
            phone_text=phone.raw_string if phone else None,
            url=url.group() if url else None,
            provenance=ctx.span(start, end),
        )


# ---------------------------------------------------------------------------------------------
# Funding


def extract_funding_tables(ctx: _Context) -> Iterator[Fact]:
    """Tables of "year amount" rows; the section heading names the funder."""
    for block, section in zip(ctx.blocks, ctx.sections, strict=True):
        if block.kind != "table" or block.header is None:
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
                amount_eur=amounts[0].value,
                amount_text=ctx.verbatim(row, amounts[0].start, amounts[0].end),
                year=int(year.group(1)),
                kind=kind,
                provenance=ctx.provenance(row),
            )


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
            funder = _FUNDER.search(text)
            recipient = _RECIPIENT.search(text)
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
            funder_name = (
                _clean(members.group("who"))
                if members
                else funder.group("name")
                if funder
                else None
            )
            for amount in amounts[:1]:
                yield Funding(
                    funder=funder_name,
                    recipient=recipient.group("name") if recipient else ctx.subject,
                    amount_eur=amount.value,
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
    match = re.match(r"^•?\s*([^:•]{2,30}?)\s*:\s*(.*)$", text)
    if not match:
        return None
    key = KEY_SYNONYMS.get(fold_accents(match.group(1).lower()).strip()) or KEY_SYNONYMS.get(
        match.group(1).lower().strip()
    )
    return (key, match.group(2)) if key else None


def _list_runs(blocks: list[Block]) -> Iterator[list[MappedText]]:
    run: list[MappedText] = []
    for block in blocks:
        if block.kind == "list":
            run.extend(block.segments)
            continue
        if run:
            yield run
        run = []
    if run:
        yield run


def extract_project_sheet(ctx: _Context) -> Iterator[Fact]:
    """A run of "Key: value" list items (Programme, Coordinateur, Partenaires, Budget, Durée…);
    the items after "Partenaires" that have no key of their own are the partners."""
    for items in _list_runs(ctx.blocks):
        pairs = [(_key_value(item.text), item) for item in items]
        if sum(pair is not None for pair, _ in pairs) < 3:
            continue
        fields = {pair[0]: pair[1] for pair, _ in pairs if pair}
        programme = _clean(fields["programme"]) if "programme" in fields else None
        period = _PERIOD.search(fields.get("duration", ""))
        start, end = (int(period.group(1)), int(period.group(2))) if period else (None, None)
        project = ctx.subject
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
                yield _partner(ctx, project, value, item)
            elif key in ("budget", "grant") and pair and find_amounts(item.text):
                amount = find_amounts(item.text)[0]
                yield Funding(
                    funder=None,
                    recipient=project,
                    amount_eur=amount.value,
                    amount_text=ctx.verbatim(item, amount.start, amount.end),
                    programme=programme,
                    kind="budget" if key == "budget" else "grant",
                    period_start=start,
                    period_end=end,
                    provenance=ctx.provenance(item),
                )


def _coordinator_facts(ctx: _Context, project: str, value: str, item: MappedText) -> Iterator[Fact]:
    """ "Université Claude Bernard Lyon 1, Prof. Philippe CLEZARDIN": the role and the person."""
    organisation, _, person = value.partition(",")
    person_name = _clean(person) or None
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


def _partner(ctx: _Context, project: str, value: str, item: MappedText) -> PartnerRole:
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


def extract_people(ctx: _Context) -> Iterator[Fact]:
    for index, (block, section) in enumerate(zip(ctx.blocks, ctx.sections, strict=True)):
        if block.kind == "list" and re.search(
            r"key people|people involved|personnes clés|équipe|team members", section, re.IGNORECASE
        ):
            for item in block.segments:
                name, _, rest = item.text.lstrip("• ").partition(",")
                if not re.match(r"^[A-ZÉ][\w’'-]+(?:\s+[A-ZÉ][\w’'-]+)+$", name.strip()):
                    continue
                title, _, description = rest.partition(",")
                affiliation = re.search(r"\bat ([A-Z][\w-]+)|\b(INSERM|CNRS|Ecrin|ECRIN)\b", rest)
                yield Person(
                    name=name.strip(),
                    title=_clean(title) or None,
                    affiliation=(affiliation.group(1) or affiliation.group(2))
                    if affiliation
                    else None,
                    role=_clean(description.split(".")[0]) or None,
                    provenance=ctx.provenance(item),
                )
        if block.kind == "paragraph" and _COORDINATED_BY.search(block.text):
            yield from _coordinators(ctx, index, block)


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


def _split_biobank_row(row: str) -> tuple[str, str, str] | None:
    responsible = _RESPONSIBLE.search(row)
    if not responsible:
        return None
    tokens = row[: responsible.start()].split()
    # The name is in capitals; the establishment starts at the first word that is not, or at an
    # acronym just before it ("... AP-HP Hôpital Necker").
    cut = next(
        (i for i, t in enumerate(tokens) if i and re.search(r"[a-zà-ÿ]", t) and not t.isupper()),
        len(tokens),
    )
    if cut > 1 and tokens[cut - 1] in _ESTABLISHMENT_ACRONYMS:
        cut -= 1
    name, establishment = " ".join(tokens[:cut]), " ".join(tokens[cut:])
    return (name, establishment, responsible.group("who")) if name and establishment else None


def extract_biobanks(ctx: _Context) -> Iterator[Fact]:
    for block in ctx.blocks:
        if block.kind != "table" or block.header is None:
            continue
        if not re.search(
            r"tumoroth|biobank|biobanque|tissuth|\bCRB\b", block.header.text, re.IGNORECASE
        ):
            continue
        for row in block.segments:
            parts = _split_biobank_row(row.text)
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


def _subjects(text: str) -> dict[str, list[str]]:
    """Organisations the document introduces with an acronym: "Cancéropôle Est (CEST)"."""
    subjects: dict[str, list[str]] = {}
    for match in _ALIAS.finditer(text):
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
    """Brochure key figures ("284 / Nombre de patients …", "5,1 / Effet levier …") and "X M€
    obtenus pour Y M€ investis", attributed to the subject whose heading is nearest."""
    headings = _subject_headings(ctx, _subjects(ctx.document.text))
    if not headings:
        return
    blocks = ctx.blocks
    seen: set[tuple[str | None, str, str]] = set()
    for i, block in enumerate(blocks):
        mapped = block.mapped()
        position = min(mapped.offsets)
        label_block = blocks[i + 1] if i + 1 < len(blocks) else None
        if _BARE_FIGURE.match(block.text) and label_block and _FIGURE_LABEL.match(label_block.text):
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
        obtained = re.search(
            r"(?P<raised>[\d,. ]+M€) obtenus pour (?P<invested>[\d,. ]+M€) investis", block.text
        )
        if obtained:
            subject = _nearest(headings, position)
            sentence = _sub(mapped, obtained)
            raised, invested = find_amounts(sentence.text)
            # What the subject obtained, and what it invested to obtain it.
            for amount, kind, funder, recipient in (
                (raised, "funds_raised", None, subject),
                (invested, "investment", subject, None),
            ):
                yield Funding(
                    funder=funder,
                    recipient=recipient,
                    amount_eur=amount.value,
                    amount_text=ctx.verbatim(sentence, amount.start, amount.end),
                    kind=kind,
                    provenance=ctx.provenance(sentence),
                )


EXTRACTORS: tuple[Callable[[_Context], Iterator[Fact]], ...] = (
    extract_contacts,
    extract_funding_tables,
    extract_funding_sentences,
    extract_project_sheet,
    extract_roles,
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
    """Names a document introduces with an acronym ("Cancéropôle Grand Ouest (CGO)", "Institute
    Albert Bonniot (IAB)"), found by the Schwartz–Hearst algorithm in each paragraph. Only
    names are kept (two words or more, capitalised): "experienced (ER)" is no organisation."""
    found: dict[str, list[str]] = {}
    for block in blocks:
        if "(" not in block.text:
            continue
        pairs = _abbreviation_pairs()(doc_text=block.text)
        for acronym, definition in pairs.items():
            name = _clean(str(definition)).strip("«»“”\"' ")
            if len(name.split()) >= 2 and name[:1].isupper():
                _add_aliases(found, {name: [str(acronym)]})
    return found


def extract_facts(
    documents: list[tuple[SourceDocument, list[Block]]], aliases: dict[str, list[str]] | None = None
) -> FactStore:
    """The documents' facts, and the other names of what they name: the acronyms the
    documents define, then the ``aliases`` given (metadata)."""
    facts: list[Fact] = []
    known: dict[str, list[str]] = {}
    for document, blocks in documents:
        ctx = _Context(document, blocks, _sections(blocks))
        for extractor in EXTRACTORS:
            facts.extend(extractor(ctx))
        _add_aliases(known, defined_acronyms(blocks))
    _add_aliases(known, aliases or {})
    return FactStore(facts=facts, aliases=known)


def _add_aliases(known: dict[str, list[str]], more: dict[str, list[str]]) -> None:
    for name, forms in more.items():
        listed = known.setdefault(name, [])
        listed.extend(f for f in forms if f not in listed)
