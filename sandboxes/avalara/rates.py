"""The deterministic tax content behind the AvaTax sandbox.

Real AvaTax resolves an address to a rooftop-accurate set of jurisdictions and applies
thousands of product rules. This module is a small, fixed stand-in with the same *shape*
of answer (jurisdiction details with ``jurisType``/``jurisCode``/``jurisName``/``rate``/
``taxName``), so callers can be tested against stable numbers. Rates are the published
standard rates at the time of writing; they are demo data, not tax advice.

Rules
=====

Sourcing is destination-based everywhere, and every seeded company is treated as having
nexus in every jurisdiction listed here.

* VAT/GST countries: one country-level detail (``jurisType`` ``CNT``, ``taxType``
  ``Output``, ``rateType`` ``Standard``) at the standard rate -- EU demo countries
  (DE 19, FR 20, NL 21, AT 20, BE 21, ES 21, IT 22, IE 23, FI 25.5, SE 25, DK 25, PL 23,
  HU 27), GB 20, CH 8.1, NO 25, JP 10 (consumption tax), AU 10 (GST).
* Canada: federal GST/HST 5 % (``CNT``) plus a provincial detail (``STA``) where the
  province levies one: ON HST 8, NS HST 9, NB/NL/PE HST 10, QC QST 9.975, BC PST 7,
  MB RST 7, SK PST 6. Other provinces and an absent region: GST only.
* United States: the state rate (``STA``, jurisCode = state FIPS code) for all 50 states
  and DC, plus local details in these places:

  - California, everywhere: the 7.25 % statewide rate split as AvaTax reports it --
    6 % state, 0.25 % county (``CTY``), 1 % Bradley-Burns local (``STJ``);
  - New York City (city "New York", "New York City", "NYC", "Manhattan", "Brooklyn",
    "Bronx", "Queens", "Staten Island"): 4 % state + 4.5 % city (``CIT``) + 0.375 %
    Metropolitan Commuter Transportation District (``STJ``) = 8.875 %;
  - Austin and Dallas, TX: 6.25 % state + 1 % city + 1 % transit authority = 8.25 %.

* A valid ISO 3166 country that is not listed: no nexus -- one zero-rate country detail,
  all amounts non-taxable.

Taxability by tax code (:func:`classify_tax_code`)
==================================================

* ``P0000000`` (and any other ``P...`` code, or an empty code): tangible personal
  property, taxable everywhere.
* ``SW054000`` (and other ``SW...``/``D...`` digital codes): SaaS. Taxable under VAT/GST;
  in the US only in :data:`SAAS_TAXABLE_STATES` (e.g. TX, NY, WA -- not CA, IL, CO).
  Texas' 80 % base for data processing is not modelled (the whole amount is taxable).
* ``SV`` (and other ``S...`` service codes): installation/training services, not taxable
  in any US state, taxable under VAT/GST.
* ``NT``: non-taxable everywhere.
* ``OF400000`` and ``FR...`` freight codes: shipping charges. Taxable under VAT/GST; in
  the US only in :data:`FREIGHT_TAXABLE_STATES`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

TaxCategory = Literal["tangible", "saas", "service", "nontaxable", "freight"]

_ISO_ALPHA2 = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
    BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ
    DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP
    GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG
    KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML
    MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE
    PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL
    SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM
    US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
"""
#: ISO 3166-1 alpha-2 codes AvaTax accepts as a country.
ISO_COUNTRIES: Final = frozenset(_ISO_ALPHA2.split())


@dataclass(frozen=True, slots=True)
class _Country:
    name: str
    alpha3: str
    rate: str  # percent
    tax_name: str


