"""The deterministic demo world the sandboxes start with.

One catalogue is shared by the CRM and the ERP sandboxes because that is how a
real landscape looks: Salesforce ``Product2.ProductCode`` carries the SAP
material number, and a handful of the CRM accounts already exist in SAP as
business partners (same tax number), so identity matching has something to
find. Everything here is plain data: no I/O, no randomness.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class DemoProduct:
    material: str
    name: str
    product_type: str  # SAP ProductType: FERT finished good, HAWA trading good, DIEN service
    base_unit: str  # SAP BaseUnit
    product_group: str
    list_prices: dict[str, str]  # currency -> unit price as a decimal string
    active: bool = True


# The demo seller is a group with three legal entities; the ownership map can
# route each to its own ERP.
SELLING_ENTITIES = {"US": "ACME-US", "CA": "ACME-US", "JP": "ACME-US", "AU": "ACME-US",
                    "GB": "ACME-UK", "IE": "ACME-UK"}


_REGIONS = {
    ("US", "Chicago"): "IL", ("US", "Seattle"): "WA", ("US", "Dallas"): "TX",
    ("US", "Austin"): "TX", ("US", "Hartford"): "CT", ("US", "Boston"): "MA",
    ("US", "Denver"): "CO", ("US", "Portland"): "OR", ("US", "Atlanta"): "GA",
    ("US", "Minneapolis"): "MN", ("CA", "Toronto"): "ON", ("AU", "Sydney"): "NSW",
}


@dataclass(frozen=True, slots=True)
class DemoAccount:
    name: str
    country: str  # ISO 3166-1 alpha-2
    city: str
    street: str
    postal_code: str
    tax_id: str
    website: str
    industry: str
    # Set when the account already exists in SAP as a business partner.
    sap_business_partner: str | None = None

    @property
    def region(self) -> str:
        """State or province (ISO 3166-2 suffix) where tax engines need one."""
        return _REGIONS.get((self.country, self.city), "")

    @property
    def selling_entity(self) -> str:
        """Which of the demo group's legal entities sells to this account."""
        return SELLING_ENTITIES.get(self.country, "ACME-EU")


@dataclass(frozen=True, slots=True)
class DemoQuoteLine:
    material: str
    quantity: str
    discount_percent: str = "0"


@dataclass(frozen=True, slots=True)
class DemoQuote:
    name: str
    account_index: int
    status: str  # Salesforce Quote.Status picklist value
    currency: str
    expiration_date: str
    lines: tuple[DemoQuoteLine, ...] = field(default_factory=tuple)


