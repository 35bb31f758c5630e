"""The sandbox's ``$metadata`` against SAP's published EDMX for the three services.

The vendor side is ``tests/fixtures/vendor/sap_s4hana/<SERVICE>.facts.json``: the facts of
SAP's EDMX documents (source, commit, licence and checksum in that folder's README), read
by the same reader that reads the sandbox's ``$metadata`` here. Every entity set, property
and navigation the sandbox serves must exist in SAP's document with the same type,
nullability, ``MaxLength``, ``Precision``, ``Scale``, concurrency token and
creatable/updatable flags; and everything the adapters read or write must be served.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandboxes.sap_s4hana.app import SERVICE_ROOT, SapSandbox, create_app
from tests.support.edmx import entity_set_facts

VENDOR = Path(__file__).resolve().parents[2] / "fixtures" / "vendor" / "sap_s4hana"
SERVICES = ("API_PRODUCT_SRV", "API_BUSINESS_PARTNER", "API_SALES_ORDER_SRV")

# What systems/sap_s4hana reads, filters on or writes, per entity set (properties and
# navigations). Kept by hand from the adapter and its mapping; the test below proves each
# one is in SAP's document and served by the sandbox.
ADAPTER_USES: dict[str, dict[str, tuple[str, ...]]] = {
    "A_Product": {
        "properties": (
            "Product", "ProductType", "IsMarkedForDeletion", "ProductGroup", "BaseUnit",
            "LastChangeDate", "CreationDate",
        ),
        "navigations": ("to_Description",),
    },
    "A_ProductDescription": {"properties": ("Language", "ProductDescription"), "navigations": ()},
    "A_BusinessPartner": {
        "properties": (
            "BusinessPartner", "Customer", "BusinessPartnerCategory", "OrganizationBPName1",
            "OrganizationBPName2", "SearchTerm1",
        ),
        "navigations": (
            "to_BusinessPartnerAddress", "to_BusinessPartnerRole", "to_BusinessPartnerTax",
            "to_Customer",
        ),
    },
    "A_BusinessPartnerAddress": {
        "properties": ("Country", "CityName", "PostalCode", "StreetName"),
        "navigations": (),
    },
    "A_BusinessPartnerRole": {"properties": ("BusinessPartnerRole",), "navigations": ()},
    "A_BusinessPartnerTaxNumber": {
        "properties": ("BusinessPartner", "BPTaxType", "BPTaxNumber"),
        "navigations": (),
    },
    "A_Customer": {
        "properties": ("Customer", "OrderIsBlockedForCustomer"),
        "navigations": ("to_CustomerSalesArea",),
    },
    "A_CustomerSalesArea": {
        "properties": (
            "SalesOrganization", "DistributionChannel", "Division", "Currency",
            "OrderIsBlockedForCustomer",
        ),
        "navigations": (),
    },
    "A_SalesOrder": {
        "properties": (
            "SalesOrder", "SalesOrderType", "SalesOrganization", "DistributionChannel",
            "OrganizationDivision", "SoldToParty", "PurchaseOrderByCustomer",
            "TransactionCurrency", "RequestedDeliveryDate", "TotalNetAmount", "CreationDate",
            "LastChangeDateTime", "OverallSDProcessStatus", "TotalCreditCheckStatus",
            "OverallTotalDeliveryStatus", "OverallSDDocumentRejectionSts",
            "DeliveryBlockReason", "HeaderBillingBlockReason",
        ),
        "navigations": ("to_Item",),
    },
    "A_SalesOrderItem": {
        "properties": (
            "SalesOrder", "SalesOrderItem", "Material", "RequestedQuantity",
            "RequestedQuantityUnit", "SalesOrderItemText", "NetAmount",
            "SalesDocumentRjcnReason", "DeliveryStatus",
        ),
        "navigations": ("to_PricingElement",),
    },
    "A_SalesOrderItemPrElement": {
        "properties": ("ConditionType", "ConditionRateValue", "ConditionCurrency"),
        "navigations": (),
    },
}  # fmt: skip


def _vendor(service: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((VENDOR / f"{service}.facts.json").read_text())
    assert document["service"] == service
    facts: dict[str, Any] = document["entity_sets"]
    return facts


@pytest.fixture(scope="module")
def served() -> dict[str, dict[str, Any]]:
    """Facts of the ``$metadata`` the sandbox serves over HTTP, per service."""

    async def read() -> dict[str, dict[str, Any]]:
        transport = httpx.ASGITransport(app=create_app(SapSandbox(seed=False)))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://sap.sandbox", auth=("Q2C_GATEWAY", "sandbox")
        ) as client:
            documents = {}
            for service in SERVICES:
                response = await client.get(f"{SERVICE_ROOT}/{service}/$metadata")
                assert response.status_code == 200
                documents[service] = entity_set_facts(response.content)
            return documents

    return asyncio.run(read())


@pytest.mark.parametrize("service", SERVICES)
def test_every_served_entity_set_is_one_of_saps(
    served: dict[str, dict[str, Any]], service: str
) -> None:
    vendor = _vendor(service)
    for name, ours in served[service].items():
        assert name in vendor, f"{service}: SAP's document has no entity set {name}"
        theirs = vendor[name]
        assert (ours["entity_type"], ours["keys"]) == (theirs["entity_type"], theirs["keys"])
        for flag in ("creatable", "updatable", "deletable"):
            # The sandbox may implement less than SAP offers, never more.
            assert not ours[flag] or theirs[flag], f"{name}: sap:{flag} is false in SAP's EDMX"


@pytest.mark.parametrize("service", SERVICES)
def test_every_served_property_matches_saps(
    served: dict[str, dict[str, Any]], service: str
) -> None:
    vendor = _vendor(service)
    mismatches = []
    for name, ours in served[service].items():
        theirs = vendor[name]["properties"]
        for prop, facts in ours["properties"].items():
            if prop not in theirs:
                mismatches.append(f"{name}.{prop}: not in SAP's document")
            elif facts != theirs[prop]:
                diff = {k: (v, theirs[prop][k]) for k, v in facts.items() if v != theirs[prop][k]}
                mismatches.append(f"{name}.{prop}: (sandbox, SAP) differ in {diff}")
    assert mismatches == []


@pytest.mark.parametrize("service", SERVICES)
def test_every_served_navigation_matches_saps(
    served: dict[str, dict[str, Any]], service: str
) -> None:
    vendor = _vendor(service)
    for name, ours in served[service].items():
        for nav, facts in ours["navigations"].items():
            assert vendor[name]["navigations"].get(nav) == facts, f"{name}/{nav}"


def test_everything_the_adapter_uses_is_in_saps_document_and_served(
    served: dict[str, dict[str, Any]],
) -> None:
    vendor = {name: facts for service in SERVICES for name, facts in _vendor(service).items()}
    ours = {name: facts for service in SERVICES for name, facts in served[service].items()}
    for entity_set, uses in ADAPTER_USES.items():
        for kind in ("properties", "navigations"):
            for name in uses[kind]:
                assert name in vendor[entity_set][kind], f"SAP has no {entity_set}.{name}"
                assert name in ours[entity_set][kind], f"the sandbox lacks {entity_set}.{name}"


def test_the_sales_order_header_carries_saps_concurrency_token(
    served: dict[str, dict[str, Any]],
) -> None:
    def tokens(facts: dict[str, Any]) -> list[str]:
        return [p for p, f in facts["properties"].items() if f["concurrency"]]

    vendor = _vendor("API_SALES_ORDER_SRV")
    assert tokens(vendor["A_SalesOrder"]) == ["LastChangeDateTime"]
    assert tokens(served["API_SALES_ORDER_SRV"]["A_SalesOrder"]) == ["LastChangeDateTime"]
    # Items have none of their own in SAP's document: a change to an item is not conditional.
    assert tokens(vendor["A_SalesOrderItem"]) == []


def test_the_facts_reader_reads_an_edmx_document() -> None:
    """The reader itself, on a document small enough to check by eye."""
    document = b"""<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx"
 xmlns:sap="http://www.sap.com/Protocols/SAPData"><edmx:DataServices>
