"""Canonical <-> vendor mappings, field by field."""

from __future__ import annotations

import msgspec
import pytest

from contracts.v1.common import Address
from contracts.v1.customers import CustomerCreate, CustomerUpdate
from domains.order.ports import OrderSubmission, Party, SubmissionLine
from systems.salesforce.client import soql_like, soql_literal
from systems.salesforce.mapping import (
    account_from_create,
    account_from_update,
    timestamp,
    to_customer_record,
    to_quote_record,
)
from systems.sap_s4hana.client import key_segment, odata_literal
from systems.sap_s4hana.mapping import (
    business_partner_body,
    date_literal,
    odata_timestamp,
    order_status,
    sales_order_body,
    to_order_record,
    to_product_record,
)


def test_salesforce_timestamps_become_rfc3339() -> None:
    assert timestamp("2026-11-27T04:13:23.000+0000") == "2026-11-27T04:13:23Z"
    assert timestamp(None) is None


def test_soql_literals_escape_quotes_and_wildcards() -> None:
    assert soql_literal("O'Brien \\ Co") == "'O\\'Brien \\\\ Co'"
    assert soql_like("50%_off") == "50\\%\\_off"


def test_account_round_trip() -> None:
    body = account_from_create(
        CustomerCreate(
            name="Acme", country="DE", tax_id="DE1", address=Address(country="DE", city="Köln")
        )
    )
    assert body == {
        "Name": "Acme",
        "BillingCountryCode": "DE",
        "Tax_ID__c": "DE1",
        "BillingCity": "Köln",
    }
    record = to_customer_record(
        {
            "Id": "001X",
            "Name": "Acme",
            "BillingCountryCode": "DE",
            "BillingCity": "Köln",
            "Legal_Entity__c": "Free text Ltd",
            "Q2C_Id__c": "cus_1",
        }
    )
    assert record.address == Address(country="DE", city="Köln")
    assert record.legal_entity is None  # not a routable legal-entity code
    assert record.canonical_id == "cus_1"


def test_patch_maps_only_present_members_and_null_clears() -> None:
    assert account_from_update(CustomerUpdate(industry=None, name="New")) == {
        "Name": "New",
        "Industry": None,
    }
    assert account_from_update(CustomerUpdate()) == {}


def test_quote_status_and_numbers() -> None:
    quote = to_quote_record(
        {
            "Id": "0Q0",
            "Status": "Presented",
            "CurrencyIsoCode": "EUR",
            "TotalPrice": "10.5",
            "Subtotal": "10.5",
            "AccountId": "001",
        },
        [
            {
                "LineNumber": "00002",
                "Product2Id": "01t",
                "Quantity": "2.0",
                "UnitPrice": "5.25",
                "Discount": None,
                "TotalPrice": "10.5",
            }
        ],
        {"01t": "Q2C-1001"},
    )
    assert quote.status == "approved"
    assert quote.lines[0].sku == "Q2C-1001"
    assert quote.lines[0].quantity == "2"
    assert quote.lines[0].line_number == 2


def test_odata_literals_and_keys() -> None:
    assert odata_literal("O'Brien") == "'O''Brien'"
    assert key_segment("Q2C 1") == "('Q2C%201')"


def test_odata_dates() -> None:
    assert odata_timestamp("/Date(1764216000000)/") == "2025-11-27T04:00:00Z"
    assert odata_timestamp("/Date(1764216000000+0000)/") == "2025-11-27T04:00:00Z"
    assert odata_timestamp(None) is None
    assert date_literal("2025-11-27") == "/Date(1764201600000)/"


def test_product_mapping_prefers_english_description() -> None:
    record = to_product_record(
        {
            "Product": "Q2C-2001",
            "ProductType": "DIEN",
            "BaseUnit": "EA",
            "ProductGroup": "SW01",
            "IsMarkedForDeletion": True,
            "to_Description": {
                "results": [
                    {"Language": "DE", "ProductDescription": "Abo"},
                    {"Language": "EN", "ProductDescription": "Subscription"},
                ]
            },
        }
    )
    assert (record.name, record.kind, record.active) == ("Subscription", "service", False)


def test_sales_order_body_carries_reference_and_agreed_prices() -> None:
    body = sales_order_body(
        OrderSubmission(
            reference="ord_X",
            account="1000100",
            currency="EUR",
            requested_delivery_date="2027-01-15",
            lines=[SubmissionLine(line_number=10, sku="M1", quantity="2", unit_price="130.5")],
        ),
        sales_organization="1010",
        distribution_channel="10",
        division="00",
    )
    assert body["PurchaseOrderByCustomer"] == "ord_X"
    assert body["SoldToParty"] == "1000100"
    assert body["RequestedDeliveryDate"].startswith("/Date(")
    [item] = body["to_Item"]
    assert item["Material"] == "M1"
    assert item["RequestedQuantity"] == "2"
    assert item["to_PricingElement"] == [
        {"ConditionType": "PPR0", "ConditionRateValue": "130.5", "ConditionCurrency": "EUR"}
    ]


def test_business_partner_body_is_an_organisation_customer_with_tax_number() -> None:
    body = business_partner_body(
        Party(
            canonical_id="cus_1",
            name="Brightline Robotics BV",
            country="NL",
            tax_id="NL001122334B01",
            city="Utrecht",
            currency="EUR",
        ),
        sales_organization="1010",
        distribution_channel="10",
        division="00",
    )
    assert body["BusinessPartnerCategory"] == "2"
    assert body["SearchTerm1"] == "BRIGHTLINEROBOTICSBV"
    assert {"BusinessPartnerRole": "FLCU01"} in body["to_BusinessPartnerRole"]
    assert body["to_BusinessPartnerTax"] == [{"BPTaxType": "NL0", "BPTaxNumber": "NL001122334B01"}]
    area = body["to_Customer"]["to_CustomerSalesArea"][0]
    assert (area["SalesOrganization"], area["Currency"]) == ("1010", "EUR")


@pytest.mark.parametrize(
    ("entity", "status"),
    [
        ({"OverallSDProcessStatus": "A"}, "acknowledged"),
        ({"OverallSDProcessStatus": "B"}, "in_progress"),
        ({"OverallSDProcessStatus": "C"}, "completed"),
        ({"OverallSDProcessStatus": "A", "TotalCreditCheckStatus": "B"}, "held"),
        ({"OverallSDDocumentRejectionSts": "C"}, "cancelled"),
    ],
)
def test_order_status(entity: dict[str, str], status: str) -> None:
    assert order_status(entity) == status


def test_order_record_reads_items_in_either_shape() -> None:
    entity = {
        "SalesOrder": "5000001",
        "SoldToParty": "1000100",
        "TransactionCurrency": "JPY",
        "TotalNetAmount": "780000",
        "PurchaseOrderByCustomer": "ord_X",
        "to_Item": {
            "results": [
                {
                    "SalesOrderItem": "10",
                    "Material": "M1",
                    "RequestedQuantity": "2.000",
                    "NetAmount": "780000",
                }
            ]
        },
    }
    record = to_order_record(entity)
    assert record.lines[0].quantity == "2"
    assert to_order_record({**entity, "to_Item": entity["to_Item"]["results"]}) == record  # type: ignore[index]
    assert msgspec.json.encode(record)