PRODUCTS: tuple[DemoProduct, ...] = (
    DemoProduct(
        "Q2C-1001",
        "Edge Gateway Appliance G2",
        "FERT",
        "EA",
        "HW01",
        {"EUR": "4800.00", "USD": "5200.00", "GBP": "4150.00", "JPY": "780000"},
    ),
    DemoProduct(
        "Q2C-1002",
        "Edge Gateway Appliance G2 Redundant PSU",
        "HAWA",
        "EA",
        "HW01",
        {"EUR": "390.00", "USD": "420.00", "GBP": "335.00", "JPY": "63000"},
    ),
    DemoProduct(
        "Q2C-1003",
        "Industrial Sensor Hub S8",
        "FERT",
        "EA",
        "HW02",
        {"EUR": "1250.00", "USD": "1350.00", "GBP": "1080.00", "JPY": "203000"},
    ),
    DemoProduct(
        "Q2C-1004",
        "Sensor Probe Kit (10 pack)",
        "HAWA",
        "EA",
        "HW02",
        {"EUR": "189.90", "USD": "205.00", "GBP": "163.50", "JPY": "30800"},
    ),
    DemoProduct(
        "Q2C-1005",
        "Rack Mount Rail Set",
        "HAWA",
        "EA",
        "HW03",
        {"EUR": "79.50", "USD": "86.00", "GBP": "68.40", "JPY": "12900"},
    ),
    DemoProduct(
        "Q2C-2001",
        "Fleet Monitoring Subscription (per device, monthly)",
        "DIEN",
        "EA",
        "SW01",
        {"EUR": "12.50", "USD": "13.50", "GBP": "10.75", "JPY": "2000"},
    ),
    DemoProduct(
        "Q2C-2002",
        "Analytics Add-on (per site, monthly)",
        "DIEN",
        "EA",
        "SW01",
        {"EUR": "249.00", "USD": "269.00", "GBP": "214.00", "JPY": "40400"},
    ),
    DemoProduct(
        "Q2C-2003",
        "Premium Support (annual)",
        "DIEN",
        "EA",
        "SW02",
        {"EUR": "3600.00", "USD": "3900.00", "GBP": "3100.00", "JPY": "585000"},
    ),
    DemoProduct(
        "Q2C-3001",
        "Installation Service (per hour)",
        "DIEN",
        "H",
        "SV01",
        {"EUR": "145.00", "USD": "160.00", "GBP": "125.00", "JPY": "23500"},
    ),
    DemoProduct(
        "Q2C-3002",
        "Onsite Training Day",
        "DIEN",
        "EA",
        "SV01",
        {"EUR": "1900.00", "USD": "2050.00", "GBP": "1640.00", "JPY": "308000"},
    ),
    DemoProduct(
        "Q2C-3003",
        "Project Management (per hour)",
        "DIEN",
        "H",
        "SV02",
        {"EUR": "165.00", "USD": "180.00", "GBP": "142.00", "JPY": "26800"},
    ),
    DemoProduct(
        "Q2C-9001",
        "Legacy Gateway G1 (end of life)",
        "FERT",
        "EA",
        "HW01",
        {"EUR": "3100.00", "USD": "3350.00"},
        active=False,
    ),
)

ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount(
        "Northwind Traders GmbH",
        "DE",
        "Hamburg",
        "Speicherstadt 12",
        "20457",
        "DE811907980",
        "northwind.example",
        "Wholesale",
        "1000100",
    ),
    DemoAccount(
        "Contoso Manufacturing Inc.",
        "US",
        "Chicago",
        "233 S Wacker Dr",
        "60606",
        "36-4173902",
        "contoso.example",
        "Manufacturing",
        "1000101",
    ),
    DemoAccount(
        "Fabrikam Logistics Ltd",
        "GB",
        "Manchester",
        "1 Spinningfields",
        "M3 3EB",
        "GB220430231",
        "fabrikam.example",
        "Transportation",
        "1000102",
    ),
    DemoAccount(
        "Tailspin Energy SA",
        "FR",
        "Lyon",
        "12 Rue de la Republique",
        "69002",
        "FR40303265045",
        "tailspin.example",
        "Energy",
    ),
    DemoAccount(
        "Wide World Importers BV",
        "NL",
        "Rotterdam",
        "Wilhelminakade 91",
        "3072 AP",
        "NL859120345B01",
        "wideworldimporters.example",
        "Wholesale",
    ),
    DemoAccount(
        "Adventure Works Cycles",
        "US",
        "Seattle",
        "1200 5th Ave",
        "98101",
        "91-1144442",
        "adventure-works.example",
        "Retail",
    ),
    DemoAccount(
        "Alpine Ski House AG",
        "AT",
        "Innsbruck",
        "Maria-Theresien-Strasse 18",
        "6020",
        "ATU63784617",
        "alpineskihouse.example",
        "Hospitality",
    ),
    DemoAccount(
        "Blue Yonder Airlines",
        "US",
        "Dallas",
        "2100 Ross Ave",
        "75201",
        "75-2981237",
        "blueyonderairlines.example",
        "Transportation",
    ),
    DemoAccount(
        "Coho Winery S.L.",
        "ES",
        "Logrono",
        "Calle Mayor 4",
        "26001",
        "ESB26348912",
        "cohowinery.example",
        "Food & Beverage",
    ),
    DemoAccount(
        "Datum Corporation",
        "US",
        "Austin",
        "500 W 2nd St",
        "78701",
        "74-3049862",
        "datum.example",
        "Technology",
        "1000103",
    ),
    DemoAccount(
        "Fourth Coffee Ltd",
        "GB",
        "Bristol",
        "Temple Quay 2",
        "BS1 6EG",
        "GB987654312",
        "fourthcoffee.example",
        "Food & Beverage",
    ),
    DemoAccount(
        "Graphic Design Institute",
        "CA",
        "Toronto",
        "100 King St W",
        "M5X 1A9",
        "123456782RT0001",
        "graphicdesigninstitute.example",
        "Education",
    ),
    DemoAccount(
        "Humongous Insurance Co",
        "US",
        "Hartford",
        "1 Financial Plaza",
        "06103",
        "06-0849371",
        "humongousinsurance.example",
        "Insurance",
    ),
    DemoAccount(
        "Litware Software GmbH",
        "DE",
        "Munich",
        "Leopoldstrasse 244",
        "80807",
        "DE129273398",
        "litware.example",
        "Technology",
        "1000104",
    ),
    DemoAccount(
        "Lucerne Publishing AG",
        "CH",
        "Lucerne",
        "Pilatusstrasse 3",
        "6003",
        "CHE-116.281.710",
        "lucernepublishing.example",
        "Media",
    ),
    DemoAccount(
        "Margie's Travel Pty Ltd",
        "AU",
        "Sydney",
        "1 Macquarie Pl",
        "2000",
        "51824753556",
        "margiestravel.example",
        "Hospitality",
    ),
    DemoAccount(
        "Nod Publishers Oy",
        "FI",
        "Helsinki",
        "Mannerheimintie 12",
        "00100",
        "FI20774740",
        "nodpublishers.example",
        "Media",
    ),
    DemoAccount(
        "Proseware Inc.",
        "US",
        "Boston",
        "100 Summer St",
        "02110",
        "04-2103547",
        "proseware.example",
        "Technology",
    ),
    DemoAccount(
        "Relecloud KK",
        "JP",
        "Tokyo",
        "1-1-2 Otemachi, Chiyoda-ku",
        "100-0004",
        "T7010001008844",
        "relecloud.example",
        "Technology",
        "1000105",
    ),
    DemoAccount(
        "School of Fine Art",
        "GB",
        "Edinburgh",
        "74 Lauriston Pl",
        "EH3 9DF",
        "GB193758264",
        "fineartschool.example",
        "Education",
    ),
    DemoAccount(
        "Southridge Video SpA",
        "IT",
        "Milan",
        "Via Dante 7",
        "20123",
        "IT00743110157",
        "southridgevideo.example",
        "Media",
    ),
    DemoAccount(
        "Trey Research AB",
        "SE",
        "Stockholm",
        "Kungsgatan 33",
        "111 56",
        "SE556036079301",
        "treyresearch.example",
        "Research",
    ),
    DemoAccount(
        "The Phone Company Ltd",
        "IE",
        "Dublin",
        "2 Grand Canal Sq",
        "D02 A342",
        "IE6388047V",
        "thephone-company.example",
        "Telecommunications",
    ),
    DemoAccount(
        "VanArsdel Ltd",
        "GB",
        "London",
        "30 St Mary Axe",
        "EC3A 8BF",
        "GB123456789",
        "vanarsdel.example",
        "Manufacturing",
        "1000106",
    ),
    DemoAccount(
        "Wingtip Toys Inc.",
        "US",
        "Denver",
        "1801 California St",
        "80202",
        "84-1263549",
        "wingtiptoys.example",
        "Retail",
    ),
    DemoAccount(
        "Woodgrove Bank NV",
        "BE",
        "Brussels",
        "Rue Royale 120",
        "1000",
        "BE0403199702",
        "woodgrovebank.example",
        "Financial Services",
    ),
    DemoAccount(
        "World Wide Importers Kft",
        "HU",
        "Budapest",
        "Andrassy ut 9",
        "1061",
        "HU12892312",
        "wwi-hungary.example",
        "Wholesale",
    ),
    DemoAccount(
        "A. Datum Polska Sp. z o.o.",
        "PL",
        "Warsaw",
        "ul. Prosta 51",
        "00-838",
        "PL5260250995",
        "adatum-polska.example",
        "Technology",
    ),
    DemoAccount(
        "Bellows College",
        "US",
        "Portland",
        "1500 SW Park Ave",
        "97201",
        "93-0386901",
        "bellowscollege.example",
        "Education",
    ),
    DemoAccount(
        "Consolidated Messenger A/S",
        "DK",
        "Copenhagen",
        "Bredgade 40",
        "1260",
        "DK13585628",
        "consolidatedmessenger.example",
        "Transportation",
    ),
    DemoAccount(
        "First Up Consultants LLC",
        "US",
        "Atlanta",
        "191 Peachtree St NE",
        "30303",
        "58-2479013",
        "firstupconsultants.example",
        "Consulting",
    ),
    DemoAccount(
        "Lamna Healthcare Company",
        "US",
        "Minneapolis",
        "80 S 8th St",
        "55402",
        "41-1892476",
        "lamnahealthcare.example",
        "Healthcare",
    ),
)