<Schema Namespace="S" xmlns="http://schemas.microsoft.com/ado/2008/09/edm">
<EntityType Name="HT"><Key><PropertyRef Name="Id"/></Key>
<Property Name="Id" Type="Edm.String" Nullable="false" MaxLength="10"/>
<Property Name="Stamp" Type="Edm.DateTimeOffset" Precision="7" ConcurrencyMode="Fixed"
 sap:updatable="false"/>
<NavigationProperty Name="to_L" Relationship="S.A" FromRole="F" ToRole="T"/></EntityType>
<EntityType Name="LT"><Key><PropertyRef Name="Id"/></Key>
<Property Name="Id" Type="Edm.String" Nullable="false"/></EntityType>
<Association Name="A"><End Type="S.HT" Multiplicity="1" Role="F"/>
<End Type="S.LT" Multiplicity="*" Role="T"/></Association>
<EntityContainer Name="C"><EntitySet Name="H" EntityType="S.HT" sap:deletable="false"/>
<EntitySet Name="L" EntityType="S.LT"/></EntityContainer></Schema></edmx:DataServices>
</edmx:Edmx>"""
    facts = entity_set_facts(document, ["H"])
    assert facts["H"]["keys"] == ["Id"]
    assert facts["H"]["deletable"] is False
    assert facts["H"]["properties"]["Id"]["max_length"] == 10
    assert facts["H"]["properties"]["Id"]["nullable"] is False
    assert facts["H"]["properties"]["Stamp"]["concurrency"] is True
    assert facts["H"]["properties"]["Stamp"]["updatable"] is False
    assert facts["H"]["navigations"] == {"to_L": {"target": "L", "multiplicity": "*"}}