#: Countries with a country-level VAT/GST/consumption tax (destination rate, percent).
VAT_COUNTRIES: Final[dict[str, _Country]] = {
    "AT": _Country("AUSTRIA", "AUT", "20", "Standard"),
    "AU": _Country("AUSTRALIA", "AUS", "10", "GST"),
    "BE": _Country("BELGIUM", "BEL", "21", "Standard"),
    "CH": _Country("SWITZERLAND", "CHE", "8.1", "Standard"),
    "DE": _Country("GERMANY", "DEU", "19", "Standard"),
    "DK": _Country("DENMARK", "DNK", "25", "Standard"),
    "ES": _Country("SPAIN", "ESP", "21", "Standard"),
    "FI": _Country("FINLAND", "FIN", "25.5", "Standard"),
    "FR": _Country("FRANCE", "FRA", "20", "Standard"),
    "GB": _Country("UNITED KINGDOM", "GBR", "20", "Standard"),
    "HU": _Country("HUNGARY", "HUN", "27", "Standard"),
    "IE": _Country("IRELAND", "IRL", "23", "Standard"),
    "IT": _Country("ITALY", "ITA", "22", "Standard"),
    "JP": _Country("JAPAN", "JPN", "10", "Consumption Tax"),
    "NL": _Country("NETHERLANDS", "NLD", "21", "Standard"),
    "NO": _Country("NORWAY", "NOR", "25", "Standard"),
    "PL": _Country("POLAND", "POL", "23", "Standard"),
    "SE": _Country("SWEDEN", "SWE", "25", "Standard"),
}

CANADA_GST: Final = Decimal("0.05")
#: Canadian provinces: code -> (name, provincial rate percent or None, tax name, tax type).
CANADA_PROVINCES: Final[dict[str, tuple[str, str | None, str, str]]] = {
    "AB": ("ALBERTA", None, "", ""),
    "BC": ("BRITISH COLUMBIA", "7", "PST", "Sales"),
    "MB": ("MANITOBA", "7", "RST", "Sales"),
    "NB": ("NEW BRUNSWICK", "10", "HST", "Output"),
    "NL": ("NEWFOUNDLAND AND LABRADOR", "10", "HST", "Output"),
    "NS": ("NOVA SCOTIA", "9", "HST", "Output"),
    "NT": ("NORTHWEST TERRITORIES", None, "", ""),
    "NU": ("NUNAVUT", None, "", ""),
    "ON": ("ONTARIO", "8", "HST", "Output"),
    "PE": ("PRINCE EDWARD ISLAND", "10", "HST", "Output"),
    "QC": ("QUEBEC", "9.975", "QST", "Output"),
    "SK": ("SASKATCHEWAN", "6", "PST", "Sales"),
    "YT": ("YUKON", None, "", ""),
}

#: US states and DC: code -> (name, FIPS code, state rate percent).
US_STATES: Final[dict[str, tuple[str, str, str]]] = {
    "AL": ("ALABAMA", "01", "4"), "AK": ("ALASKA", "02", "0"),
    "AZ": ("ARIZONA", "04", "5.6"), "AR": ("ARKANSAS", "05", "6.5"),
    "CA": ("CALIFORNIA", "06", "6"), "CO": ("COLORADO", "08", "2.9"),
    "CT": ("CONNECTICUT", "09", "6.35"), "DE": ("DELAWARE", "10", "0"),
    "DC": ("DISTRICT OF COLUMBIA", "11", "6"), "FL": ("FLORIDA", "12", "6"),
    "GA": ("GEORGIA", "13", "4"), "HI": ("HAWAII", "15", "4"),
    "ID": ("IDAHO", "16", "6"), "IL": ("ILLINOIS", "17", "6.25"),
    "IN": ("INDIANA", "18", "7"), "IA": ("IOWA", "19", "6"),
    "KS": ("KANSAS", "20", "6.5"), "KY": ("KENTUCKY", "21", "6"),
    "LA": ("LOUISIANA", "22", "5"), "ME": ("MAINE", "23", "5.5"),
    "MD": ("MARYLAND", "24", "6"), "MA": ("MASSACHUSETTS", "25", "6.25"),
    "MI": ("MICHIGAN", "26", "6"), "MN": ("MINNESOTA", "27", "6.875"),
    "MS": ("MISSISSIPPI", "28", "7"), "MO": ("MISSOURI", "29", "4.225"),
    "MT": ("MONTANA", "30", "0"), "NE": ("NEBRASKA", "31", "5.5"),
    "NV": ("NEVADA", "32", "6.85"), "NH": ("NEW HAMPSHIRE", "33", "0"),
    "NJ": ("NEW JERSEY", "34", "6.625"), "NM": ("NEW MEXICO", "35", "4.875"),
    "NY": ("NEW YORK", "36", "4"), "NC": ("NORTH CAROLINA", "37", "4.75"),
    "ND": ("NORTH DAKOTA", "38", "5"), "OH": ("OHIO", "39", "5.75"),
    "OK": ("OKLAHOMA", "40", "4.5"), "OR": ("OREGON", "41", "0"),
    "PA": ("PENNSYLVANIA", "42", "6"), "RI": ("RHODE ISLAND", "44", "7"),
    "SC": ("SOUTH CAROLINA", "45", "6"), "SD": ("SOUTH DAKOTA", "46", "4.2"),
    "TN": ("TENNESSEE", "47", "7"), "TX": ("TEXAS", "48", "6.25"),
    "UT": ("UTAH", "49", "4.85"), "VT": ("VERMONT", "50", "6"),
    "VA": ("VIRGINIA", "51", "5.3"), "WA": ("WASHINGTON", "53", "6.5"),
    "WV": ("WEST VIRGINIA", "54", "6"), "WI": ("WISCONSIN", "55", "5"),
    "WY": ("WYOMING", "56", "4"),
}  # fmt: skip

