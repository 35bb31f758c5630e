from __future__ import annotations

import pytest

from domains.customer.identity import (
    Candidate,
    identity_keys,
    match_reason,
    name_prefix,
    normalise_name,
    normalise_tax_id,
    tax_id_variants,
    web_domain,
)
from domains.customer.ports import CustomerRecord


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Northwind Traders GmbH", "northwind traders"),
        ("NORTHWIND TRADERS", "northwind traders"),
        ("Northwind  Traders, G.m.b.H.", "northwind traders"),
        ("Southridge Video S.p.A.", "southridge video"),
        ("The Phone Company Ltd", "phone"),
        ("A. Datum Polska Sp. z o.o.", "a datum polska"),
        ("Café Müller & Söhne KG", "cafe muller and sohne"),
    ],
)
def test_normalise_name(raw: str, expected: str) -> None:
    assert normalise_name(raw) == expected


def test_tax_id_normalisation_adds_country_prefix_to_bare_numbers() -> None:
    assert normalise_tax_id("DE 811 907 980") == "DE811907980"
    assert normalise_tax_id("811907980", "DE") == "DE811907980"
    assert normalise_tax_id("36-4173902", "US") == "US364173902"
    assert "811907980" in tax_id_variants("DE811907980", "DE")


def test_web_domain() -> None:
    assert web_domain("https://www.Northwind.example/about") == "northwind.example"
    assert web_domain("northwind.example") == "northwind.example"
    assert web_domain(None) is None


def _record(**kw: str | None) -> CustomerRecord:
    base: dict[str, str | None] = {
        "system_id": "001",
        "name": "Northwind Traders GmbH",
        "country": "DE",
        "tax_id": "DE811907980",
        "website": "northwind.example",
    }
    base.update(kw)
    return CustomerRecord(**base)  # type: ignore[arg-type]


def test_match_on_tax_id_wins_even_with_another_name() -> None:
    new = Candidate("NW Trading", "DE", "DE 811907980", None)
    assert match_reason(new, _record()) == "tax_id"


def test_match_on_name_and_country_but_not_across_countries() -> None:
    assert match_reason(Candidate("Northwind Traders", "DE", None, None), _record()) == (
        "name_and_country"
    )
    assert match_reason(Candidate("Northwind Traders", "AT", None, None), _record()) is None


def test_match_on_domain_within_country() -> None:
    new = Candidate("NWT Hamburg", "DE", None, "https://www.northwind.example")
    assert match_reason(new, _record()) == "domain_and_country"


def test_different_company_does_not_match() -> None:
    new = Candidate("Southwind Traders", "DE", "DE999999999", "southwind.example")
    assert match_reason(new, _record()) is None


def test_identity_keys_are_stable_across_spellings() -> None:
    a = identity_keys(Candidate("Northwind Traders GmbH", "DE", "DE811907980", None))
    b = identity_keys(Candidate("NORTHWIND TRADERS", "DE", "811 907 980", None))
    assert a == b
    assert name_prefix("The Phone Company Ltd") == "phone"