QUOTES: tuple[DemoQuote, ...] = (
    DemoQuote(
        "Northwind rollout phase 1",
        0,
        "Accepted",
        "EUR",
        "2026-12-31",
        (
            DemoQuoteLine("Q2C-1001", "4"),
            DemoQuoteLine("Q2C-1002", "4"),
            DemoQuoteLine("Q2C-3001", "16", "10"),
        ),
    ),
    DemoQuote(
        "Contoso plant sensors",
        1,
        "Accepted",
        "USD",
        "2026-12-15",
        (
            DemoQuoteLine("Q2C-1003", "12"),
            DemoQuoteLine("Q2C-1004", "12", "5"),
            DemoQuoteLine("Q2C-2001", "120"),
        ),
    ),
    DemoQuote(
        "Fabrikam depot monitoring",
        2,
        "Approved",
        "GBP",
        "2027-01-31",
        (DemoQuoteLine("Q2C-1003", "6"), DemoQuoteLine("Q2C-2002", "3")),
    ),
    DemoQuote(
        "Tailspin pilot",
        3,
        "Draft",
        "EUR",
        "2027-02-28",
        (DemoQuoteLine("Q2C-1001", "1"), DemoQuoteLine("Q2C-3002", "1")),
    ),
    DemoQuote(
        "Wide World warehouse",
        4,
        "In Review",
        "EUR",
        "2027-01-15",
        (
            DemoQuoteLine("Q2C-1001", "2"),
            DemoQuoteLine("Q2C-1005", "2"),
            DemoQuoteLine("Q2C-2003", "1"),
        ),
    ),
    DemoQuote(
        "Adventure Works stores",
        5,
        "Presented",
        "USD",
        "2026-12-20",
        (DemoQuoteLine("Q2C-1003", "25", "12"), DemoQuoteLine("Q2C-2001", "300")),
    ),
    DemoQuote(
        "Alpine lifts telemetry",
        6,
        "Rejected",
        "EUR",
        "2026-11-30",
        (DemoQuoteLine("Q2C-1003", "8"),),
    ),
    DemoQuote(
        "Datum lab expansion",
        9,
        "Accepted",
        "USD",
        "2027-03-31",
        (
            DemoQuoteLine("Q2C-1001", "3"),
            DemoQuoteLine("Q2C-3003", "40"),
            DemoQuoteLine("Q2C-2003", "1"),
        ),
    ),
    DemoQuote(
        "Relecloud Tokyo DC",
        18,
        "Accepted",
        "JPY",
        "2027-01-31",
        (DemoQuoteLine("Q2C-1001", "2"), DemoQuoteLine("Q2C-2001", "50")),
    ),
    DemoQuote(
        "VanArsdel line retrofit",
        23,
        "Needs Review",
        "GBP",
        "2027-02-15",
        (DemoQuoteLine("Q2C-1003", "10"), DemoQuoteLine("Q2C-3001", "24")),
    ),
    DemoQuote(
        "Woodgrove branch pilot",
        25,
        "Denied",
        "EUR",
        "2026-10-31",
        (DemoQuoteLine("Q2C-1001", "1"),),
    ),
    DemoQuote(
        "Legacy refresh (blocked)",
        13,
        "Draft",
        "EUR",
        "2027-04-30",
        (DemoQuoteLine("Q2C-9001", "2"),),
    ),
)

# SAP organisational defaults used for sales orders in the demo landscape.
SALES_ORGANIZATION = "1010"
DISTRIBUTION_CHANNEL = "10"
DIVISION = "00"

# One customer per ERP is on credit hold, so a quote-to-cash run has an order to stop:
# in SAP a central order block (A_Customer.OrderIsBlockedForCustomer) on Litware, in
# NetSuite the credit hold override (customer.creditHoldOverride = ON) on this UK account.
SAP_ORDER_BLOCKED_CUSTOMER = ("1000104", "01")  # (Customer, order block reason)
NETSUITE_CREDIT_HOLD_ACCOUNT = "School of Fine Art"
