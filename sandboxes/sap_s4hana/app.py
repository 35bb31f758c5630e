"""An in-memory SAP S/4HANA Cloud tenant speaking OData V2, for tests, demos and benchmarks.

``create_app()`` returns a plain ASGI application that serves
``API_PRODUCT_SRV``, ``API_BUSINESS_PARTNER`` and ``API_SALES_ORDER_SRV``
under ``/sap/opu/odata/sap`` with SAP Gateway's conventions: HTTP Basic
authentication, CSRF token + session cookie for writes, JSON verbose
(``{"d": ...}``) payloads, ``$metadata`` EDMX and the Gateway error envelope.
It runs in-process behind ``httpx.ASGITransport`` or under any ASGI server.

``SapSandbox`` holds the tenant's data, seeded from ``sandboxes.demo_data``,
and implements the business rules a client notices: number ranges, deep
inserts, sales order validation and pricing. Every entity set is indexed by
key, so by-key reads and navigations never scan.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from sandboxes import demo_data
from sandboxes.sap_s4hana.http import ASGIApp, SandboxApp
from sandboxes.sap_s4hana.metadata import (
    A_BUSINESS_PARTNER,
    A_BUSINESS_PARTNER_ADDRESS,
    A_BUSINESS_PARTNER_ROLE,
    A_BUSINESS_PARTNER_TAX,
    A_CUSTOMER,
    A_CUSTOMER_SALES_AREA,
    A_PRODUCT,
    A_PRODUCT_DESCRIPTION,
    A_SALES_ORDER,
    A_SALES_ORDER_ITEM,
    A_SALES_ORDER_ITEM_PRICING,
    SERVICES,
    EntityType,
    Nav,
)
from sandboxes.sap_s4hana.odata import (
    CURRENCY_DECIMALS,
    SERVICE_ROOT,
    ErrorDetail,
    ODataError,
    Row,
    bad_request,
    default_value,
    from_wire,
    not_found,
    quantize,
)

__all__ = [
    "SERVICE_ROOT",
    "ASGIApp",
    "SandboxFaults",
    "SapSandbox",
    "create_app",
]

FIRST_BUSINESS_PARTNER: Final = 1000200
FIRST_SALES_ORDER: Final = 5000000
_FIRST_ADDRESS_ID: Final = 27000
_SEEDED_ON: Final = datetime(2024, 1, 15, tzinfo=UTC)
_PRODUCTS_CHANGED_ON: Final = datetime(2025, 6, 2, tzinfo=UTC)
_END_OF_TIME: Final = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
_SEED_USER: Final = "DATA_MIGRATION"

# Sales areas (organisation, channel, division) configured in the demo tenant.
SALES_AREAS: Final = frozenset(
    {(demo_data.SALES_ORGANIZATION, demo_data.DISTRIBUTION_CHANNEL, demo_data.DIVISION)}
)
# BP roles the tenant knows; FLCU00/FLCU01 are the customer (FI / sales) roles.
BP_ROLES: Final = frozenset({"000000", "FLCU00", "FLCU01", "FLVN00", "FLVN01", "BUP001"})
CUSTOMER_ROLES: Final = frozenset({"FLCU00", "FLCU01"})
# Tax number categories per country where they differ from "<country>0".
TAX_TYPES: Final = {"US": "US1", "CA": "CA1", "AU": "AU1", "JP": "JP1"}
COUNTRY_CURRENCY: Final = {
    "US": "USD", "GB": "GBP", "JP": "JPY", "CH": "CHF", "CA": "CAD", "AU": "AUD", "SE": "SEK",
    "DK": "DKK", "PL": "PLN", "HU": "HUF", "NO": "NOK",
}
SERVICE_PRODUCT_TYPES: Final = frozenset({"DIEN", "SERV", "NLAG"})
# The tenant's customizing for blocks and rejections (SPRO: TVAST order blocks, TVLS
# delivery blocks, TVFS billing blocks, TVAG rejection reasons). Codes, not texts, travel.
ORDER_BLOCKS: Final = frozenset({"01", "02", "03", "04", "05", "06", "07", "08", "09", "10"})
DELIVERY_BLOCKS: Final = frozenset({"01", "02", "03", "04", "05", "06", "07", "08", "Z1"})
BILLING_BLOCKS: Final = frozenset({"01", "02", "03", "04", "05", "06", "07", "08", "Z1"})
REJECTION_REASONS: Final = frozenset({"00", "01", "02", "03", "04", "05", "10", "11", "50",
                                      "Z1"})
# What a change may touch on an existing order; the rest is fixed once the order exists
# (organisation data, sold-to, currency) or is not modelled by the sandbox (quantities,
# materials: those re-price and re-schedule in SAP).
_HEADER_CHANGEABLE: Final = frozenset({
    "DeliveryBlockReason", "HeaderBillingBlockReason", "PurchaseOrderByCustomer",
    "CustomerPurchaseOrderType", "CustomerPurchaseOrderDate", "RequestedDeliveryDate",
    "ShippingCondition", "IncotermsClassification", "CustomerPaymentTerms", "SalesGroup",
    "SalesOffice",
})
_ITEM_CHANGEABLE: Final = frozenset({
    "SalesDocumentRjcnReason", "SalesOrderItemText", "PurchaseOrderByCustomer",
    "MaterialByCustomer",
})
# Equality indexes per entity set, used by ``$filter=<Prop> eq '...'``.
_EQ_INDEXES: Final[dict[str, tuple[str, ...]]] = {
    "A_SalesOrder": ("PurchaseOrderByCustomer", "SoldToParty"),
    "A_BusinessPartner": ("OrganizationBPName1", "Customer", "SearchTerm1"),
    "A_BusinessPartnerTaxNumber": ("BPTaxNumber",),
}


_TYPES: Final = {t.name: t for s in SERVICES.values() for t in s.types}


@dataclass(slots=True)
class SandboxFaults:
    """Mutable fault injection: delay every call, or fail the next N calls with 503."""

    latency_seconds: float = 0.0
    fail_next: int = 0


class Table:
    """Rows of one entity set, by key, by key prefix and by selected property values."""

    __slots__ = ("_eq", "_prefix", "etype", "rows")

    def __init__(self, etype: EntityType, indexed: Iterable[str] = ()) -> None:
        self.etype = etype
        self.rows: dict[tuple[Any, ...], Row] = {}
        self._prefix: dict[tuple[Any, ...], dict[tuple[Any, ...], Row]] = {}
        self._eq: dict[str, dict[Any, dict[tuple[Any, ...], Row]]] = {p: {} for p in indexed}

    def key_of(self, row: Row) -> tuple[Any, ...]:
        return tuple(row[k] for k in self.etype.keys)

    def get(self, key: tuple[Any, ...]) -> Row | None:
        return self.rows.get(key)

    def children(self, prefix: tuple[Any, ...]) -> Iterable[Row]:
        return self._prefix.get(prefix, {}).values()

    def indexed(self, prop: str) -> bool:
        return prop in self._eq

    def lookup(self, prop: str, value: Any) -> Iterable[Row]:
        return self._eq[prop].get(value, {}).values()

    def insert(self, row: Row) -> None:
        key = self.key_of(row)
        if key in self.rows:
            raise ValueError(f"duplicate key {key} in {self.etype.set_name}")
        self.rows[key] = row
        for length in range(1, len(key)):
            self._prefix.setdefault(key[:length], {})[key] = row
        for prop, index in self._eq.items():
            index.setdefault(row[prop], {})[key] = row

    def update(self, row: Row, changes: Row) -> None:
        key = self.key_of(row)
        for prop, index in self._eq.items():
            if prop in changes and changes[prop] != row[prop]:
                bucket = index.get(row[prop], {})
                bucket.pop(key, None)
                if not bucket:
                    index.pop(row[prop], None)
                index.setdefault(changes[prop], {})[key] = row
        row.update(changes)

    def remove(self, row: Row) -> None:
        key = self.key_of(row)
        del self.rows[key]
        for length in range(1, len(key)):
            siblings = self._prefix.get(key[:length], {})
            siblings.pop(key, None)
            if not siblings:
                self._prefix.pop(key[:length], None)
        for prop, index in self._eq.items():
            bucket = index.get(row[prop], {})
            bucket.pop(key, None)
            if not bucket:
                index.pop(row[prop], None)

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True, slots=True)
class _Material:
    product_type: str
    base_unit: str
    product_group: str
    description: str
    prices: dict[str, Decimal]
    deleted: bool


def _blank(etype: EntityType) -> Row:
    return {p.name: default_value(p) for p in etype.props}


def _split_street(street: str) -> tuple[str, str]:
    """``"Speicherstadt 12"`` -> (``"Speicherstadt"``, ``"12"``); US style leading numbers too."""
    match = re.match(r"^(\d[\w/-]*)\s+(.+)$", street)
    if match:
        return match.group(2), match.group(1)
    match = re.match(r"^(.+?)\s+(\d[\w/-]*)$", street)
    if match:
        return match.group(1), match.group(2)
    return street, ""


def _results(raw: Any, where: str) -> list[Any]:
    """A to-many deep insert payload: ``[...]`` or ``{"results": [...]}``."""
    if isinstance(raw, dict) and set(raw) <= {"results", "__metadata"}:
        raw = raw.get("results", [])
    if not isinstance(raw, list):
        raise bad_request(f"Navigation property {where} must be a JSON array of entities")
    return raw


class SapSandbox:
    """In-memory S/4HANA tenant seeded from ``sandboxes.demo_data``."""

    def __init__(
        self,
        *,
        user: str = "Q2C_GATEWAY",
        password: str = "sandbox",
        seed: bool = True,
        page_size: int = 100,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be positive")
        self.user = user
        self.password = password
        self.page_size = page_size
        self.faults = SandboxFaults()
        self._clock = clock or (lambda: datetime.now(UTC))
        self.tables: dict[str, Table] = {
            etype.set_name: Table(etype, _EQ_INDEXES.get(etype.set_name, ()))
            for service in SERVICES.values()
            for etype in service.types
        }
        self._materials: dict[str, _Material] = {}
        self._next_business_partner = FIRST_BUSINESS_PARTNER
        self._next_sales_order = FIRST_SALES_ORDER
        self._next_address = _FIRST_ADDRESS_ID
        if seed:
            self._seed()

    # -- reading ------------------------------------------------------------------------

    def now(self) -> datetime:
        return self._clock().astimezone(UTC)

    def table(self, etype: EntityType) -> Table:
        return self.tables[etype.set_name]

    def navigate(self, nav: Nav, row: Row) -> Row | list[Row] | None:
        """Target(s) of ``nav`` from ``row``: an index lookup, never a scan."""
        target = self.tables[_TYPES[nav.target].set_name]
        prefix = tuple(row[source] for source, _ in nav.join)
        if not nav.many:
            return target.get(prefix) if len(prefix) == len(target.etype.keys) else None
        if len(prefix) == len(target.etype.keys):
            found = target.get(prefix)
            return [found] if found is not None else []
        return list(target.children(prefix))

    def _tree(self, etype: EntityType, row: Row) -> dict[str, Any]:
        snapshot = dict(row)
        for nav in etype.navs:
            target = _TYPES[nav.target]
            found = self.navigate(nav, row)
            if isinstance(found, list):
                snapshot[nav.name] = [self._tree(target, r) for r in found]
            else:
                snapshot[nav.name] = self._tree(target, found) if found is not None else None
        return snapshot

    def sales_orders(self) -> list[dict[str, Any]]:
        """Snapshot of all sales orders with ``to_Item`` (and their ``to_PricingElement``).

        Values are Python-typed: ``Decimal`` amounts, timezone-aware ``datetime`` dates.
        """
        return [self._tree(A_SALES_ORDER, r) for r in self.table(A_SALES_ORDER).rows.values()]

    def business_partners(self) -> list[dict[str, Any]]:
        """Snapshot of all business partners with addresses, roles, tax numbers and customer."""
        return [
            self._tree(A_BUSINESS_PARTNER, r)
            for r in self.table(A_BUSINESS_PARTNER).rows.values()
        ]

    # -- seeding ------------------------------------------------------------------------

    def _seed(self) -> None:
        for product in demo_data.PRODUCTS:
            self._add_product(product)
        for account in demo_data.ACCOUNTS:
            if account.sap_business_partner:
                self._add_seeded_partner(account, account.sap_business_partner)
        blocked, reason = demo_data.SAP_ORDER_BLOCKED_CUSTOMER
        self.block_customer(blocked, reason)

    def _add_product(self, product: demo_data.DemoProduct) -> None:
        description = product.name[:40]
        row = _blank(A_PRODUCT) | {
            "Product": product.material,
            "ProductType": product.product_type,
            "CrossPlantStatus": "" if product.active else "04",
            "CreationDate": _SEEDED_ON,
            "CreatedByUser": _SEED_USER,
            "LastChangeDate": None if product.active else _PRODUCTS_CHANGED_ON,
            "LastChangedByUser": "" if product.active else _SEED_USER,
            "LastChangeDateTime": _SEEDED_ON if product.active else _PRODUCTS_CHANGED_ON,
            "IsMarkedForDeletion": not product.active,
            "ProductGroup": product.product_group,
            "BaseUnit": product.base_unit,
            "ItemCategoryGroup": "LEIS" if product.product_type in SERVICE_PRODUCT_TYPES
            else "NORM",
            "Division": demo_data.DIVISION,
        }
        self.table(A_PRODUCT).insert(row)
        self.table(A_PRODUCT_DESCRIPTION).insert(
            {"Product": product.material, "Language": "EN", "ProductDescription": description}
        )
        self._materials[product.material] = _Material(
            product_type=product.product_type,
            base_unit=product.base_unit,
            product_group=product.product_group,
            description=description,
            prices={c: Decimal(p) for c, p in product.list_prices.items()},
            deleted=not product.active,
        )

    def _add_seeded_partner(self, account: demo_data.DemoAccount, number: str) -> None:
        street, house = _split_street(account.street)
        self._store_partner(
            number,
            {
                "BusinessPartnerCategory": "2",
                "BusinessPartnerFullName": account.name[:81],
                "BusinessPartnerGrouping": "BP02",
                "OrganizationBPName1": account.name[:40],
                "OrganizationBPName2": account.name[40:80],
                "SearchTerm1": re.sub(r"[^A-Z0-9]", "", account.name.upper())[:20],
                "CorrespondenceLanguage": "EN",
            },
            addresses=[
                {
                    "Country": account.country, "CityName": account.city,
                    "PostalCode": account.postal_code, "StreetName": street,
                    "HouseNumber": house,
                }
            ],
            roles=["FLCU00", "FLCU01"],
            taxes=[(TAX_TYPES.get(account.country, f"{account.country}0"), account.tax_id)],
            customer={"CustomerAccountGroup": "CUST"},
            sales_areas=[
                {
                    "SalesOrganization": demo_data.SALES_ORGANIZATION,
                    "DistributionChannel": demo_data.DISTRIBUTION_CHANNEL,
                    "Division": demo_data.DIVISION,
                    "Currency": COUNTRY_CURRENCY.get(account.country, "EUR"),
                }
            ],
            user=_SEED_USER,
            when=_SEEDED_ON,
        )

    # -- business partners ----------------------------------------------------------------

    def _store_partner(
        self,
        number: str,
        values: Row,
        *,
        addresses: list[Row],
        roles: list[str],
        taxes: list[tuple[str, str]],
        customer: Row | None,
        sales_areas: list[Row],
        user: str,
        when: datetime,
    ) -> Row:
        day = when.replace(hour=0, minute=0, second=0, microsecond=0)
        partner = _blank(A_BUSINESS_PARTNER) | values | {
            "BusinessPartner": number,
            "Customer": number if customer is not None else "",
            "CreationDate": day,
            "CreatedByUser": user,
        }
        self.table(A_BUSINESS_PARTNER).insert(partner)
        for address in addresses:
            self._next_address += 1
            self.table(A_BUSINESS_PARTNER_ADDRESS).insert(
                _blank(A_BUSINESS_PARTNER_ADDRESS) | {
                    "ValidityStartDate": when, "ValidityEndDate": _END_OF_TIME,
                    "Language": partner["CorrespondenceLanguage"] or "EN",
                } | address | {"BusinessPartner": number, "AddressID": str(self._next_address)}
            )
        for role in roles:
            self.table(A_BUSINESS_PARTNER_ROLE).insert(
                {"BusinessPartner": number, "BusinessPartnerRole": role,
                 "ValidFrom": when, "ValidTo": _END_OF_TIME}
            )
        for tax_type, tax_number in taxes:
            self.table(A_BUSINESS_PARTNER_TAX).insert(
                {"BusinessPartner": number, "BPTaxType": tax_type,
                 "BPTaxNumber": tax_number[:20], "BPTaxLongNumber": tax_number[:60]}
            )
        if customer is not None:
            self.table(A_CUSTOMER).insert(
                _blank(A_CUSTOMER) | customer | {
                    "Customer": number,
                    "CustomerFullName": partner["BusinessPartnerFullName"],
                    "CustomerName": partner["BusinessPartnerFullName"][:80],
                    "CreationDate": day,
                }
            )
            for area in sales_areas:
                self.table(A_CUSTOMER_SALES_AREA).insert(
                    _blank(A_CUSTOMER_SALES_AREA) | {
                        "CustomerPaymentTerms": "0001", "CustomerPricingProcedure": "01",
                        "ShippingCondition": "01",
                    } | area | {"Customer": number}
                )
        return partner

    def create_business_partner(self, payload: Any, user: str) -> tuple[Row, str]:
        """Deep insert of ``A_BusinessPartner``; returns the row and the navigations to expand."""
        values, navs = _read_entity(A_BUSINESS_PARTNER, payload, "A_BusinessPartner")
        if values.pop("BusinessPartner", ""):
            raise bad_request(
                "Business partner numbers are assigned internally (number range 1000200 ff.);"
                " leave BusinessPartner empty",
                "ZQ2C_BP/001",
            )
        category = values.get("BusinessPartnerCategory", "")
        if category == "2":
            if not values.get("OrganizationBPName1"):
                raise bad_request("Enter a name for the organization (OrganizationBPName1)",
                                  "ZQ2C_BP/002")
            full = " ".join(
                v for v in (values["OrganizationBPName1"], values.get("OrganizationBPName2"))
                if v
            )
        elif category == "1":
            if not values.get("LastName"):
                raise bad_request("Enter a last name for the person (LastName)", "ZQ2C_BP/002")
            full = " ".join(v for v in (values.get("FirstName"), values["LastName"]) if v)
        else:
            raise bad_request(
                f"Business partner category '{category}' is invalid; use 1 (person) or"
                " 2 (organization)",
                "ZQ2C_BP/003",
            )
        values.setdefault("BusinessPartnerFullName", full[:81])
        values.setdefault("BusinessPartnerGrouping", "BP02")
        values.setdefault("CorrespondenceLanguage", "EN")

        addresses = [
            _read_entity(A_BUSINESS_PARTNER_ADDRESS, raw, "A_BusinessPartnerAddress")[0]
            for raw in _results(navs.get("to_BusinessPartnerAddress", []),
                                "to_BusinessPartnerAddress")
        ]
        for address in addresses:
            address.pop("BusinessPartner", None)
            address.pop("AddressID", None)
            if not address.get("Country"):
                raise bad_request("Enter a country for the business partner address",
                                  "ZQ2C_BP/004")
        roles: list[str] = []
        for raw in _results(navs.get("to_BusinessPartnerRole", []), "to_BusinessPartnerRole"):
            role = _read_entity(A_BUSINESS_PARTNER_ROLE, raw, "A_BusinessPartnerRole")[0]
            name = role.get("BusinessPartnerRole", "")
            if name not in BP_ROLES:
                raise bad_request(f"Business partner role '{name}' does not exist",
                                  "ZQ2C_BP/005")
            if name not in roles:
                roles.append(name)
        taxes: list[tuple[str, str]] = []
        for raw in _results(navs.get("to_BusinessPartnerTax", []), "to_BusinessPartnerTax"):
            tax = _read_entity(A_BUSINESS_PARTNER_TAX, raw, "A_BusinessPartnerTaxNumber")[0]
            tax_type = tax.get("BPTaxType", "")
            if not re.fullmatch(r"[A-Z]{2}[0-9A-Z]{1,2}", tax_type):
                raise bad_request(f"Tax number category '{tax_type}' does not exist",
                                  "ZQ2C_BP/006")
            if any(t == tax_type for t, _ in taxes):
                raise bad_request(f"Tax number category '{tax_type}' is given twice",
                                  "ZQ2C_BP/006")
            taxes.append((tax_type, tax.get("BPTaxNumber") or tax.get("BPTaxLongNumber", "")))

        customer: Row | None = None
        sales_areas: list[Row] = []
        raw_customer = navs.get("to_Customer")
        if raw_customer is not None:
            if not CUSTOMER_ROLES & set(roles):
                raise bad_request(
                    "Customer data (to_Customer) needs the business partner role FLCU00 or"
                    " FLCU01",
                    "ZQ2C_BP/007",
                )
            customer, customer_navs = _read_entity(A_CUSTOMER, raw_customer, "A_Customer")
            customer.pop("Customer", None)
            customer.setdefault("CustomerAccountGroup", "CUST")
            country = addresses[0]["Country"] if addresses else ""
            for raw in _results(customer_navs.get("to_CustomerSalesArea", []),
                                "to_CustomerSalesArea"):
                area = _read_entity(A_CUSTOMER_SALES_AREA, raw, "A_CustomerSalesArea")[0]
                area.pop("Customer", None)
                sales_areas.append(self._check_sales_area(area, roles, country, sales_areas))
        elif "FLCU01" in roles or "FLCU00" in roles:
            customer = {"CustomerAccountGroup": "CUST"}

        number = str(self._next_business_partner)
        self._next_business_partner += 1
        partner = self._store_partner(
            number, values, addresses=addresses, roles=roles, taxes=taxes, customer=customer,
            sales_areas=sales_areas, user=user, when=self.now(),
        )
        expand: list[str] = [n for n in ("to_BusinessPartnerAddress", "to_BusinessPartnerRole",
                                         "to_BusinessPartnerTax") if n in navs]
        if "to_Customer" in navs:
            expand.append("to_Customer/to_CustomerSalesArea")
        return partner, ",".join(expand)

    def _check_sales_area(
        self, area: Row, roles: list[str], country: str, existing: list[Row]
    ) -> Row:
        triple = (area.get("SalesOrganization", ""), area.get("DistributionChannel", ""),
                  area.get("Division", ""))
        label = "/".join(triple)
        if "FLCU01" not in roles:
            raise bad_request(f"Sales area data ({label}) needs the business partner role"
                              " FLCU01", "ZQ2C_BP/007")
        if triple not in SALES_AREAS:
            raise bad_request(f"Sales area {label} is not defined", "ZQ2C_BP/008")
        if any((a["SalesOrganization"], a["DistributionChannel"], a["Division"]) == triple
               for a in existing):
            raise bad_request(f"Sales area {label} is given twice", "ZQ2C_BP/008")
        currency = area.get("Currency") or COUNTRY_CURRENCY.get(country, "EUR")
        if currency not in CURRENCY_DECIMALS:
            raise bad_request(f"Currency '{currency}' is not defined", "ZQ2C_BP/009")
        return area | {"Currency": currency}

    def update_business_partner(
        self, key: tuple[Any, ...], payload: Any, user: str, *, replace: bool
    ) -> None:
        table = self.table(A_BUSINESS_PARTNER)
        partner = table.get(key)
        if partner is None:
            raise not_found(A_BUSINESS_PARTNER)
        values, navs = _read_entity(A_BUSINESS_PARTNER, payload, "A_BusinessPartner",
                                    for_update=True)
        if navs:
            raise bad_request("Deep updates are not supported; update the entities one by one")
        if values.pop("BusinessPartner", partner["BusinessPartner"]) != partner["BusinessPartner"]:
            raise bad_request("The key property BusinessPartner cannot be changed")
        for fixed in ("BusinessPartnerCategory", "BusinessPartnerGrouping"):
            if values.get(fixed, partner[fixed]) != partner[fixed]:
                raise bad_request(f"{fixed} of an existing business partner cannot be changed",
                                  "ZQ2C_BP/011")
        if replace:
            values = {
                p.name: default_value(p) for p in A_BUSINESS_PARTNER.props
                if p.updatable and p.name not in A_BUSINESS_PARTNER.keys
            } | values
        merged = partner | values
        if merged["BusinessPartnerCategory"] == "2" and not merged["OrganizationBPName1"]:
            raise bad_request("Enter a name for the organization (OrganizationBPName1)",
                              "ZQ2C_BP/002")
        if "BusinessPartnerFullName" not in values and (
            {"OrganizationBPName1", "OrganizationBPName2", "FirstName", "LastName"} & set(values)
        ):
            names = (
                (merged["OrganizationBPName1"], merged["OrganizationBPName2"])
                if merged["BusinessPartnerCategory"] == "2"
                else (merged["FirstName"], merged["LastName"])
            )
            values["BusinessPartnerFullName"] = " ".join(n for n in names if n)[:81]
        values["LastChangeDate"] = self.now().replace(hour=0, minute=0, second=0, microsecond=0)
        values["LastChangedByUser"] = user
        table.update(partner, values)
        customer = self.table(A_CUSTOMER).get((partner["Customer"],))
        if customer is not None and "BusinessPartnerFullName" in values:
            self.table(A_CUSTOMER).update(customer, {
                "CustomerFullName": partner["BusinessPartnerFullName"],
                "CustomerName": partner["BusinessPartnerFullName"][:80],
            })

    # -- sales orders -------------------------------------------------------------------

    def create_sales_order(self, payload: Any, user: str) -> tuple[Row, str]:
        """Deep insert of ``A_SalesOrder`` with ``to_Item`` (and item ``to_PricingElement``)."""
        header, navs = _read_entity(A_SALES_ORDER, payload, "A_SalesOrder")
        header.pop("SalesOrder", None)  # internal number range
        errors: list[ErrorDetail] = []
        for required in ("SalesOrderType", "SalesOrganization", "DistributionChannel",
                         "OrganizationDivision", "SoldToParty"):
            if not header.get(required):
                errors.append(ErrorDetail("ZQ2C_SD/001", f"Enter a value for {required}",
                                          propertyref=f"A_SalesOrder/{required}"))
        if errors:
            raise ODataError(400, errors[0].code, errors[0].message, errors)

        area = (header["SalesOrganization"], header["DistributionChannel"],
                header["OrganizationDivision"])
        label = "/".join(area)
        sold_to = header["SoldToParty"]
        sales_area: Row | None = None
        if area not in SALES_AREAS:
            errors.append(ErrorDetail("ZQ2C_SD/012", f"Sales area {label} is not defined"))
        elif (customer := self.table(A_CUSTOMER).get((sold_to,))) is None:
            errors.append(ErrorDetail("ZQ2C_SD/002", f"Sold-to party {sold_to} does not exist",
                                      propertyref="A_SalesOrder/SoldToParty"))
        elif customer["OrderIsBlockedForCustomer"]:
            errors.append(ErrorDetail(
                "ZQ2C_SD/013",
                f"Sold-to party {sold_to} is blocked for sales orders (order block"
                f" {customer['OrderIsBlockedForCustomer']})",
                propertyref="A_SalesOrder/SoldToParty",
            ))
        else:
            sales_area = self.table(A_CUSTOMER_SALES_AREA).get((sold_to, *area))
            if sales_area is None:
                errors.append(ErrorDetail(
                    "ZQ2C_SD/003",
                    f"Sold-to party {sold_to} is not defined for sales area {label}",
                    propertyref="A_SalesOrder/SoldToParty",
                ))
            elif sales_area["OrderIsBlockedForCustomer"]:
                errors.append(ErrorDetail(
                    "ZQ2C_SD/013",
                    f"Sold-to party {sold_to} is blocked for sales orders in sales area"
                    f" {label} (order block {sales_area['OrderIsBlockedForCustomer']})",
                    propertyref="A_SalesOrder/SoldToParty",
                ))
        currency = header.get("TransactionCurrency") or (
            sales_area["Currency"] if sales_area else ""
        )
        if errors:
            raise ODataError(400, errors[0].code, errors[0].message, errors)
        if currency not in CURRENCY_DECIMALS:
            raise ODataError(400, "ZQ2C_SD/007",
                             f"Currency '{currency}' is not an ISO 4217 currency code")

        today = self.now().replace(hour=0, minute=0, second=0, microsecond=0)
        header.setdefault("SalesOrderDate", today)
        header.setdefault("PricingDate", header["SalesOrderDate"])
        header.setdefault("RequestedDeliveryDate", header["SalesOrderDate"])
        header["TransactionCurrency"] = currency

        items = self._price_items(
            _results(navs.get("to_Item", []), "to_Item"), header, currency, errors
        )
        if errors:
            raise ODataError(400, errors[0].code, errors[0].message, errors)

        number = str(self._next_sales_order)
        self._next_sales_order += 1
        now = self.now()
        goods = any(i["DeliveryStatus"] for i, _ in items)
        order = _blank(A_SALES_ORDER) | header | {
            "SalesOrder": number,
            "CreationDate": today,
            "CreatedByUser": user,
            "LastChangeDateTime": now,
            "TotalNetAmount": sum((i["NetAmount"] for i, _ in items), Decimal(0)),
            "OverallSDProcessStatus": "A",
            "TotalCreditCheckStatus": "A",
            "OverallTotalDeliveryStatus": "A" if goods else "",
            "OverallDeliveryStatus": "A" if goods else "",
            "OverallSDDocumentRejectionSts": "A",
        }
        self.table(A_SALES_ORDER).insert(order)
        for item, pricing in items:
            self.table(A_SALES_ORDER_ITEM).insert(item | {"SalesOrder": number})
            self.table(A_SALES_ORDER_ITEM_PRICING).insert(pricing | {"SalesOrder": number})
        return order, "to_Item/to_PricingElement"

    # -- changes to existing orders ---------------------------------------------------------

    def _order(self, number: str) -> Row:
        order = self.table(A_SALES_ORDER).get((number,))
        if order is None:
            raise not_found(A_SALES_ORDER)
        return order

    def _items(self, number: str) -> list[Row]:
        return list(self.table(A_SALES_ORDER_ITEM).children((number,)))

    def _touch(self, order: Row, user: str) -> None:
        """Record a change: a new ``LastChangeDateTime`` (and with it a new ETag), strictly
        later than the last one even when the clock has not moved."""
        now = self.now()
        previous = order["LastChangeDateTime"]
        if previous is not None and now <= previous:
            now = previous + timedelta(microseconds=1)
        self.table(A_SALES_ORDER).update(order, {
            "LastChangeDateTime": now,
            "LastChangeDate": now.replace(hour=0, minute=0, second=0, microsecond=0),
        })
        del user  # SAP records the changer in the change documents, which are not modelled

    @staticmethod
    def _changes(
        etype: EntityType, row: Row, payload: Any, where: str, changeable: frozenset[str],
        *, replace: bool,
    ) -> Row:
        values, navs = _read_entity(etype, payload, where, for_update=True)
        if navs:
            raise bad_request("Deep updates are not supported; update the entities one by one")
        for key in etype.keys:
            if values.pop(key, row[key]) != row[key]:
                raise bad_request(f"The key property {key} cannot be changed")
        if replace:
            values = {name: default_value(etype.prop_map[name]) for name in changeable} | values
        fixed = sorted(n for n, v in values.items() if n not in changeable and v != row[n])
        if fixed:
            raise bad_request(
                f"{', '.join(fixed)} of an existing {where} cannot be changed in the sandbox",
                "ZQ2C_SD/014",
            )
        return {n: v for n, v in values.items() if n in changeable}

    def update_sales_order(
        self, key: tuple[Any, ...], payload: Any, user: str, *, replace: bool
    ) -> None:
        """PATCH/MERGE/PUT ``A_SalesOrder``: blocks, references and dates of the header."""
        order = self._order(key[0])
        values = self._changes(A_SALES_ORDER, order, payload, "A_SalesOrder",
                               _HEADER_CHANGEABLE, replace=replace)
        for name, allowed, what in (("DeliveryBlockReason", DELIVERY_BLOCKS, "Delivery block"),
                                    ("HeaderBillingBlockReason", BILLING_BLOCKS,
                                     "Billing block")):
            code = values.get(name, "")
            if code and code not in allowed:
                raise ODataError(400, "ZQ2C_SD/015", f"{what} '{code}' is not defined",
                                 [ErrorDetail("ZQ2C_SD/015", f"{what} '{code}' is not defined",
                                              propertyref=f"A_SalesOrder/{name}")])
        self.table(A_SALES_ORDER).update(order, values)
        self._touch(order, user)

    def update_sales_order_item(
        self, key: tuple[Any, ...], payload: Any, user: str, *, replace: bool
    ) -> None:
        """PATCH/MERGE/PUT ``A_SalesOrderItem``: rejection reason and texts of an item.

        Rejecting an item completes it, takes it out of the order's net value and moves
        the header's rejection and processing statuses; a delivered item cannot be
        rejected, as in SAP."""
        order = self._order(key[0])
        item = self.table(A_SALES_ORDER_ITEM).get(key)
        if item is None:
            raise not_found(A_SALES_ORDER_ITEM)
        where = f"A_SalesOrderItem (item {item['SalesOrderItem']})"
        values = self._changes(A_SALES_ORDER_ITEM, item, payload, where, _ITEM_CHANGEABLE,
                               replace=replace)
        reason = values.get("SalesDocumentRjcnReason", item["SalesDocumentRjcnReason"])
        if reason and reason not in REJECTION_REASONS:
            raise bad_request(f"Reason for rejection '{reason}' is not defined", "ZQ2C_SD/016")
        if reason and not item["SalesDocumentRjcnReason"] and item["DeliveryStatus"] in ("B", "C"):
            raise bad_request(
                f"Item {item['SalesOrderItem']} has been delivered and cannot be rejected",
                "ZQ2C_SD/017",
            )
        if "SalesDocumentRjcnReason" in values:
            values["SDProcessStatus"] = "C" if reason else (
                "C" if item["DeliveryStatus"] == "C" else "A"
            )
        self.table(A_SALES_ORDER_ITEM).update(item, values)
        self._roll_up(order)
        self._touch(order, user)

    def _roll_up(self, order: Row) -> None:
        """Header statuses and net value from the items (rejected items count for nothing)."""
        items = self._items(order["SalesOrder"])
        live = [i for i in items if not i["SalesDocumentRjcnReason"]]
        rejected = len(items) - len(live)
        goods = [i for i in live if i["DeliveryStatus"]]
        delivered = [i["DeliveryStatus"] for i in goods]
        delivery = "" if not goods else "C" if all(d == "C" for d in delivered) else (
            "B" if any(d in ("B", "C") for d in delivered) else "A"
        )
        processing = [i["SDProcessStatus"] for i in live]
        self.table(A_SALES_ORDER).update(order, {
            "OverallSDDocumentRejectionSts": "C" if items and not live else (
                "B" if rejected else "A"
            ),
            "OverallTotalDeliveryStatus": delivery,
            "OverallDeliveryStatus": delivery,
            "OverallSDProcessStatus": "C" if all(p == "C" for p in processing) else (
                "B" if any(p in ("B", "C") for p in processing) else "A"
            ),
            "TotalNetAmount": sum((i["NetAmount"] for i in live), Decimal(0)),
        })

    def delete_sales_order(self, number: str) -> None:
        """DELETE ``A_SalesOrder``: only while nothing has been delivered."""
        self._order(number)
        items = self._items(number)
        if any(i["DeliveryStatus"] in ("B", "C") for i in items):
            raise bad_request(f"Sales order {number} has subsequent documents (deliveries)"
                              " and cannot be deleted", "ZQ2C_SD/018")
        pricing = self.table(A_SALES_ORDER_ITEM_PRICING)
        for element in list(pricing.children((number,))):
            pricing.remove(element)
        for item in items:
            self.table(A_SALES_ORDER_ITEM).remove(item)
        self.table(A_SALES_ORDER).remove(self._order(number))

    # -- sandbox administration: what people and other systems do in a real tenant ----------

    def block_customer(
        self, customer: str, reason: str = "01", sales_area: Any = None
    ) -> dict[str, Any]:
        """Put ``customer`` on an order block (``OrderIsBlockedForCustomer``), centrally or,
        with ``sales_area`` ``{"SalesOrganization", "DistributionChannel", "Division"}``, in
        that sales area only: what a credit controller does when a customer stops paying."""
        if reason not in ORDER_BLOCKS:
            raise bad_request(f"Order block '{reason}' is not defined", "ZQ2C_BP/010")
        row = self._customer(customer)
        if sales_area is None:
            self.table(A_CUSTOMER).update(row, {"OrderIsBlockedForCustomer": reason})
        else:
            area = self._customer_area(customer, sales_area)
            self.table(A_CUSTOMER_SALES_AREA).update(area, {"OrderIsBlockedForCustomer": reason})
        return self._block_state(customer)

    def release_customer(self, customer: str) -> dict[str, Any]:
        """Lift every order block of ``customer`` (central and per sales area)."""
        self.table(A_CUSTOMER).update(self._customer(customer), {"OrderIsBlockedForCustomer": ""})
        for area in list(self.table(A_CUSTOMER_SALES_AREA).children((customer,))):
            self.table(A_CUSTOMER_SALES_AREA).update(area, {"OrderIsBlockedForCustomer": ""})
        return self._block_state(customer)

    def _customer(self, customer: str) -> Row:
        row = self.table(A_CUSTOMER).get((customer,))
        if row is None:
            raise not_found(A_CUSTOMER)
        return row

    def _customer_area(self, customer: str, sales_area: Any) -> Row:
        if not isinstance(sales_area, dict):
            raise bad_request("sales_area must name SalesOrganization, DistributionChannel"
                              " and Division")
        key = (customer, sales_area.get("SalesOrganization"),
               sales_area.get("DistributionChannel"), sales_area.get("Division"))
        row = self.table(A_CUSTOMER_SALES_AREA).get(key)
        if row is None:
            raise not_found(A_CUSTOMER_SALES_AREA)
        return row

    def _block_state(self, customer: str) -> dict[str, Any]:
        row = self._customer(customer)
        return {
            "Customer": customer,
            "OrderIsBlockedForCustomer": row["OrderIsBlockedForCustomer"],
            "SalesAreas": [
                {k: area[k] for k in ("SalesOrganization", "DistributionChannel", "Division",
                                      "OrderIsBlockedForCustomer")}
                for area in self.table(A_CUSTOMER_SALES_AREA).children((customer,))
            ],
        }

    def deliver(self, number: str, items: list[str] | None = None) -> dict[str, Any]:
        """Post goods issue for an order's items (all open ones, or those named): goods
        items become delivered, service items rendered; the header statuses follow. An
        order with a delivery block, a failed credit check or no open items is refused."""
        order = self._order(number)
        if order["DeliveryBlockReason"]:
            raise bad_request(f"Sales order {number} is blocked for delivery (delivery block"
                              f" {order['DeliveryBlockReason']})", "ZQ2C_LE/001")
        if order["TotalCreditCheckStatus"] == "B":
            raise bad_request(f"Sales order {number} failed the credit check", "ZQ2C_LE/002")
        wanted = set(items) if items is not None else None
        chosen = [
            i for i in self._items(number)
            if not i["SalesDocumentRjcnReason"] and i["SDProcessStatus"] != "C"
            and (wanted is None or i["SalesOrderItem"] in wanted)
        ]
        known = {i["SalesOrderItem"] for i in self._items(number)}
        if wanted is not None and wanted - known:
            raise bad_request(f"Sales order {number} has no item(s)"
                              f" {', '.join(sorted(wanted - known))}", "ZQ2C_LE/003")
        if not chosen:
            raise bad_request(f"Sales order {number} has nothing open to deliver", "ZQ2C_LE/004")
        for item in chosen:
            self.table(A_SALES_ORDER_ITEM).update(item, {
                "DeliveryStatus": "C" if item["DeliveryStatus"] else "",
                "SDProcessStatus": "C",
            })
        self._roll_up(order)
        self._touch(order, _SEED_USER)
        return {k: order[k] for k in ("SalesOrder", "OverallSDProcessStatus",
                                      "OverallTotalDeliveryStatus", "OverallDeliveryStatus")}

    def _price_items(
        self, raw_items: list[Any], header: Row, currency: str, errors: list[ErrorDetail]
    ) -> list[tuple[Row, Row]]:
        places = CURRENCY_DECIMALS[currency]
        numbers: set[int] = set()
        priced: list[tuple[Row, Row]] = []
        for raw in raw_items:
            raw_number = raw.get("SalesOrderItem") if isinstance(raw, dict) else None
            if raw_number:
                if not (isinstance(raw_number, str) and raw_number.isdigit()
                        and len(raw_number) <= 6 and int(raw_number) > 0):
                    raise bad_request(f"Item number '{raw_number}' is invalid", "ZQ2C_SD/011")
                position = int(raw_number)
            else:  # SAP proposes item numbers in steps of 10
                highest = max(numbers, default=0)
                position = highest - highest % 10 + 10
            if position in numbers:
                raise bad_request(f"Item number {position} is given twice", "ZQ2C_SD/011")
            numbers.add(position)
            number = str(position)
            where = f"A_SalesOrderItem (item {number})"
            item, item_navs = _read_entity(A_SALES_ORDER_ITEM, raw, where)
            item["SalesOrderItem"] = number
            result = self._price_item(item, item_navs, number, header, currency, places, errors)
            if result is not None:
                priced.append(result)
        return priced

    def _price_item(
        self, item: Row, navs: Row, number: str, header: Row, currency: str, places: int,
        errors: list[ErrorDetail],
    ) -> tuple[Row, Row] | None:
        ref = f"to_Item('{number}')"
        material_id = str(item.get("Material", "")).upper()
        material = self._materials.get(material_id)
        if not material_id:
            errors.append(ErrorDetail("ZQ2C_SD/004", f"Item {number}: enter a material",
                                      propertyref="A_SalesOrderItem/Material", target=ref))
            return None
        if material is None:
            errors.append(ErrorDetail(
                "ZQ2C_SD/004", f"Item {number}: material {material_id} does not exist",
                propertyref="A_SalesOrderItem/Material", target=ref,
            ))
            return None
        if material.deleted:
            errors.append(ErrorDetail(
                "ZQ2C_SD/005",
                f"Item {number}: material {material_id} is marked for deletion",
                propertyref="A_SalesOrderItem/Material", target=ref,
            ))
            return None
        quantity = item.get("RequestedQuantity")
        if not isinstance(quantity, Decimal) or quantity <= 0:
            errors.append(ErrorDetail(
                "ZQ2C_SD/006",
                f"Item {number}: requested quantity must be a positive decimal",
                propertyref="A_SalesOrderItem/RequestedQuantity", target=ref,
            ))
            return None
        unit = item.get("RequestedQuantityUnit") or material.base_unit
        if unit != material.base_unit:
            errors.append(ErrorDetail(
                "ZQ2C_SD/010",
                f"Item {number}: unit {unit} is not the base unit {material.base_unit} of"
                f" material {material_id}",
                propertyref="A_SalesOrderItem/RequestedQuantityUnit", target=ref,
            ))
            return None

        rate: Decimal | None = material.prices.get(currency)
        per = Decimal(1)
        manual = False
        for raw in _results(navs.get("to_PricingElement", []), "to_PricingElement"):
            element = _read_entity(A_SALES_ORDER_ITEM_PRICING, raw,
                                   f"A_SalesOrderItemPrElement (item {number})")[0]
            condition = element.get("ConditionType", "")
            if condition != "PPR0":
                errors.append(ErrorDetail(
                    "ZQ2C_SD/009",
                    f"Item {number}: condition type '{condition}' cannot be entered manually"
                    " (the sandbox accepts PPR0 only)",
                    propertyref="A_SalesOrderItemPrElement/ConditionType", target=ref,
                ))
                return None
            condition_currency = element.get("ConditionCurrency") or currency
            value = element.get("ConditionRateValue")
            per = element.get("ConditionQuantity") or Decimal(1)
            if condition_currency != currency or value is None or value < 0 or per <= 0:
                errors.append(ErrorDetail(
                    "ZQ2C_SD/009",
                    f"Item {number}: PPR0 needs a non-negative ConditionRateValue in {currency}"
                    " and a positive ConditionQuantity",
                    propertyref="A_SalesOrderItemPrElement/ConditionRateValue", target=ref,
                ))
                return None
            rate, manual = value, True
        if rate is None:
            errors.append(ErrorDetail(
                "ZQ2C_SD/008",
                f"Item {number}: no price found for material {material_id} in {currency}",
                propertyref="A_SalesOrderItem/Material", target=ref,
            ))
            return None

        net = quantize(quantity * rate / per, places)
        service = material.product_type in SERVICE_PRODUCT_TYPES
        row = _blank(A_SALES_ORDER_ITEM) | {
            "SalesOrderItemCategory": "TAD" if service else "TAN",
            "SalesOrderItemText": material.description,
            "PurchaseOrderByCustomer": header.get("PurchaseOrderByCustomer", ""),
            "PricingDate": header["PricingDate"],
            "MaterialGroup": material.product_group,
            "ProductionPlant": header["SalesOrganization"],
        } | item | {
            "Material": material_id,
            "RequestedQuantityUnit": unit,
            "TransactionCurrency": currency,
            "NetAmount": net,
            "SDProcessStatus": "A",
            "DeliveryStatus": "" if service else "A",
        }
        pricing = _blank(A_SALES_ORDER_ITEM_PRICING) | {
            "SalesOrderItem": number,
            "PricingProcedureStep": "10",
            "PricingProcedureCounter": "1",
            "ConditionType": "PPR0",
            "ConditionCalculationType": "C",
            "ConditionBaseValue": quantity,
            "ConditionRateValue": rate,
            "ConditionCurrency": currency,
            "ConditionQuantity": per,
            "ConditionQuantityUnit": unit,
            "ConditionAmount": net,
            "TransactionCurrency": currency,
            "ConditionIsManuallyChanged": manual,
        }
        return row, pricing


def _read_entity(
    etype: EntityType, payload: Any, where: str, *, for_update: bool = False
) -> tuple[Row, Row]:
    """Split a JSON entity payload into typed property values and raw navigation payloads.

    Properties the service computes (``sap:creatable="false"``, or ``sap:updatable="false"``
    for updates) are ignored as SAP Gateway does; unknown names are rejected.
    """
    if not isinstance(payload, dict):
        raise bad_request(f"The payload for {where} must be a JSON object")
    values: Row = {}
    navs: Row = {}
    for name, raw in payload.items():
        if name == "__metadata":
            continue
        prop = etype.prop_map.get(name)
        if prop is not None:
            writable = prop.updatable if for_update else prop.creatable
            if writable or name in etype.keys:
                values[name] = from_wire(prop, raw, where)
            continue
        if name in etype.nav_map:
            if not isinstance(raw, dict | list):
                raise bad_request(f"Navigation property '{name}' of {where} must hold entities")
            navs[name] = raw
            continue
        raise bad_request(f"Property '{name}' is invalid for {where}", "/IWBEP/CM_MGW_RT/021")
    return values, navs


def create_app(sandbox: SapSandbox | None = None) -> SandboxApp:
    """ASGI application serving ``sandbox`` (a freshly seeded one if omitted).

    The result is a plain ASGI callable (no lifespan needed); ``app.sandbox`` is the tenant.
    """
    return SandboxApp(sandbox if sandbox is not None else SapSandbox())
