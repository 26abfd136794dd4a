"""Exact parsing of money amounts and figures written the French or the English way.

``4.132 millions d'euros``, ``€ 3.263.864``, ``15,25 M€``, ``85 000 euros``, ``3.45 millions``,
``20,5 millions``, ``€1,234,567.89``, ``£2.5m``, ``$21,087,500``, ``CHF 300 000``: each becomes
an exact :class:`~decimal.Decimal`, never a float, with its currency's ISO 4217 code when the
text writes one.

Rules for the one ambiguous case, a single ``.`` or ``,``: before a magnitude word (million, M€…)
it is the decimal mark ("4.132 millions" is 4,132,000); otherwise it separates thousands when
exactly three digits follow ("4.500 euros" is 4,500) and is the decimal mark when not ("4,5").

Example::

    [a.value for a in find_amounts("un financement de 3.45 millions d'euros")]
    # [Decimal('3450000')]
"""

from __future__ import annotations

import re
from decimal import Decimal

from pydantic import BaseModel

_GROUP = r"[ \u00a0\u202f.,’']"
_NUMBER = rf"\d{{1,3}}(?:{_GROUP}\d{{3}})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"
_MAGNITUDES = {
    "milliard": Decimal(10) ** 9,
    "milliards": Decimal(10) ** 9,
    "billion": Decimal(10) ** 9,
    "billions": Decimal(10) ** 9,
    "md€": Decimal(10) ** 9,
    "bn": Decimal(10) ** 9,
    "million": Decimal(10) ** 6,
    "millions": Decimal(10) ** 6,
    "m€": Decimal(10) ** 6,
    "m": Decimal(10) ** 6,
    "k€": Decimal(10) ** 3,
    "k": Decimal(10) ** 3,
    "mille": Decimal(10) ** 3,
}
_MAGNITUDE = r"milliards?|billions?|millions?|md€|bn|m€|k€|mille|m(?![a-z])|k(?![a-z])"
_CURRENCY = (
    r"d[’']euros?|euros?|eur\b|€|£|\$|usd\b|gbp\b|chf\b|cad\b|dollars?\b|"
    r"pounds?(?: sterling)?\b|livres? sterling|francs? suisses?|de dollars|de francs suisses"
)
_PREFIX = r"€|eur\b|£|US\$|CA?\$|\$|usd\b|gbp\b|chf\b|cad\b"
# Each way of writing a currency, by its ISO 4217 code (the first pattern that matches).
_CODES = (
    ("CAD", re.compile(r"ca?\$|cad", re.IGNORECASE)),
    ("GBP", re.compile(r"£|gbp|pound|livre", re.IGNORECASE)),
    ("CHF", re.compile(r"chf|franc", re.IGNORECASE)),
    ("USD", re.compile(r"\$|usd|dollar", re.IGNORECASE)),
    ("EUR", re.compile(r"€|eur", re.IGNORECASE)),
)
_AMOUNT = re.compile(
    rf"(?P<pre>{_PREFIX})?\s?(?<![\d.,])(?P<number>{_NUMBER})(?![\d])"
    rf"(?:\s?(?P<magnitude>{_MAGNITUDE}))?"
    rf"(?:\s?(?P<currency>{_CURRENCY}))?",
    re.IGNORECASE,
)

# Text that holds a sum of money in any currency the parser reads ("£4.8M", "6M euro",
# "3,8 millions d'euros", "CHF 300 000", "12 millions"): what a sentence answering "how much"
# must hold. A bare magnitude letter ("45 k") is not enough without a currency.
MONEY = re.compile(
    rf"(?:{_PREFIX})\s?\d"
    rf"|\d[\d\s.,]*\s?(?:(?:{_MAGNITUDE})\s?)?(?:{_CURRENCY})"
    r"|\d[\d\s.,]*\s?(?:milliards?|billions?|millions?|md€|bn\b|m€|k€)",
    re.IGNORECASE,
)


class Amount(BaseModel):
    value: Decimal
    text: str
    start: int
    end: int
    currency: str | None = None


def parse_number(text: str, *, scaled: bool = False) -> Decimal:
    """The exact value of a written number; ``scaled`` when a magnitude word follows it."""
    digits = re.sub(r"[ \u00a0\u202f’']", "", text)
    separators = [c for c in digits if c in ".,"]
    if not separators:
        return Decimal(digits)
    if len(set(separators)) == 2:
        # Both marks: the last one is the decimal mark ("1.234.567,89", "1,234,567.89").
        decimal_mark = digits[max(digits.rfind("."), digits.rfind(","))]
        grouping = "," if decimal_mark == "." else "."
        return Decimal(digits.replace(grouping, "").replace(decimal_mark, "."))
    mark = separators[0]
    if len(separators) > 1:
        return Decimal(digits.replace(mark, ""))
    whole, fraction = digits.split(mark)
    if not scaled and len(fraction) == 3 and whole != "0":
        return Decimal(whole + fraction)
    return Decimal(f"{whole}.{fraction}")


def find_amounts(text: str, *, money_only: bool = True) -> list[Amount]:
    """Amounts in ``text``, with their verbatim span. With ``money_only``, a number counts only
    when a currency or a magnitude word marks it as an amount."""
    found = []
    for match in _AMOUNT.finditer(text):
        magnitude = (match.group("magnitude") or "").lower()
        currency = match.group("currency") or match.group("pre")
        if money_only and not (currency or magnitude):
            continue
        value = parse_number(match.group("number"), scaled=bool(magnitude))
        if magnitude:
            value *= _MAGNITUDES[magnitude]
        start = match.start("pre") if match.group("pre") else match.start("number")
        end = match.end()
        found.append(
            Amount(
                value=value.quantize(Decimal(1)) if value == value.to_integral_value() else value,
                text=text[start:end].strip(),
                start=start,
                end=start + len(text[start:end].strip()),
                currency=currency_code(currency)
                if currency
                else ("EUR" if "€" in magnitude else None),
            )
        )
    return found


def currency_code(written: str) -> str | None:
    """The ISO 4217 code of a currency as written ("€", "livres sterling", "US$")."""
    return next((code for code, pattern in _CODES if pattern.search(written)), None)


def parse_amount(text: str) -> Decimal:
    """The single amount written in ``text``; raises ``ValueError`` if there is none."""
    amounts = find_amounts(text, money_only=False)
    if not amounts:
        raise ValueError(f"no amount in {text!r}")
    return amounts[0].value
