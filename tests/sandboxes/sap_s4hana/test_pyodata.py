"""SAP's public OData V2 client library, pyodata, against the sandbox served over real HTTP.

CSRF is set up exactly as pyodata's documentation ("Creating") tells its users:
``session.head(SERVICE_URL, headers={'x-csrf-token': 'fetch'})`` and the token
copied into the session headers; ``requests.Session`` keeps the session cookie.
pyodata itself does no CSRF handling.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyodata
import pytest
import requests
from pyodata.exceptions import HttpError

from sandboxes import demo_data
from sandboxes.sap_s4hana.app import SERVICE_ROOT, SapSandbox, create_app
from tests.support.servers import serve_in_thread

pytestmark = pytest.mark.e2e

AUTH = ("Q2C_GATEWAY", "sandbox")


@dataclass(frozen=True)
class Tenant:
    url: str
    sandbox: SapSandbox

    def service_url(self, service: str) -> str:
        return f"{self.url}{SERVICE_ROOT}/{service}"


@pytest.fixture(scope="module")
def tenant() -> Iterator[Tenant]:
    sandbox = SapSandbox()
    with serve_in_thread(create_app(sandbox)) as url:
        yield Tenant(url, sandbox)


def _session(service_url: str) -> requests.Session:
    session = requests.Session()
    session.auth = AUTH
    response = session.head(service_url, headers={"x-csrf-token": "fetch"})
    assert response.status_code == 200
    session.headers.update({"x-csrf-token": response.headers["x-csrf-token"]})
    return session


def _client(tenant: Tenant, service: str) -> Any:
    url = tenant.service_url(service)
    return pyodata.Client(url, _session(url))


@pytest.mark.parametrize(
    ("service", "entity_sets"),
    [
        ("API_PRODUCT_SRV", ["A_Product", "A_ProductDescription"]),
        (
            "API_BUSINESS_PARTNER",
            [
                "A_BusinessPartner",
                "A_BusinessPartnerAddress",
                "A_BusinessPartnerRole",
                "A_BusinessPartnerTaxNumber",
                "A_Customer",
                "A_CustomerSalesArea",
            ],
        ),
        ("API_SALES_ORDER_SRV", ["A_SalesOrder", "A_SalesOrderItem", "A_SalesOrderItemPrElement"]),
    ],
)
def test_client_loads_metadata(tenant: Tenant, service: str, entity_sets: list[str]) -> None:
    client = _client(tenant, service)
    assert client.schema.is_valid
    assert [s.name for s in client.schema.entity_sets] == entity_sets
    for name in entity_sets:
        assert getattr(client.entity_sets, name) is not None


def test_metadata_needs_credentials(tenant: Tenant) -> None:
    with pytest.raises(HttpError) as raised:
        pyodata.Client(tenant.service_url("API_PRODUCT_SRV"), requests.Session())
    assert raised.value.response.status_code == 401


def test_reads_products_with_filter_and_top(tenant: Tenant) -> None:
    products = _client(tenant, "API_PRODUCT_SRV").entity_sets.A_Product
    services = (
        products.get_entities().filter("ProductType eq 'DIEN'").top(2).count(inline=True).execute()
    )
    assert [p.Product for p in services] == ["Q2C-2001", "Q2C-2002"]
    assert services.total_count == 6
    assert services.next_url is None

    request = products.get_entities()
    hardware = request.filter(request.ProductGroup == "HW02").order_by("Product desc").execute()
    assert [p.Product for p in hardware] == ["Q2C-1004", "Q2C-1003"]
    active = (
        products.get_entities()
        .filter(IsMarkedForDeletion=False, Product__startswith="Q2C-3")
        .execute()
    )
    assert [p.Product for p in active] == ["Q2C-3001", "Q2C-3002", "Q2C-3003"]


def test_reads_product_by_key_with_typed_values(tenant: Tenant) -> None:
    products = _client(tenant, "API_PRODUCT_SRV").entity_sets.A_Product
    product = products.get_entity("Q2C-9001").expand("to_Description").execute()
    assert product.ProductType == "FERT"
    assert product.IsMarkedForDeletion is True
    assert product.CreationDate == datetime.datetime(2024, 1, 15, tzinfo=datetime.UTC)
    assert product.LastChangeDateTime.utcoffset() == datetime.timedelta(0)
    assert [d.ProductDescription for d in product.to_Description] == [
        "Legacy Gateway G1 (end of life)"
    ]
    with pytest.raises(HttpError) as raised:
        products.get_entity("Q2C-0000").execute()
    assert raised.value.response.status_code == 404


def test_reads_composite_keys(tenant: Tenant) -> None:
    client = _client(tenant, "API_PRODUCT_SRV")
    description = client.entity_sets.A_ProductDescription.get_entity(
        Product="Q2C-1003", Language="EN"
    ).execute()
    assert description.ProductDescription == "Industrial Sensor Hub S8"
    partners = _client(tenant, "API_BUSINESS_PARTNER")
    area = partners.entity_sets.A_CustomerSalesArea.get_entity(
        Customer="1000102",
        SalesOrganization="1010",
        DistributionChannel="10",
        Division="00",
    ).execute()
    assert area.Currency == "GBP"


def test_follows_server_driven_paging() -> None:
    sandbox = SapSandbox(page_size=5)
    with serve_in_thread(create_app(sandbox)) as url:
        client = _client(Tenant(url, sandbox), "API_PRODUCT_SRV")
        seen: list[str] = []
        page = client.entity_sets.A_Product.get_entities().execute()
        for _ in range(5):  # bounded: a broken __next must fail, not loop
            seen += [p.Product for p in page]
            if page.next_url is None:
                break
            page = client.entity_sets.A_Product.get_entities().next_url(page.next_url).execute()
    assert seen == [p.material for p in demo_data.PRODUCTS]


def test_creates_sales_order_with_deep_insert(tenant: Tenant) -> None:
    orders = _client(tenant, "API_SALES_ORDER_SRV").entity_sets.A_SalesOrder
    created = (
        orders.create_entity()
        .set(
            **{
                "SalesOrderType": "OR",
                "SalesOrganization": "1010",
                "DistributionChannel": "10",
                "OrganizationDivision": "00",
                "SoldToParty": "1000101",
                "PurchaseOrderByCustomer": "PYODATA-0001",
                "TransactionCurrency": "USD",
                "RequestedDeliveryDate": datetime.datetime(2026, 12, 15, tzinfo=datetime.UTC),
                "to_Item": [
                    {"Material": "Q2C-1003", "RequestedQuantity": "12"},
                    {
                        "Material": "Q2C-2001",
                        "RequestedQuantity": "120",
                        "to_PricingElement": [
                            {
                                "ConditionType": "PPR0",
                                "ConditionRateValue": "12.75",
                                "ConditionCurrency": "USD",
                            }
                        ],
                    },
                ],
            }
        )
        .execute()
    )
    assert created.SalesOrder.isdigit()
    assert created.TotalNetAmount == "17730.00"  # 12 x 1350.00 + 120 x 12.75
    assert created.RequestedDeliveryDate == datetime.datetime(2026, 12, 15, tzinfo=datetime.UTC)
    assert [(i.SalesOrderItem, i.NetAmount) for i in created.to_Item] == [
        ("10", "16200.00"),
        ("20", "1530.00"),
    ]

    stored = {o["SalesOrder"]: o for o in tenant.sandbox.sales_orders()}
    assert stored[created.SalesOrder]["PurchaseOrderByCustomer"] == "PYODATA-0001"
    assert len(stored[created.SalesOrder]["to_Item"]) == 2

    items = orders.get_entity(created.SalesOrder).nav("to_Item").get_entities().execute()
    assert [i.Material for i in items] == ["Q2C-1003", "Q2C-2001"]


def test_rejected_sales_order_surfaces_sap_error(tenant: Tenant) -> None:
    orders = _client(tenant, "API_SALES_ORDER_SRV").entity_sets.A_SalesOrder
    with pytest.raises(HttpError) as raised:
        orders.create_entity().set(
            SalesOrderType="OR",
            SalesOrganization="1010",
            DistributionChannel="10",
            OrganizationDivision="00",
            SoldToParty="1000101",
            TransactionCurrency="USD",
            to_Item=[{"Material": "Q2C-9001", "RequestedQuantity": "1"}],
        ).execute()
    response = raised.value.response
    assert response.status_code == 400
    assert "Q2C-9001" in response.json()["error"]["message"]["value"]


def test_filters_sales_orders_by_customer_reference(tenant: Tenant) -> None:
    orders = _client(tenant, "API_SALES_ORDER_SRV").entity_sets.A_SalesOrder
    created = (
        orders.create_entity()
        .set(
            SalesOrderType="OR",
            SalesOrganization="1010",
            DistributionChannel="10",
            OrganizationDivision="00",
            SoldToParty="1000103",
            PurchaseOrderByCustomer="PYODATA-LOOKUP",
            to_Item=[{"Material": "Q2C-3003", "RequestedQuantity": "40"}],
        )
        .execute()
    )
    request = orders.get_entities()
    found = (
        request.filter(request.PurchaseOrderByCustomer == "PYODATA-LOOKUP")
        .expand("to_Item")
        .execute()
    )
    assert [o.SalesOrder for o in found] == [created.SalesOrder]
    assert found[0].TransactionCurrency == "USD"  # from the customer's sales area
    assert found[0].to_Item[0].NetAmount == "7200.00"
    by_kwargs = orders.get_entities().filter(PurchaseOrderByCustomer="PYODATA-LOOKUP").execute()
    assert [o.SalesOrder for o in by_kwargs] == [created.SalesOrder]
    assert orders.get_entities().filter(PurchaseOrderByCustomer="NO-SUCH-PO").execute() == []


def test_creates_business_partner_with_customer(tenant: Tenant) -> None:
    partners = _client(tenant, "API_BUSINESS_PARTNER").entity_sets
    created = (
        partners.A_BusinessPartner.create_entity()
        .set(
            **{
                "BusinessPartnerCategory": "2",
                "OrganizationBPName1": "Alpine Ski House AG",
                "SearchTerm1": "ALPINESKIHOUSE",
                "to_BusinessPartnerAddress": [
                    {"Country": "AT", "CityName": "Innsbruck", "PostalCode": "6020"}
                ],
                "to_BusinessPartnerRole": [
                    {"BusinessPartnerRole": "FLCU00"},
                    {"BusinessPartnerRole": "FLCU01"},
                ],
                "to_BusinessPartnerTax": [{"BPTaxType": "AT0", "BPTaxNumber": "ATU63784617"}],
                "to_Customer": {
                    "to_CustomerSalesArea": [
                        {
                            "SalesOrganization": "1010",
                            "DistributionChannel": "10",
                            "Division": "00",
                            "Currency": "EUR",
                        }
                    ]
                },
            }
        )
        .execute()
    )
    assert int(created.BusinessPartner) >= 1000200
    assert created.Customer == created.BusinessPartner
    assert created.to_Customer.to_CustomerSalesArea[0].Currency == "EUR"

    customer = partners.A_Customer.get_entity(created.Customer).execute()
    assert customer.CustomerFullName == "Alpine Ski House AG"
    partners.A_BusinessPartner.update_entity(created.BusinessPartner).set(
        SearchTerm2="TYROL"
    ).execute()
    reread = partners.A_BusinessPartner.get_entity(created.BusinessPartner).execute()
    assert reread.SearchTerm2 == "TYROL"
    snapshot = {p["BusinessPartner"]: p for p in tenant.sandbox.business_partners()}
    assert snapshot[created.BusinessPartner]["to_BusinessPartnerTax"][0]["BPTaxType"] == "AT0"


def test_reads_the_customers_order_blocks(tenant: Tenant) -> None:
    """What the adapter's credit_status reads: A_Customer with its sales areas."""
    blocked, reason = demo_data.SAP_ORDER_BLOCKED_CUSTOMER
    customers = _client(tenant, "API_BUSINESS_PARTNER").entity_sets.A_Customer
    customer = customers.get_entity(blocked).expand("to_CustomerSalesArea").execute()
    assert customer.OrderIsBlockedForCustomer == reason
    assert [a.OrderIsBlockedForCustomer for a in customer.to_CustomerSalesArea] == [""]