#: States whose sales tax applies to SaaS (tax code SW054000).
SAAS_TAXABLE_STATES: Final = frozenset(
    {"AZ", "CT", "DC", "HI", "IA", "MA", "NM", "NY", "OH", "PA", "RI", "SC", "SD", "TN",
     "TX", "UT", "WA", "WV"}
)  # fmt: skip
#: States that tax separately stated shipping/delivery charges.
FREIGHT_TAXABLE_STATES: Final = frozenset(
    {"AR", "CT", "DC", "GA", "HI", "KS", "KY", "MN", "MS", "NE", "NJ", "NM", "NY", "NC",
     "ND", "OH", "PA", "RI", "SC", "SD", "TN", "TX", "VT", "WA", "WV", "WI"}
)  # fmt: skip

# California counties for the cities the sandbox knows: city -> (county name, county FIPS).
_CA_COUNTIES: Final[dict[str, tuple[str, str]]] = {
    "irvine": ("ORANGE", "059"), "anaheim": ("ORANGE", "059"),
    "los angeles": ("LOS ANGELES", "037"), "san francisco": ("SAN FRANCISCO", "075"),
    "san jose": ("SANTA CLARA", "085"), "palo alto": ("SANTA CLARA", "085"),
    "san diego": ("SAN DIEGO", "073"), "sacramento": ("SACRAMENTO", "067"),
    "oakland": ("ALAMEDA", "001"),
}  # fmt: skip
_NYC: Final = frozenset(
    {"new york", "new york city", "nyc", "manhattan", "brooklyn", "bronx", "the bronx",
     "queens", "staten island"}
)  # fmt: skip
# (state, city) -> extra local jurisdictions: (jurisType, code, name, rate percent, taxName).
_US_LOCALS: Final[dict[tuple[str, str], tuple[tuple[str, str, str, str, str], ...]]] = {
    ("TX", "austin"): (
        ("CIT", "05000", "AUSTIN", "1", "TX CITY TAX"),
        ("STJ", "3227004", "AUSTIN MTA TRANSIT", "1", "TX SPECIAL TAX"),
    ),
    ("TX", "dallas"): (
        ("CIT", "19000", "DALLAS", "1", "TX CITY TAX"),
        ("STJ", "3057994", "DALLAS MTA TRANSIT", "1", "TX SPECIAL TAX"),
    ),
}
_NYC_LOCALS: Final = (
    ("CIT", "51000", "NEW YORK CITY", "4.5", "NY CITY TAX"),
    ("STJ", "359071", "METROPOLITAN COMMUTER TRANSPORTATION DISTRICT", "0.375",
     "NY SPECIAL TAX"),
)  # fmt: skip

#: Decimal places per ISO 4217 currency where they are not 2.
_CURRENCY_PLACES: Final = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip

