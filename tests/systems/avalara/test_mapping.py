"""TaxRequest <-> AvaTax models and AvaTax errors -> the gateway's taxonomy, field by field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import msgspec
import pytest

from contracts.v1.common import Address
from domains.errors import DependencyRejected, DependencyUnavailable, ValidationFailed
from domains.tax.ports import TaxLine, TaxRequest
from sandboxes.avalara import rates as sandbox_rates
from systems.avalara.client import (
    AvalaraAuth,
    Transaction,
    TransactionDetail,
    TransactionLine,
    client_header,
    transaction_code_segment,
)
from systems.avalara.errors import canonical_field, translate, vendor_error
from systems.avalara.mapping import (
    _US_ZIP3,
    TAX_CODES,
    AvalaraAddress,
    create_transaction_model,
    derive_region,
    document_type,
    line_rate,
    recorded_mismatch,
    ship_to_model,
    tax_code,
    to_tax_result,
)

BERLIN = Address(country="DE", city="Berlin", street="Unter den Linden 77", postal_code="10117")


def request(**changes: Any) -> TaxRequest:
    base: dict[str, Any] = {
        "document_code": "inv_42",
        "kind": "invoice",
        "customer_code": "cus_7",
        "currency": "EUR",
        "date": "2026-03-31",
        "ship_to": BERLIN,
        "lines": [
            TaxLine(
                number="1",
                sku="Q2C-1001",
                description="Gateway",
                quantity="2",
                amount="200.00",
                category="goods",
            ),
            TaxLine(
                number="2",
                sku="Q2C-2001",
                quantity="12",
                amount="119.88",
                category="software_service",
            ),
        ],
        "legal_entity": "acme-eu",
    }
    base.update(changes)
    return TaxRequest(**base)


def decode(payload: dict[str, Any]) -> Transaction:
    """As the client decodes an AvaTax answer (real AvaTax sends JSON floats)."""
    raw = msgspec.json.encode(payload)
    return msgspec.json.decode(raw, type=Transaction)


# ================================================================ tax codes


def test_each_category_has_an_avatax_code_the_sandbox_classifies_alike() -> None:
    assert dict(TAX_CODES) == {
        "goods": "P0000000",
        "software_service": "SW054000",
        "professional_service": "SC080100",
        "non_taxable": "NT",
    }
    classified = {k: sandbox_rates.classify_tax_code(v) for k, v in TAX_CODES.items()}
    assert classified == {
        "goods": "tangible",
        "software_service": "saas",
        "professional_service": "service",
        "non_taxable": "nontaxable",
    }


def test_tax_codes_can_be_overridden_per_category() -> None:
    overrides = {"professional_service": "SC070100"}
    assert tax_code("professional_service", overrides) == "SC070100"  # type: ignore[arg-type]
    assert tax_code("goods", overrides) == "P0000000"  # type: ignore[arg-type]
    assert tax_code("goods") == "P0000000"


def test_document_types() -> None:
    assert document_type("estimate") == "SalesOrder"
    assert document_type("invoice") == "SalesInvoice"


# ================================================================== regions


@pytest.mark.parametrize(
    ("postal_code", "region"),
    [
        ("10118", "NY"), ("10118-0110", "NY"), ("101180110", "NY"), ("00501", "NY"),
        ("02116", "MA"), ("05501", "MA"), ("05401", "VT"), ("94105", "CA"),
        ("78701", "TX"), ("73301", "TX"), ("73101", "OK"), ("88510", "TX"),
        ("20500", "DC"), ("20166", "VA"), ("20910", "MD"), ("56901", "DC"),
        ("39901", "GA"), ("96813", "HI"), ("99501", "AK"), ("98101", "WA"),
        (" 10118 ", "NY"),
        ("00601", ""),  # Puerto Rico: not a state
        ("34001", ""),  # military mail
        ("1011", ""), ("ABCDE", ""), ("", ""),
    ],
)  # fmt: skip
def test_us_states_follow_the_zip_prefix(postal_code: str, region: str) -> None:
    assert derive_region(Address(country="US", postal_code=postal_code)) == region


def test_every_state_and_dc_is_reachable_and_prefixes_do_not_overlap() -> None:
    assert {state for _, _, state in _US_ZIP3} == set(sandbox_rates.US_STATES)
    prefixes = [p for low, high, _ in _US_ZIP3 for p in range(low, high + 1)]
    assert len(prefixes) == len(set(prefixes))


@pytest.mark.parametrize(
    ("postal_code", "region"),
    [
        ("M5X 1A9", "ON"), ("m5x1a9", "ON"), ("H2Y 1C6", "QC"), ("V6B 4Y8", "BC"),
        ("T2P 1J9", "AB"), ("X0A 0H0", "NU"), ("X1A 2P7", "NT"), ("Y1A 1B1", "YT"),
        ("A1C 5M2", "NL"), ("Z1Z 1Z1", ""), ("12345", ""),
    ],
)  # fmt: skip
def test_canadian_provinces_follow_the_postal_code(postal_code: str, region: str) -> None:
    assert derive_region(Address(country="CA", postal_code=postal_code)) == region


def test_other_countries_get_no_region() -> None:
    assert derive_region(BERLIN) == ""


def test_ship_to_sends_only_what_the_address_has() -> None:
    assert ship_to_model(BERLIN) == {
        "country": "DE", "line1": "Unter den Linden 77", "city": "Berlin",
        "postalCode": "10117",
    }  # fmt: skip
    assert ship_to_model(Address(country="US", postal_code="94105")) == {
        "country": "US", "region": "CA", "postalCode": "94105",
    }  # fmt: skip
    assert ship_to_model(Address(country="US")) == {"country": "US"}


# ================================================================== request


def test_an_invoice_is_a_committed_sales_invoice_under_its_code() -> None:
    model = create_transaction_model(request(exemption_number="EX-1"), company_code="ACME-EU")
    assert model == {
        "type": "SalesInvoice", "code": "inv_42", "companyCode": "ACME-EU",
        "date": "2026-03-31", "customerCode": "cus_7", "currencyCode": "EUR", "commit": True,
        "addresses": {"shipTo": {"country": "DE", "line1": "Unter den Linden 77",
                                 "city": "Berlin", "postalCode": "10117"}},
        "lines": [
            {"number": "1", "quantity": Decimal("2"), "amount": Decimal("200.00"),
             "taxCode": "P0000000", "itemCode": "Q2C-1001", "description": "Gateway"},
            {"number": "2", "quantity": Decimal("12"), "amount": Decimal("119.88"),
             "taxCode": "SW054000", "itemCode": "Q2C-2001", "description": ""},
        ],
        "exemptionNo": "EX-1",
    }  # fmt: skip
    encoded = msgspec.json.Encoder(decimal_format="number").encode(model)
    assert b'"amount":119.88' in encoded


def test_an_estimate_is_an_uncommitted_sales_order_without_exemption() -> None:
    model = create_transaction_model(
        request(kind="estimate"), company_code="ACME",
        tax_codes={"software_service": "SW050000"},
        ship_from=AvalaraAddress(country="NL", city="Amsterdam", postal_code="1054 ES"),
    )  # fmt: skip
    assert (model["type"], model["commit"]) == ("SalesOrder", False)
    assert "exemptionNo" not in model
    assert [line["taxCode"] for line in model["lines"]] == ["P0000000", "SW050000"]
    assert model["addresses"]["shipFrom"] == {
        "country": "NL", "city": "Amsterdam", "postalCode": "1054 ES",
    }  # fmt: skip


def test_a_non_decimal_amount_is_a_validation_failure() -> None:
    bad = request(lines=[TaxLine(number="1", sku="S", quantity="1", amount="12,50")])
    with pytest.raises(ValidationFailed) as caught:
        create_transaction_model(bad, company_code="ACME")
    assert [i.field for i in caught.value.errors] == ["lines[0].amount"]


# =================================================================== result


def test_results_are_exact_strings_in_the_currency_minor_unit() -> None:
    transaction = decode({
        "id": 7100000001, "code": "inv_42", "status": "Committed", "currencyCode": "EUR",
        "customerCode": "cus_7", "totalTax": 22.8, "extraField": {"ignored": True},
        "lines": [
            {"lineNumber": "1", "lineAmount": 100.0, "taxableAmount": 100.0,
             "exemptAmount": 0.0, "tax": 19.0,
             "details": [{"rate": 0.19, "taxableAmount": 100.0, "tax": 19.0}]},
            {"lineNumber": "2", "lineAmount": 19.99, "taxableAmount": 19.99,
             "exemptAmount": 0, "tax": 3.8,
             "details": [{"rate": 0.19, "taxableAmount": 19.99, "tax": 3.8}]},
        ],
    })  # fmt: skip
    result = to_tax_result(transaction, request())
    assert result.committed is True
    assert (result.document_code, result.currency, result.total_tax) == ("inv_42", "EUR", "22.80")
    assert [(x.number, x.taxable, x.exempt, x.tax, x.rate) for x in result.lines] == [
        ("1", "100.00", "0.00", "19.00", "0.19"),
        ("2", "19.99", "0.00", "3.80", "0.19"),
    ]


def test_yen_results_have_no_decimals() -> None:
    transaction = decode({
        "code": "q", "status": "Temporary", "currencyCode": "JPY", "totalTax": 1235.0,
        "lines": [{"lineNumber": "1", "taxableAmount": 12345.0, "exemptAmount": 0.0,
                   "tax": 1235.0, "details": [{"rate": 0.1, "taxableAmount": 12345}]}],
    })  # fmt: skip
    result = to_tax_result(transaction, request(currency="JPY", kind="estimate"))
    assert result.committed is False
    assert (result.total_tax, result.lines[0].taxable, result.lines[0].tax) == (
        "1235", "12345", "1235",
    )  # fmt: skip


def test_numbers_decode_as_decimals_never_floats() -> None:
    transaction = decode({"lines": [{"details": [{"rate": 0.0725, "taxableAmount": 0.1}]}]})
    (line,) = transaction.lines or []
    (detail,) = line.details or []
    assert isinstance(detail.rate, Decimal)
    assert detail.rate == Decimal("0.0725")
    assert detail.taxableAmount == Decimal("0.1")


def test_the_line_rate_sums_the_jurisdictions_that_taxed_it() -> None:
    nyc = TransactionLine(details=[
        TransactionDetail(rate=Decimal("0.04"), taxableAmount=Decimal(100)),
        TransactionDetail(rate=Decimal("0.045"), taxableAmount=Decimal(100)),
        TransactionDetail(rate=Decimal("0.00375"), taxableAmount=Decimal(100)),
    ])  # fmt: skip
    assert line_rate(nyc) == Decimal("0.08875")
    exempt = TransactionLine(
        details=[TransactionDetail(rate=Decimal("0.19"), exemptAmount=Decimal(100))]
    )
    assert line_rate(exempt) == 0
    no_details = TransactionLine(taxableAmount=Decimal(200), tax=Decimal(40))
    assert line_rate(no_details) == Decimal("0.2")
    assert line_rate(TransactionLine()) == 0


def test_a_recorded_document_must_be_the_requested_one() -> None:
    wanted = request()
    lines = [
        TransactionLine(lineNumber="1", lineAmount=Decimal(200)),
        TransactionLine(lineNumber="2", lineAmount=Decimal("119.880")),
    ]
    same = Transaction(customerCode="cus_7", currencyCode="EUR", lines=lines)
    assert recorded_mismatch(same, wanted) is None
    assert "customer" in str(recorded_mismatch(Transaction(customerCode="x"), wanted))
    other_currency = Transaction(customerCode="cus_7", currencyCode="USD", lines=lines)
    assert "currency" in str(recorded_mismatch(other_currency, wanted))
    fewer = Transaction(customerCode="cus_7", currencyCode="EUR", lines=lines[:1])
    assert recorded_mismatch(fewer, wanted) == "different lines or amounts"


# ===================================================================== wire


def test_transaction_codes_use_avatax_path_escapes() -> None:
    assert transaction_code_segment("inv/1+2?3#4%5 x") == (
        "inv_-ava2f-_1_-ava2b-_2_-ava3f-_3_-ava23-_4_-ava25-_5%20x"
    )
    assert transaction_code_segment("inv_42") == "inv_42"


def test_client_identification_header() -> None:
    assert client_header("q2c-gateway", "1.0", "host-1") == (
        "q2c-gateway; 1.0; python; 1.0; host-1"
    )


def test_auth_needs_both_credentials() -> None:
    assert AvalaraAuth("2000123456", "key").account_id == "2000123456"
    with pytest.raises(ValueError, match="license_key"):
        AvalaraAuth(account_id="2000123456", license_key=" ")


# =================================================================== errors


def envelope(code: str, message: str, *details: dict[str, Any]) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "target": "IncorrectData",
                      "details": list(details)}}  # fmt: skip


def response(status: int, body: Any = None, text: str | None = None) -> httpx.Response:
    if text is not None:
        return httpx.Response(status, text=text)
    return httpx.Response(status, json=body)


def test_a_destination_address_error_is_a_client_error_naming_ship_to() -> None:
    error = translate(response(400, envelope(
        "InvalidAddress", "The address value was incomplete.",
        {"code": "InvalidAddress", "number": 309, "message": "The address value was incomplete.",
         "description": "'region' is missing", "refersTo": "addresses.shipTo",
         "severity": "Error"},
    )))  # fmt: skip
    assert isinstance(error, ValidationFailed)
    assert error.system == "avalara"
    assert "InvalidAddress" in error.detail
    assert [(i.field, i.message, i.code) for i in error.errors] == [
        ("ship_to", "'region' is missing", "InvalidAddress")
    ]


def test_an_address_error_without_details_still_names_ship_to() -> None:
    error = translate(response(400, envelope("AddressRangeError", "Address not found")))
    assert isinstance(error, ValidationFailed)
    assert [(i.field, i.code) for i in error.errors] == [("ship_to", "AddressRangeError")]


def test_an_origin_address_error_stays_a_dependency_rejection() -> None:
    error = translate(response(400, envelope(
        "InvalidCountry", "The country 'XX' is not a recognized country code.",
        {"code": "InvalidCountry", "number": 125, "message": "Not a country.",
         "refersTo": "addresses.shipFrom", "severity": "Error"},
    )))  # fmt: skip
    assert isinstance(error, DependencyRejected)
    assert error.vendor_code == "InvalidCountry"


def test_a_data_error_of_ours_stays_a_dependency_rejection() -> None:
    error = translate(response(400, envelope(
        "InvalidTaxCode", "Tax code is invalid.",
        {"code": "InvalidTaxCode", "number": 402, "message": "Tax code is invalid.",
         "refersTo": "lines[1].taxCode", "severity": "Error"},
    )))  # fmt: skip
    assert isinstance(error, DependencyRejected)
    assert [i.field for i in error.errors] == ["lines[1].category"]


@pytest.mark.parametrize(
    ("refers_to", "code", "field"),
    [
        ("addresses.shipTo", "InvalidAddress", "ship_to"),
        ("", "InvalidCountry", "ship_to.country"),
        ("addresses.shipTo", "InvalidPostalCode", "ship_to.postal_code"),
        ("lines[0].addresses", "MissingAddress", "ship_to"),
        ("code", "StringLengthError", "document_code"),
        ("currencyCode", "ModelStateInvalid", "currency"),
        ("customerCode", "ValueRequiredError", "customer_code"),
        ("date", "DateFormatError", "date"),
        ("exemptionNo", "X", "exemption_number"),
        ("lines[2].amount", "ValueRequiredError", "lines[2].amount"),
        ("lines[1].taxCode", "InvalidTaxCode", "lines[1].category"),
        ("lines[0].itemCode", "X", "lines[0].sku"),
        ("lines[3]", "ModelStateInvalid", "lines[3]"),
        ("somethingElse", "X", "somethingElse"),
        ("", "X", ""),
    ],
)
def test_vendor_fields_map_to_request_fields(refers_to: str, code: str, field: str) -> None:
    assert canonical_field(refers_to, code) == field


@pytest.mark.parametrize("status", [401, 403, 404, 429, 500, 503])
def test_server_auth_and_configuration_failures_are_unavailable(status: int) -> None:
    error = translate(response(status, envelope("ServiceNotReady", "The service is not ready.")))
    assert isinstance(error, DependencyUnavailable)
    assert error.system == "avalara"
    assert f"HTTP {status}" in error.detail
    assert "ServiceNotReady" in error.detail


def test_a_foreign_body_is_reported_by_status() -> None:
    gateway = translate(response(502, text="<html>Bad Gateway</html>"))
    assert isinstance(gateway, DependencyUnavailable)
    assert "HTTP_502" in gateway.detail
    rejected = translate(response(400, text="nope"))
    assert isinstance(rejected, DependencyRejected)
    assert (rejected.vendor_code, rejected.errors) == ("HTTP_400", ())
    assert vendor_error(response(404, text="")).code == "HTTP_404"