def _order(tenant: Tenant, reference: str) -> Any:
    orders = _client(tenant, "API_SALES_ORDER_SRV").entity_sets.A_SalesOrder
    return (
        orders.create_entity()
        .set(
            SalesOrderType="OR",
            SalesOrganization="1010",
            DistributionChannel="10",
            OrganizationDivision="00",
            SoldToParty="1000100",
            PurchaseOrderByCustomer=reference,
            to_Item=[
                {"Material": "Q2C-1001", "RequestedQuantity": "1"},
                {"Material": "Q2C-2001", "RequestedQuantity": "3"},
            ],
        )
        .execute()
    )


def test_merges_the_header_with_the_etag_pyodata_read(tenant: Tenant) -> None:
    """The adapter's hold: a conditional change on the ETag of a single-entity read."""
    number = _order(tenant, "PYODATA-HOLD").SalesOrder
    orders = _client(tenant, "API_SALES_ORDER_SRV").entity_sets.A_SalesOrder
    header = orders.get_entity(number).execute()
    assert header.etag is not None
    assert header.etag.startswith('W/"datetimeoffset')
    unconditional = orders.update_entity(number, method="MERGE").set(DeliveryBlockReason="01")
    with pytest.raises(HttpError) as required:
        unconditional.execute()
    assert required.value.response.status_code == 428
    change = orders.update_entity(number, method="MERGE").set(DeliveryBlockReason="01")
    change.add_headers({"If-Match": header.etag})
    change.execute()
    stale = orders.update_entity(number, method="MERGE").set(HeaderBillingBlockReason="01")
    stale.add_headers({"If-Match": header.etag})
    with pytest.raises(HttpError) as failed:
        stale.execute()
    assert failed.value.response.status_code == 412
    reread = orders.get_entity(number).execute()
    assert reread.etag != header.etag
    assert (reread.DeliveryBlockReason, reread.HeaderBillingBlockReason) == ("01", "")


def test_rejects_items_and_lists_orders_of_a_customer(tenant: Tenant) -> None:
    """The adapter's cancel (PATCH every item) and its order list (newest first)."""
    number = _order(tenant, "PYODATA-CANCEL").SalesOrder
    service = _client(tenant, "API_SALES_ORDER_SRV").entity_sets
    for item in ("10", "20"):
        service.A_SalesOrderItem.update_entity(SalesOrder=number, SalesOrderItem=item).set(
            SalesDocumentRjcnReason="10"
        ).execute()
    header = service.A_SalesOrder.get_entity(number).expand("to_Item").execute()
    assert header.OverallSDDocumentRejectionSts == "C"
    assert [i.SalesDocumentRjcnReason for i in header.to_Item] == ["10", "10"]
    request = service.A_SalesOrder.get_entities()
    newest = (
        request.filter(request.SoldToParty == "1000100")
        .order_by("SalesOrder desc")
        .top(2)
        .execute()
    )
    assert newest[0].SalesOrder == number