_JURIS_TYPE_NAMES: Final = {
    "CNT": "Country", "STA": "State", "CTY": "County", "CIT": "City", "STJ": "Special",
}  # fmt: skip
_HUNDRED = Decimal(100)


def currency_places(currency: str) -> int:
    """Decimal places of ``currency`` (ISO 4217); tax is rounded to these."""
    return _CURRENCY_PLACES.get(currency.upper(), 2)


def _stable_id(*parts: str) -> int:
    return 100_000 + zlib.crc32("|".join(parts).encode()) % 9_000_000


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    """One taxing authority applied to a line (a ``details[]`` row)."""

    country: str
    region: str
    juris_type: str  # STA, CTY, CIT, STJ, CNT
    juris_code: str
    juris_name: str
    tax_name: str
    tax_type: str  # Sales (US sales tax, PST) or Output (VAT, GST, HST, QST)
    rate: Decimal  # fraction, e.g. 0.0625
    rate_type: str  # General (US) or Standard (VAT)
    state_fips: str = ""

    @property
    def jurisdiction_type(self) -> str:
        """The long form AvaTax uses in ``jurisdictionType`` and in ``summary[].jurisType``."""
        return _JURIS_TYPE_NAMES[self.juris_type]

    @property
    def rate_type_code(self) -> str:
        return self.rate_type[0]

    @property
    def tax_sub_type(self) -> str:
        return "O" if self.tax_type == "Output" else "S"

    @property
    def tax_type_group(self) -> str:
        return "InputAndOutput" if self.tax_type == "Output" else "SalesAndUse"

    @property
    def jurisdiction_id(self) -> int:
        return _stable_id(self.country, self.juris_type, self.juris_code)


@dataclass(frozen=True, slots=True)
class Location:
    """A resolved destination: normalized country/region and the jurisdictions that apply."""

    country: str
    region: str
    jurisdictions: tuple[Jurisdiction, ...]
    nexus: bool = True

    @property
    def tax_region_id(self) -> int:
        codes = ",".join(j.juris_code for j in self.jurisdictions)
        return _stable_id(self.country, self.region, codes)


class AddressError(Exception):
    """An address the table cannot resolve."""

    def __init__(self, kind: Literal["incomplete", "country", "region"], value: str) -> None:
        super().__init__(kind, value)
        self.kind = kind
        self.value = value


_COUNTRY_ALIASES: dict[str, str] = {
    "USA": "US", "UNITED STATES": "US", "UNITED STATES OF AMERICA": "US",
    "CAN": "CA", "CANADA": "CA", "UK": "GB", "GREAT BRITAIN": "GB",
}  # fmt: skip
for _code, _country in VAT_COUNTRIES.items():
    _COUNTRY_ALIASES[_country.alpha3] = _code
    _COUNTRY_ALIASES[_country.name] = _code
_US_STATE_NAMES = {name: code for code, (name, _, _) in US_STATES.items()}
_CA_PROVINCE_NAMES = {name: code for code, (name, *_) in CANADA_PROVINCES.items()}


def normalize_country(raw: str) -> str | None:
    """ISO alpha-2 for ``raw`` (a code, an alpha-3 or an English name); None if unknown."""
    value = " ".join(raw.split()).upper()
    if value in ISO_COUNTRIES:
        return value
    return _COUNTRY_ALIASES.get(value)


def _percent(value: str) -> Decimal:
    return Decimal(value) / _HUNDRED


