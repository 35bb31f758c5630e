"""Canonical <-> NetSuite mappings and error translation, field by field (no I/O)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import msgspec
import pytest

from domains.errors import DependencyRejected, DependencyUnavailable
from domains.order.ports import OrderSubmission, Party, SubmissionLine
from systems.netsuite.client import NetSuiteAuth, eid, record_path, suiteql_literal
from systems.netsuite.errors import translate
from systems.netsuite.mapping import (
    customer_body,
    fulfillment_status,
    order_status,
    ref_id,
    sales_order_body,
    sku_of,
    timestamp,
    to_decimal,
    to_order_record,
)


def test_customer_body_from_party() -> None:
    party = Party(
        canonical_id="cus_01J",
        name="Northwind Traders Ltd",
        country="gb",
        tax_id=" GB555666777 ",
        city="Leeds",
        street="1 Park Row",
        postal_code="LS1 5AB",
        currency="GBP",
        legal_entity="ACME-UK",
    )
    assert customer_body(party, subsidiary="2", currency="1") == {
        "externalId": "cus_01J",
        "companyName": "Northwind Traders Ltd",
        "isPerson": False,
        "subsidiary": {"id": "2"},
        "currency": {"id": "1"},
        "vatRegNumber": "GB555666777",
        "addressBook": {
            "items": [
                {
                    "defaultBilling": True,
                    "defaultShipping": True,
                    "isResidential": False,
                    "addressBookAddress": {
                        "addressee": "Northwind Traders Ltd",
                        "addr1": "1 Park Row",
                        "city": "Leeds",
                        "zip": "LS1 5AB",
                        "country": {"id": "GB"},
                    },
                }
            ]
        },
    }


def test_customer_body_leaves_out_what_the_party_lacks_and_truncates() -> None:
    body = customer_body(
        Party(canonical_id="cus_2", name="N" * 100, country="IE"), subsidiary="2", currency=None
    )
    assert "currency" not in body
    assert "vatRegNumber" not in body
    assert len(body["companyName"]) == 83
    assert body["addressBook"]["items"][0]["addressBookAddress"] == {
        "addressee": "N" * 83,
        "country": {"id": "IE"},
    }


def test_sales_order_body_prices_only_agreed_lines() -> None:
    submission = OrderSubmission(
        reference="ord_01J",
        account="1001",
        currency="GBP",
        legal_entity="ACME-UK",
        requested_delivery_date="2026-12-01",
        lines=[
            SubmissionLine(line_number=10, sku="A-1", quantity="2"),
            SubmissionLine(
                line_number=20, sku="B-2", quantity="1.5", description="Agreed", unit_price="9.5"
            ),
        ],
    )
    body = sales_order_body(
        submission, entity="1001", subsidiary="2", currency="1", items={"A-1": "101", "B-2": "106"}
    )
    assert body == {
        "externalId": "ord_01J",
        "entity": {"id": "1001"},
        "subsidiary": {"id": "2"},
        "currency": {"id": "1"},
        "shipDate": "2026-12-01",
        "item": {
            "items": [
                {"item": {"id": "101"}, "quantity": Decimal("2")},
                {
                    "item": {"id": "106"},
                    "quantity": Decimal("1.5"),
                    "price": {"id": "-1"},
                    "rate": Decimal("9.5"),
                    "description": "Agreed",
                },
            ]
        },
    }
    assert "otherRefNum" not in body
    assert "tranDate" not in body
    # Numbers go out as JSON numbers, never through float.
    wire = msgspec.json.Encoder(decimal_format="number").encode(body["item"])
    assert b'"quantity":1.5' in wire
    assert b'"rate":9.5' in wire


def test_sales_order_body_can_keep_canonical_line_numbers_in_a_custom_column() -> None:
    submission = OrderSubmission(
        reference="ord_01J",
        account="1001",
        currency="GBP",
        lines=[SubmissionLine(line_number=20, sku="A-1", quantity="1")],
    )
    body = sales_order_body(
        submission,
        entity="1001",
        subsidiary="2",
        currency="1",
        items={"A-1": "101"},
        line_number_field="custcol_q2c_line",
    )
    assert body["item"]["items"] == [
        {"item": {"id": "101"}, "quantity": Decimal("1"), "custcol_q2c_line": 20}
    ]
    assert "shipDate" not in body


def _order(**overrides: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": "5001",
        "externalId": "ord_01J",
        "entity": {"id": "1001", "refName": "Fabrikam Logistics Ltd"},
        "currency": {"id": "1", "refName": "British pound"},
        "orderStatus": {"id": "A", "refName": "Pending Approval"},
        "subtotal": Decimal("8414.0"),
        "total": Decimal("8414.0"),
        "createdDate": "2026-01-05T09:00:00Z",
        "item": {
            "items": [
                {
                    "line": 2,
                    "item": {"id": "106", "refName": "Q2C-2001"},
                    "itemType": {"id": "Service", "refName": "Service"},
                    "quantity": Decimal("12.0"),
                    "rate": Decimal("9.5"),
                    "amount": Decimal("114.0"),
                    "description": "Fleet monitoring",
                },
                {
                    "line": 1,
                    "item": {"id": "101", "refName": "Q2C-1001"},
                    "itemType": {"id": "InvtPart", "refName": "Inventory Item"},
                    "quantity": 2,
                    "amount": 8300,
                    "units": {"id": "1", "refName": "Each"},
                },
                {"line": 3, "itemType": {"id": "Subtotal"}, "amount": Decimal("8414.0")},
            ]
        },
    }
    order.update(overrides)
    return order


def test_to_order_record_from_an_expanded_sales_order() -> None:
    record = to_order_record(_order(shipDate="2026-12-01"), currency="GBP")
    assert record.system_id == "5001"
    assert record.reference == "ord_01J"
    assert record.account == "1001"
    assert record.status == "acknowledged"
    assert record.fulfillment_status == "unfulfilled"
    assert record.currency == "GBP"
    assert record.total_net == "8414.00"
    assert record.created_at == "2026-01-05T09:00:00Z"
    assert record.requested_delivery_date == "2026-12-01"
    assert [
        (ln.line_number, ln.sku, ln.description, ln.quantity, ln.unit_of_measure, ln.net_amount)
        for ln in record.lines
    ] == [
        (1, "Q2C-1001", "", "2", "Each", "8300.00"),
        (2, "Q2C-2001", "Fleet monitoring", "12", "", "114.00"),
    ]


def test_to_order_record_reads_canonical_line_numbers_from_the_custom_column() -> None:
    order = _order()
    order["item"]["items"][0]["custcol_q2c_line"] = 20
    order["item"]["items"][1]["custcol_q2c_line"] = Decimal("10")
    record = to_order_record(order, currency="GBP", line_number_field="custcol_q2c_line")
    assert [(ln.line_number, ln.sku) for ln in record.lines] == [(10, "Q2C-1001"), (20, "Q2C-2001")]
    assert [ln.line_number for ln in to_order_record(order, currency="GBP").lines] == [1, 2]


def test_to_order_record_quantises_to_the_currency_and_tolerates_gaps() -> None:
    record = to_order_record(
        _order(subtotal=Decimal("2000000.0"), externalId=None, createdDate=None, item=None),
        currency="JPY",
    )
    assert record.total_net == "2000000"
    assert record.reference is None
    assert record.created_at is None
    assert record.lines == []


@pytest.mark.parametrize(
    ("code", "status", "fulfilment"),
    [
        ("A", "acknowledged", "unfulfilled"),
        ("B", "in_progress", "unfulfilled"),
        ("C", "cancelled", "unfulfilled"),
        ("D", "in_progress", "partially_fulfilled"),
        ("E", "in_progress", "partially_fulfilled"),
        ("F", "in_progress", "fulfilled"),
        ("G", "completed", "fulfilled"),
    ],
)
def test_order_status_codes(code: str, status: str, fulfilment: str) -> None:
    order = _order(orderStatus={"id": code})
    assert order_status(order) == status
    assert fulfillment_status(order) == fulfilment


def test_order_status_by_name_when_the_code_is_missing() -> None:
    assert order_status(_order(orderStatus=None, status={"refName": "Billed"})) == "completed"
    assert order_status(_order(orderStatus="Pending Fulfillment")) == "in_progress"
    assert order_status(_order(orderStatus=None)) == "acknowledged"


def test_a_closed_order_takes_its_fulfilment_from_the_lines() -> None:
    def closed(*fulfilled: int) -> dict[str, Any]:
        lines = [
            {"line": n, "item": {"id": "101"}, "quantity": 2, "quantityFulfilled": done}
            for n, done in enumerate(fulfilled, start=1)
        ]
        return _order(orderStatus={"id": "H"}, item={"items": lines})

    assert order_status(closed(2)) == "completed"
    assert order_status(closed(0, 0)) == "cancelled"  # closed before anything shipped
    assert order_status(closed(0, 1)) == "completed"
    assert fulfillment_status(closed(2, 2)) == "fulfilled"
    assert fulfillment_status(closed(2, 1)) == "partially_fulfilled"
    assert fulfillment_status(closed(0, 0)) == "unfulfilled"


def test_a_pending_order_with_a_hold_reason_reads_as_held() -> None:
    held = _order(orderStatus={"id": "A"}, custbody_q2c_hold_reason="payment failed")
    assert order_status(held, "custbody_q2c_hold_reason") == "held"
    assert order_status(held) == "acknowledged"  # no hold field configured
    approved = _order(orderStatus={"id": "B"}, custbody_q2c_hold_reason="old reason")
    assert order_status(approved, "custbody_q2c_hold_reason") == "in_progress"


def test_reading_helpers() -> None:
    assert ref_id({"id": "7", "refName": "x"}) == "7"
    assert ref_id(Decimal("7")) == "7"
    assert ref_id({"refName": "x"}) is None
    assert sku_of({"id": "9", "refName": "Parent : Child-1"}) == "Child-1"
    assert sku_of({"id": "9"}) == "9"
    assert to_decimal(Decimal("1.50")) == Decimal("1.50")
    assert to_decimal("oops") == 0
    assert to_decimal(True) == 0
    assert timestamp("2026-03-01T10:22:00.000+01:00") == "2026-03-01T09:22:00Z"
    assert timestamp("2026-03-01T10:22:00") == "2026-03-01T10:22:00Z"
    assert timestamp("not a date") is None


def test_client_addressing_and_literals() -> None:
    assert eid("ord_01J") == "eid:ord_01J"
    assert (
        record_path("salesOrder", eid("a b/c"))
        == "/services/rest/record/v1/salesOrder/eid:a%20b%2Fc"
    )
    assert suiteql_literal("O'Brien") == "'O''Brien'"
    with pytest.raises(ValueError, match="access_token"):
        NetSuiteAuth(access_token=" ")


def _response(status: int, body: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else msgspec.json.encode(body)
    return httpx.Response(status, content=content)


def test_translate_a_field_error_to_a_rejection() -> None:
    error = translate(
        _response(
            400,
            {
                "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1",
                "title": "Bad Request",
                "status": 400,
                "o:errorDetails": [
                    {
                        "detail": "You have entered an Invalid Field Value 99 for the following "
                        "field: entity",
                        "o:errorPath": "entity",
                        "o:errorCode": "USER_ERROR",
                    },
                    {"detail": "Bad limit", "o:errorQueryParam": "limit", "o:errorCode": "X"},
                ],
            },
        )
    )
    assert isinstance(error, DependencyRejected)
    assert error.system == "netsuite"
    assert error.vendor_code == "USER_ERROR"
    assert "Invalid Field Value 99" in error.vendor_message
    assert [(i.field, i.code) for i in error.errors] == [("entity", "USER_ERROR"), ("limit", "X")]


def test_translate_duplicate_record_keeps_the_vendor_code() -> None:
    error = translate(
        _response(
            400,
            {
                "status": 400,
                "o:errorDetails": [
                    {"detail": "This record already exists.", "o:errorCode": "DUP_RCRD"}
                ],
            },
        )
    )
    assert isinstance(error, DependencyRejected)
    assert error.vendor_code == "DUP_RCRD"


@pytest.mark.parametrize("status", [401, 403, 429, 500, 503])
def test_translate_server_and_access_failures_to_unavailable(status: int) -> None:
    error = translate(
        _response(
            status, {"status": status, "o:errorDetails": [{"detail": "no", "o:errorCode": "E"}]}
        )
    )
    assert isinstance(error, DependencyUnavailable)
    assert error.system == "netsuite"
    assert f"HTTP {status} E" in error.detail


def test_translate_a_body_that_is_not_netsuite_json() -> None:
    error = translate(_response(502, b"<html>Bad Gateway</html>"))
    assert isinstance(error, DependencyUnavailable)
    assert "Bad Gateway" in error.detail
    rejected = translate(_response(400, b"nope"))
    assert isinstance(rejected, DependencyRejected)
    assert rejected.vendor_code == "HTTP_400"
