"""Amounts written the French or the English way parse to the exact Decimal."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cancerassist.amounts import find_amounts, parse_amount


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("4.132 millions d’euros", "4132000"),
        ("€ 3.263.864", "3263864"),
        ("15,25 M€", "15250000"),
        ("85 000 euros", "85000"),
        ("3.45 millions", "3450000"),
        ("20,5 millions", "20500000"),
        ("25.1 millions d’euros", "25100000"),
        ("€1,234,567.89", "1234567.89"),
        ("1.234.567,89 €", "1234567.89"),
        ("4.500 euros", "4500"),
        ("4,5 euros", "4.5"),
        ("a 3.45 million grant", "3450000"),
    ],
)
def test_corpus_and_common_formats(text: str, value: str) -> None:
    assert parse_amount(text) == Decimal(value)


def test_years_and_bare_numbers_are_not_money() -> None:
    amounts = find_amounts("2010 4.132 millions d’euros, 10 projets, le 22 mai 2011")
    assert [(a.value, a.text) for a in amounts] == [(Decimal("4132000"), "4.132 millions d’euros")]
    raised, invested = find_amounts("8,2 M€ obtenus pour 1,6 M€ investis")
    assert (raised.value, invested.value) == (Decimal("8200000"), Decimal("1600000"))


def group(digits: str, separator: str) -> str:
    head = len(digits) % 3 or 3
    return separator.join(
        [digits[:head], *[digits[i : i + 3] for i in range(head, len(digits), 3)]]
    )


def written(value: Decimal, style: str) -> str:
    whole, _, cents = f"{value:.2f}".partition(".")
    has_cents = cents != "00"
    if style == "fr_space":
        return group(whole, " ") + (f",{cents}" if has_cents else "") + " €"
    if style == "fr_nbsp":
        return group(whole, "\u00a0") + (f",{cents}" if has_cents else "") + " euros"
    if style == "fr_dot":
        return group(whole, ".") + (f",{cents}" if has_cents else "") + " €"
    if style == "en_comma":
        return "€" + group(whole, ",") + (f".{cents}" if has_cents else "")
    return group(whole, ",") + (f".{cents}" if has_cents else "") + " euros"


@given(
    st.decimals(min_value=0, max_value=10**10, places=2, allow_nan=False, allow_infinity=False),
    st.sampled_from(["fr_space", "fr_nbsp", "fr_dot", "en_comma", "en_suffix"]),
)
def test_any_amount_round_trips(value: Decimal, style: str) -> None:
    assert parse_amount(written(value, style)) == value


@given(
    st.integers(min_value=1, max_value=999_999),
    st.sampled_from(["{} millions d’euros", "{} M€", "{} million", "€{} million", "{} millions"]),
    st.sampled_from([",", "."]),
)
def test_millions_round_trip(thousandths: int, template: str, mark: str) -> None:
    millions = Decimal(thousandths) / 1000
    text = template.format(format(millions.normalize(), "f").replace(".", mark))
    assert parse_amount(text) == millions * 1_000_000


@pytest.mark.parametrize(
    ("text", "value", "currency"),
    [
        ("£2.5m", Decimal("2500000"), "GBP"),
        ("$21,087,500", Decimal("21087500"), "USD"),
        ("CHF 300 000", Decimal("300000"), "CHF"),
        ("300 000 francs suisses", Decimal("300000"), "CHF"),
        ("1,2 million de dollars", Decimal("1200000"), "USD"),
        ("C$ 1.5 million", Decimal("1500000"), "CAD"),
        ("15,25 M€", Decimal("15250000"), "EUR"),
        ("4.132 millions d'euros", Decimal("4132000"), "EUR"),
        ("3.45 millions", Decimal("3450000"), None),
    ],
)
def test_an_amounts_currency_is_read_as_its_iso_code(
    text: str, value: Decimal, currency: str | None
) -> None:
    (amount,) = find_amounts(text)
    assert (amount.value, amount.currency, amount.text) == (value, currency, text)