def _us_location(state: str, city: str) -> Location:
    name, fips, rate = US_STATES[state]
    juris: list[Jurisdiction] = []
    if state == "CA":
        county, county_fips = _CA_COUNTIES.get(city, (city.upper() or "CALIFORNIA", "000"))
        juris += [
            Jurisdiction("US", "CA", "STA", fips, name, "CA STATE TAX", "Sales",
                         _percent("6"), "General", fips),
            Jurisdiction("US", "CA", "CTY", county_fips, county, "CA COUNTY TAX", "Sales",
                         _percent("0.25"), "General", fips),
            Jurisdiction("US", "CA", "STJ", f"EM{county_fips}0", f"{county} CO LOCAL TAX SL",
                         "CA SPECIAL TAX", "Sales", _percent("1"), "General", fips),
        ]  # fmt: skip
        return Location("US", state, tuple(juris))
    juris.append(
        Jurisdiction("US", state, "STA", fips, name, f"{state} STATE TAX", "Sales",
                     _percent(rate), "General", fips)
    )  # fmt: skip
    locals_ = _NYC_LOCALS if state == "NY" and city in _NYC else _US_LOCALS.get((state, city), ())
    for juris_type, code, local_name, local_rate, tax_name in locals_:
        juris.append(
            Jurisdiction("US", state, juris_type, code, local_name, tax_name, "Sales",
                         _percent(local_rate), "General", fips)
        )  # fmt: skip
    return Location("US", state, tuple(juris))


def _canada_location(province: str) -> Location:
    hst = province in CANADA_PROVINCES and CANADA_PROVINCES[province][2] == "HST"
    juris = [
        Jurisdiction("CA", "CA", "CNT", "CA", "CANADA", "HST" if hst else "GST",
                     "Output", CANADA_GST, "Standard"),
    ]  # fmt: skip
    if province:
        name, rate, tax_name, tax_type = CANADA_PROVINCES[province]
        if rate is not None:
            juris.append(
                Jurisdiction("CA", province, "STA", province, name, tax_name, tax_type,
                             _percent(rate), "Standard" if tax_type == "Output" else "General")
            )  # fmt: skip
    return Location("CA", province, tuple(juris))


def resolve(country_raw: str, region_raw: str, city_raw: str) -> Location:
    """The :class:`Location` for an address; raises :class:`AddressError` if unresolvable."""
    if not country_raw.strip():
        raise AddressError("incomplete", "country")
    country = normalize_country(country_raw)
    if country is None:
        raise AddressError("country", country_raw)
    region = " ".join(region_raw.split()).upper()
    city = " ".join(city_raw.split()).casefold()
    if country == "US":
        if not region:
            raise AddressError("incomplete", "region")
        state = region if region in US_STATES else _US_STATE_NAMES.get(region)
        if state is None:
            raise AddressError("region", region_raw)
        return _us_location(state, city)
    if country == "CA":
        province = region if region in CANADA_PROVINCES else _CA_PROVINCE_NAMES.get(region, "")
        if region and not province:
            raise AddressError("region", region_raw)
        return _canada_location(province)
    vat = VAT_COUNTRIES.get(country)
    if vat is not None:
        rate_type = "Standard"
        juris = Jurisdiction(country, country, "CNT", country, vat.name, vat.tax_name,
                             "Output", _percent(vat.rate), rate_type)  # fmt: skip
        return Location(country, region, (juris,))
    # A real country without nexus for the seeded companies: nothing is taxable there.
    none = Jurisdiction(country, country, "CNT", country, country, f"{country} TAX", "Output",
                        Decimal(0), "Standard")  # fmt: skip
    return Location(country, region, (none,), nexus=False)


def classify_tax_code(tax_code: str) -> TaxCategory:
    """The taxability category of an AvaTax tax code (see the module docstring)."""
    code = tax_code.strip().upper()
    if code == "NT":
        return "nontaxable"
    if code.startswith(("SW", "D")):
        return "saas"
    if code.startswith("FR") or code == "OF400000":
        return "freight"
    if code.startswith("S"):
        return "service"
    return "tangible"


def is_taxable(category: TaxCategory, location: Location) -> bool:
    """Whether a line of ``category`` is taxable at ``location``."""
    if not location.nexus or category == "nontaxable":
        return False
    if location.country != "US":
        return True
    if category == "saas":
        return location.region in SAAS_TAXABLE_STATES
    if category == "service":
        return False
    if category == "freight":
        return location.region in FREIGHT_TAXABLE_STATES
    return True


def tax_code_id(tax_code: str) -> int:
    """A stable numeric id for a tax code (AvaTax's ``taxCodeId``)."""
    return _stable_id("taxcode", tax_code.strip().upper())
