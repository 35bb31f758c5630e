"""Entity model of the simulated S/4HANA Cloud OData V2 services and their EDMX.

One Python description (``SERVICES``) drives everything: the ``$metadata``
documents, JSON serialisation, payload parsing and ``$filter`` type checks.
Property names, lengths, precisions and the ``sap:`` annotations follow the
published metadata of ``API_PRODUCT_SRV``, ``API_BUSINESS_PARTNER`` and
``API_SALES_ORDER_SRV`` (a subset of each type's properties is modelled).
Entity sets are flagged ``sap:creatable``/``sap:updatable``/``sap:deletable``
according to what the sandbox actually implements.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cache
from xml.sax.saxutils import quoteattr

EDM_STRING = "Edm.String"
EDM_BOOLEAN = "Edm.Boolean"
EDM_DECIMAL = "Edm.Decimal"
EDM_DATETIME = "Edm.DateTime"
EDM_DATETIMEOFFSET = "Edm.DateTimeOffset"
EDM_INT32 = "Edm.Int32"

CURRENCY_CODE = "currency-code"
UNIT_OF_MEASURE = "unit-of-measure"


@dataclass(frozen=True, slots=True)
class Prop:
    """A structural property of an entity type."""

    name: str
    edm: str
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None
    nullable: bool = True
    label: str = ""
    creatable: bool = True
    updatable: bool = True
    display_format: str | None = None
    unit: str | None = None
    semantics: str | None = None
    # ConcurrencyMode="Fixed": the property is (part of) the entity's ETag.
    concurrency: bool = False


@dataclass(frozen=True, slots=True)
class Nav:
    """A navigation property; ``join`` pairs source properties with target properties.

    The target properties are always a prefix of (or equal to) the target's key,
    so navigation is an index lookup, never a scan.
    """

    name: str
    target: str
    many: bool
    join: tuple[tuple[str, str], ...]

    @property
    def association(self) -> str:
        return "assoc_" + hashlib.sha256(f"{self.target}/{self.name}".encode()).hexdigest()[
            :32
        ].upper()


@dataclass(frozen=True, slots=True)
class EntityType:
    name: str
    set_name: str
    label: str
    keys: tuple[str, ...]
    props: tuple[Prop, ...]
    navs: tuple[Nav, ...] = ()
    creatable: bool = False
    updatable: bool = False
    deletable: bool = False
    prop_map: dict[str, Prop] = field(init=False, repr=False, compare=False)
    nav_map: dict[str, Nav] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "prop_map", {p.name: p for p in self.props})
        object.__setattr__(self, "nav_map", {n.name: n for n in self.navs})
        missing = [k for k in self.keys if k not in self.prop_map]
        if missing:
            raise ValueError(f"{self.name}: key properties {missing} are not declared")


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    component_id: str
    types: tuple[EntityType, ...]
    type_map: dict[str, EntityType] = field(init=False, repr=False, compare=False)
    set_map: dict[str, EntityType] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "type_map", {t.name: t for t in self.types})
        object.__setattr__(self, "set_map", {t.set_name: t for t in self.types})
        for etype in self.types:
            for nav in etype.navs:
                target = self.type_map[nav.target]
                target_props = tuple(t for _, t in nav.join)
                if target_props != target.keys[: len(target_props)]:
                    raise ValueError(f"{etype.name}.{nav.name}: join must prefix the target key")

    @property
    def container(self) -> str:
        return f"{self.name}_Entities"

    def qualified(self, etype: EntityType) -> str:
        return f"{self.name}.{etype.name}"


# -- compact constructors -----------------------------------------------------------------


def _s(
    name: str, length: int, label: str, *, fmt: str | None = None, sem: str | None = None,
    ro: bool = False, updatable: bool = True,
) -> Prop:
    return Prop(
        name, EDM_STRING, max_length=length, label=label, display_format=fmt, semantics=sem,
        creatable=not ro, updatable=updatable and not ro,
    )


def _key(
    name: str, length: int, label: str, *, fmt: str | None = "UpperCase", ro: bool = False
) -> Prop:
    return Prop(
        name, EDM_STRING, max_length=length, nullable=False, label=label, display_format=fmt,
        creatable=not ro, updatable=not ro,
    )


def _date(name: str, label: str, *, ro: bool = False) -> Prop:
    return Prop(
        name, EDM_DATETIME, precision=0, display_format="Date", label=label,
        creatable=not ro, updatable=not ro,
    )


def _stamp(
    name: str, label: str, *, ro: bool = False, precision: int = 7, etag: bool = False
) -> Prop:
    return Prop(
        name, EDM_DATETIMEOFFSET, precision=precision, label=label, creatable=not ro,
        updatable=not ro, concurrency=etag,
    )


def _dec(
    name: str, precision: int, scale: int, label: str, *, unit: str | None = None,
    ro: bool = False,
) -> Prop:
    return Prop(
        name, EDM_DECIMAL, precision=precision, scale=scale, label=label, unit=unit,
        creatable=not ro, updatable=not ro,
    )


def _bool(name: str, label: str, *, ro: bool = False) -> Prop:
    return Prop(name, EDM_BOOLEAN, label=label, creatable=not ro, updatable=not ro)


_UC = "UpperCase"
_NN = "NonNegative"

# -- API_PRODUCT_SRV --------------------------------------------------------------------------

A_PRODUCT = EntityType(
    "A_ProductType", "A_Product", "Product", ("Product",),
    (
        _key("Product", 40, "Product"),
        _s("ProductType", 4, "Product Type", fmt=_UC),
        _s("CrossPlantStatus", 2, "CrossPlantProdStatus", fmt=_UC),
        _date("CreationDate", "Created On", ro=True),
        _s("CreatedByUser", 12, "Created by", ro=True),
        _date("LastChangeDate", "Last Change", ro=True),
        _s("LastChangedByUser", 12, "Changed by", ro=True),
        _stamp("LastChangeDateTime", "Last Changed", ro=True),
        _bool("IsMarkedForDeletion", "Marked for Deletion"),
        _s("ProductGroup", 9, "Product Group", fmt=_UC),
        _s("BaseUnit", 3, "Base Unit of Measure", sem=UNIT_OF_MEASURE),
        _s("ItemCategoryGroup", 4, "Gen. item cat. grp", fmt=_UC),
        _s("Division", 2, "Division", fmt=_UC),
    ),
    (Nav("to_Description", "A_ProductDescriptionType", True, (("Product", "Product"),)),),
)

A_PRODUCT_DESCRIPTION = EntityType(
    "A_ProductDescriptionType", "A_ProductDescription", "Product Description",
    ("Product", "Language"),
    (
        _key("Product", 40, "Product"),
        _key("Language", 2, "Language Key", fmt=None),
        _s("ProductDescription", 40, "Product Description"),
    ),
)

PRODUCT_SERVICE = Service("API_PRODUCT_SRV", "LO-MD-MM", (A_PRODUCT, A_PRODUCT_DESCRIPTION))

# -- API_BUSINESS_PARTNER ---------------------------------------------------------------------

A_BUSINESS_PARTNER = EntityType(
    "A_BusinessPartnerType", "A_BusinessPartner", "Business Partner", ("BusinessPartner",),
    (
        _key("BusinessPartner", 10, "Business Partner"),
        _s("Customer", 10, "Customer", fmt=_UC, ro=True),
        _s("BusinessPartnerCategory", 1, "BP Category", fmt=_UC),
        _s("BusinessPartnerFullName", 81, "Full Name", ro=True),
        _s("BusinessPartnerGrouping", 4, "Grouping", fmt=_UC),
        _s("FirstName", 40, "First Name"),
        _s("LastName", 40, "Last Name"),
        _s("OrganizationBPName1", 40, "Name 1"),
        _s("OrganizationBPName2", 40, "Name 2"),
        _s("SearchTerm1", 20, "Search Term 1", fmt=_UC),
        _s("SearchTerm2", 20, "Search Term 2", fmt=_UC),
        _s("CorrespondenceLanguage", 2, "Language"),
        _bool("BusinessPartnerIsBlocked", "Central Block"),
        _date("CreationDate", "Created On", ro=True),
        _s("CreatedByUser", 12, "Created by", ro=True),
        _date("LastChangeDate", "Changed On", ro=True),
        _s("LastChangedByUser", 12, "Changed by", ro=True),
    ),
    (
        Nav("to_BusinessPartnerAddress", "A_BusinessPartnerAddressType", True,
            (("BusinessPartner", "BusinessPartner"),)),
        Nav("to_BusinessPartnerRole", "A_BusinessPartnerRoleType", True,
            (("BusinessPartner", "BusinessPartner"),)),
        Nav("to_BusinessPartnerTax", "A_BusinessPartnerTaxNumberType", True,
            (("BusinessPartner", "BusinessPartner"),)),
        Nav("to_Customer", "A_CustomerType", False, (("Customer", "Customer"),)),
    ),
    creatable=True, updatable=True,
)

A_BUSINESS_PARTNER_ADDRESS = EntityType(
    "A_BusinessPartnerAddressType", "A_BusinessPartnerAddress", "Address",
    ("BusinessPartner", "AddressID"),
    (
        _key("BusinessPartner", 10, "Business Partner"),
        _key("AddressID", 10, "Address Number"),
        _stamp("ValidityStartDate", "Valid From", precision=0),
        _stamp("ValidityEndDate", "Valid To", precision=0),
        _s("Country", 3, "Country/Region Key", fmt=_UC),
        _s("Region", 3, "Region", fmt=_UC),
        _s("CityName", 40, "City"),
        _s("PostalCode", 10, "Postal Code", fmt=_UC),
        _s("StreetName", 60, "Street"),
        _s("HouseNumber", 10, "House Number"),
        _s("Language", 2, "Language Key"),
    ),
)

A_BUSINESS_PARTNER_ROLE = EntityType(
    "A_BusinessPartnerRoleType", "A_BusinessPartnerRole", "Role",
    ("BusinessPartner", "BusinessPartnerRole"),
    (
        _key("BusinessPartner", 10, "Business Partner"),
        _key("BusinessPartnerRole", 6, "BP Role"),
        _stamp("ValidFrom", "Valid From", precision=0),
        _stamp("ValidTo", "Valid To", precision=0),
    ),
)

A_BUSINESS_PARTNER_TAX = EntityType(
    "A_BusinessPartnerTaxNumberType", "A_BusinessPartnerTaxNumber", "Tax Number",
    ("BusinessPartner", "BPTaxType"),
    (
        _key("BusinessPartner", 10, "Business Partner"),
        _key("BPTaxType", 4, "Tax Number Category"),
        _s("BPTaxNumber", 20, "Tax number", fmt=_UC),
        _s("BPTaxLongNumber", 60, "Tax Number Long", fmt=_UC),
    ),
)

A_CUSTOMER = EntityType(
    "A_CustomerType", "A_Customer", "Customer", ("Customer",),
    (
        _key("Customer", 10, "Customer"),
        _s("CustomerAccountGroup", 4, "Account Group", fmt=_UC),
        _s("CustomerFullName", 220, "Customer Full Name", ro=True),
        _s("CustomerName", 80, "Customer Name", ro=True),
        _date("CreationDate", "Created On", ro=True),
        _s("OrderIsBlockedForCustomer", 2, "Order Block", fmt=_UC),
        _s("DeliveryIsBlocked", 2, "Delivery Block", fmt=_UC),
        _bool("PostingIsBlocked", "Posting Block"),
        _bool("DeletionIndicator", "Deletion Flag"),
    ),
    (
        Nav("to_CustomerSalesArea", "A_CustomerSalesAreaType", True,
            (("Customer", "Customer"),)),
    ),
)

A_CUSTOMER_SALES_AREA = EntityType(
    "A_CustomerSalesAreaType", "A_CustomerSalesArea", "Sales Area",
    ("Customer", "SalesOrganization", "DistributionChannel", "Division"),
    (
        _key("Customer", 10, "Customer"),
        _key("SalesOrganization", 4, "Sales Organization"),
        _key("DistributionChannel", 2, "Distribution Channel"),
        _key("Division", 2, "Division"),
        _s("Currency", 5, "Currency", sem=CURRENCY_CODE),
        _s("CustomerPaymentTerms", 4, "Terms of Payment", fmt=_UC),
        _s("CustomerPricingProcedure", 2, "Cust.Pric.Procedure", fmt=_UC),
        _s("IncotermsClassification", 3, "Incoterms", fmt=_UC),
        _s("ShippingCondition", 2, "Shipping Conditions", fmt=_UC),
        _s("OrderIsBlockedForCustomer", 2, "Order Block", fmt=_UC),
    ),
)

BUSINESS_PARTNER_SERVICE = Service(
    "API_BUSINESS_PARTNER", "LO-MD-BP",
    (
        A_BUSINESS_PARTNER, A_BUSINESS_PARTNER_ADDRESS, A_BUSINESS_PARTNER_ROLE,
        A_BUSINESS_PARTNER_TAX, A_CUSTOMER, A_CUSTOMER_SALES_AREA,
    ),
)

# -- API_SALES_ORDER_SRV ----------------------------------------------------------------------

A_SALES_ORDER = EntityType(
    "A_SalesOrderType", "A_SalesOrder", "Sales Order Header", ("SalesOrder",),
    (
        _key("SalesOrder", 10, "Sales Order"),
        _s("SalesOrderType", 4, "Sales Order Type", fmt=_UC),
        _s("SalesOrganization", 4, "Sales Organization", fmt=_UC),
        _s("DistributionChannel", 2, "Distribution Channel", fmt=_UC),
        _s("OrganizationDivision", 2, "Division", fmt=_UC),
        _s("SalesGroup", 3, "Sales group", fmt=_UC),
        _s("SalesOffice", 4, "Sales office", fmt=_UC),
        _s("SoldToParty", 10, "Sold-To Party", fmt=_UC),
        _date("CreationDate", "Created on", ro=True),
        _s("CreatedByUser", 12, "Created by", ro=True),
        _date("LastChangeDate", "Changed On", ro=True),
        _stamp("LastChangeDateTime", "Time Stamp", ro=True, etag=True),
        _s("PurchaseOrderByCustomer", 35, "Customer Reference"),
        _s("CustomerPurchaseOrderType", 4, "Purchase Order Type", fmt=_UC),
        _date("CustomerPurchaseOrderDate", "Customer Ref. Date"),
        _date("SalesOrderDate", "Document Date"),
        _dec("TotalNetAmount", 16, 3, "Net Value", unit="TransactionCurrency", ro=True),
        _s("TransactionCurrency", 5, "Document Currency", sem=CURRENCY_CODE),
        _date("PricingDate", "Pricing Date"),
        _date("RequestedDeliveryDate", "Requested Delivery Date"),
        _s("ShippingCondition", 2, "Shipping Conditions", fmt=_UC),
        _s("IncotermsClassification", 3, "Incoterms", fmt=_UC),
        _s("CustomerPaymentTerms", 4, "Payment terms", fmt=_UC),
        _s("HeaderBillingBlockReason", 2, "Billing Block", fmt=_UC),
        _s("DeliveryBlockReason", 2, "Delivery Block", fmt=_UC),
        _s("OverallDeliveryStatus", 1, "Delivery Status", fmt=_UC, ro=True),
        _s("OverallSDProcessStatus", 1, "Overall Status", fmt=_UC, ro=True),
        _s("TotalCreditCheckStatus", 1, "Credit Status", fmt=_UC, ro=True),
        _s("OverallTotalDeliveryStatus", 1, "Ovrl Delivery Status", fmt=_UC,
           ro=True),
        _s("OverallSDDocumentRejectionSts", 1, "Rejection Status", fmt=_UC,
           ro=True),
    ),
    (Nav("to_Item", "A_SalesOrderItemType", True, (("SalesOrder", "SalesOrder"),)),),
    creatable=True, updatable=True, deletable=True,
)

A_SALES_ORDER_ITEM = EntityType(
    "A_SalesOrderItemType", "A_SalesOrderItem", "Sales Order Item",
    ("SalesOrder", "SalesOrderItem"),
    (
        _key("SalesOrder", 10, "Sales Order", ro=True),
        _key("SalesOrderItem", 6, "Item", fmt=_NN),
        _s("HigherLevelItem", 6, "Higher-Level Item", fmt=_NN),
        _s("SalesOrderItemCategory", 4, "Item category", fmt=_UC),
        _s("SalesOrderItemText", 40, "Item Description"),
        _s("PurchaseOrderByCustomer", 35, "Customer Reference"),
        _s("Material", 40, "Material", fmt=_UC),
        _s("MaterialByCustomer", 35, "Customer Material", fmt=_UC),
        _date("PricingDate", "Pricing Date"),
        _dec("RequestedQuantity", 15, 3, "Requested Quantity", unit="RequestedQuantityUnit"),
        _s("RequestedQuantityUnit", 3, "Requested Qty Unit", sem=UNIT_OF_MEASURE),
        _s("TransactionCurrency", 5, "Document Currency", sem=CURRENCY_CODE, ro=True),
        _dec("NetAmount", 16, 3, "Net Value", unit="TransactionCurrency", ro=True),
        _s("MaterialGroup", 9, "Material Group", fmt=_UC),
        _s("ProductionPlant", 4, "Plant", fmt=_UC),
        _s("SalesDocumentRjcnReason", 2, "Reason for Rejection", fmt=_UC),
        _s("SDProcessStatus", 1, "Overall Status", fmt=_UC, ro=True),
        _s("DeliveryStatus", 1, "Delivery Status", fmt=_UC, ro=True),
    ),
    (
        Nav("to_PricingElement", "A_SalesOrderItemPrElementType", True,
            (("SalesOrder", "SalesOrder"), ("SalesOrderItem", "SalesOrderItem"))),
    ),
    updatable=True,
)

A_SALES_ORDER_ITEM_PRICING = EntityType(
    "A_SalesOrderItemPrElementType", "A_SalesOrderItemPrElement", "Item Pricing Element",
    ("SalesOrder", "SalesOrderItem", "PricingProcedureStep", "PricingProcedureCounter"),
    (
        _key("SalesOrder", 10, "Sales Order", ro=True),
        _key("SalesOrderItem", 6, "Item", fmt=_NN, ro=True),
        _key("PricingProcedureStep", 3, "Step Number", fmt=_NN),
        _key("PricingProcedureCounter", 3, "Counter", fmt=_NN),
        _s("ConditionType", 4, "Condition type", fmt=_UC),
        _s("ConditionCalculationType", 3, "Calculation Type", fmt=_UC, ro=True),
        _dec("ConditionBaseValue", 24, 9, "Condition Basis", ro=True),
        _dec("ConditionRateValue", 24, 9, "Amount"),
        _s("ConditionCurrency", 5, "Currency", sem=CURRENCY_CODE),
        _dec("ConditionQuantity", 5, 0, "Pricing Unit", unit="ConditionQuantityUnit"),
        _s("ConditionQuantityUnit", 3, "Condition Unit", sem=UNIT_OF_MEASURE),
        _dec("ConditionAmount", 16, 3, "Value", unit="TransactionCurrency", ro=True),
        _s("TransactionCurrency", 5, "Document Currency", sem=CURRENCY_CODE),
        _bool("ConditionIsManuallyChanged", "Changed Manually", ro=True),
    ),
)

SALES_ORDER_SERVICE = Service(
    "API_SALES_ORDER_SRV", "SD-SLS-API",
    (A_SALES_ORDER, A_SALES_ORDER_ITEM, A_SALES_ORDER_ITEM_PRICING),
)

SERVICES: dict[str, Service] = {
    s.name: s for s in (PRODUCT_SERVICE, BUSINESS_PARTNER_SERVICE, SALES_ORDER_SERVICE)
}


# -- EDMX -------------------------------------------------------------------------------------

_EDMX_HEAD = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx"'
    ' xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"'
    ' xmlns:sap="http://www.sap.com/Protocols/SAPData">'
    '<edmx:DataServices m:DataServiceVersion="2.0">'
)


def _attrs(pairs: list[tuple[str, object]]) -> str:
    out = []
    for name, value in pairs:
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        out.append(f" {name}={quoteattr(str(value))}")
    return "".join(out)


def _property_xml(prop: Prop) -> str:
    pairs: list[tuple[str, object]] = [("Name", prop.name), ("Type", prop.edm)]
    if not prop.nullable:
        pairs.append(("Nullable", False))
    pairs += [
        ("MaxLength", prop.max_length),
        ("Precision", prop.precision),
        ("Scale", prop.scale),
        ("ConcurrencyMode", "Fixed" if prop.concurrency else None),
        ("sap:display-format", prop.display_format),
        ("sap:unit", prop.unit),
        ("sap:label", prop.label or None),
        ("sap:creatable", None if prop.creatable else False),
        ("sap:updatable", None if prop.updatable else False),
        ("sap:semantics", prop.semantics),
    ]
    return f"<Property{_attrs(pairs)}/>"


def _entity_type_xml(service: Service, etype: EntityType) -> str:
    parts = [
        f"<EntityType{_attrs([('Name', etype.name), ('sap:label', etype.label)])}"
        ' sap:content-version="1"><Key>',
        *(f"<PropertyRef Name={quoteattr(k)}/>" for k in etype.keys),
        "</Key>",
        *(_property_xml(p) for p in etype.props),
    ]
    for nav in etype.navs:
        assoc = nav.association
        parts.append(
            f"<NavigationProperty{_attrs([('Name', nav.name)])}"
            f' Relationship="{service.name}.{assoc}" FromRole="FromRole_{assoc}"'
            f' ToRole="ToRole_{assoc}"/>'
        )
    parts.append("</EntityType>")
    return "".join(parts)


def _association_xml(service: Service, etype: EntityType, nav: Nav) -> str:
    assoc = nav.association
    target = service.type_map[nav.target]
    many = "*" if nav.many else "0..1"
    constraint = "".join(
        [
            f'<ReferentialConstraint><Principal Role="FromRole_{assoc}">',
            *(f"<PropertyRef Name={quoteattr(src)}/>" for src, _ in nav.join),
            f'</Principal><Dependent Role="ToRole_{assoc}">',
            *(f"<PropertyRef Name={quoteattr(dst)}/>" for _, dst in nav.join),
            "</Dependent></ReferentialConstraint>",
        ]
    ) if nav.many else ""
    return (
        f'<Association Name="{assoc}" sap:content-version="1">'
        f'<End Type="{service.qualified(etype)}" Multiplicity="1" Role="FromRole_{assoc}"/>'
        f'<End Type="{service.qualified(target)}" Multiplicity="{many}" Role="ToRole_{assoc}"/>'
        f"{constraint}</Association>"
    )


def _container_xml(service: Service) -> str:
    parts = [
        f'<EntityContainer Name="{service.container}" m:IsDefaultEntityContainer="true"'
        ' sap:message-scope-supported="true" sap:supported-formats="json">'
    ]
    for etype in service.types:
        flags: list[tuple[str, object]] = [
            ("Name", etype.set_name),
            ("EntityType", service.qualified(etype)),
            ("sap:creatable", None if etype.creatable else False),
            ("sap:updatable", None if etype.updatable else False),
            ("sap:deletable", None if etype.deletable else False),
        ]
        parts.append(f'<EntitySet{_attrs(flags)} sap:content-version="1"/>')
    for etype in service.types:
        for nav in etype.navs:
            assoc = nav.association
            target = service.type_map[nav.target]
            parts.append(
                f'<AssociationSet Name="{assoc}" Association="{service.name}.{assoc}"'
                ' sap:creatable="false" sap:updatable="false" sap:deletable="false"'
                ' sap:content-version="1">'
                f'<End EntitySet="{etype.set_name}" Role="FromRole_{assoc}"/>'
                f'<End EntitySet="{target.set_name}" Role="ToRole_{assoc}"/>'
                "</AssociationSet>"
            )
    parts.append("</EntityContainer>")
    return "".join(parts)


@cache
def edmx(service_name: str) -> bytes:
    """The ``$metadata`` document of one service (EDMX 1.0, DataServiceVersion 2.0)."""
    service = SERVICES[service_name]
    parts = [
        _EDMX_HEAD,
        f'<Schema Namespace="{service.name}" xml:lang="en" sap:schema-version="1"'
        ' xmlns="http://schemas.microsoft.com/ado/2008/09/edm">',
        *(_entity_type_xml(service, t) for t in service.types),
        *(_association_xml(service, t, n) for t in service.types for n in t.navs),
        _container_xml(service),
        "</Schema></edmx:DataServices></edmx:Edmx>",
    ]
    return "".join(parts).encode()
