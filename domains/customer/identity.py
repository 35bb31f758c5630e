"""Identity matching: is a new customer one we already master?

Duplicate customer masters are the classic quote-to-cash failure. Three
independent signals, strongest first: the tax registration number, the
normalised legal name within a country, and the web domain within a country.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from domains.customer.ports import CustomerRecord

# Legal-form suffixes that differ between systems for the same company.
_LEGAL_FORMS = frozenset(
    {
        "ab",
        "ag",
        "as",
        "bv",
        "co",
        "company",
        "corp",
        "corporation",
        "gmbh",
        "inc",
        "incorporated",
        "kft",
        "kg",
        "kk",
        "llc",
        "llp",
        "ltd",
        "limited",
        "nv",
        "oo",
        "oy",
        "plc",
        "pty",
        "sa",
        "sarl",
        "sas",
        "sl",
        "sp",
        "spa",
        "srl",
        "z",
    }
)
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_TAX_NOISE = re.compile(r"[\s.\-/]+")


def normalise_name(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()
    # Dotted abbreviations (G.m.b.H., S.p.A.) are one word.
    folded = folded.replace("&", " and ").replace(".", "")
    words = [w for w in _NON_ALNUM.split(folded) if w]
    while words and words[-1] in _LEGAL_FORMS:
        words.pop()
    if words and words[0] == "the":
        words = words[1:]
    return " ".join(words)


def normalise_tax_id(tax_id: str, country: str | None = None) -> str:
    """Upper-case, without separators, with the VAT country prefix when known.

    ``DE 811 907 980`` and ``811907980`` (country DE) are the same registration.
    """
    compact = _TAX_NOISE.sub("", tax_id).upper()
    if country and len(country) == 2 and compact.isdigit():
        compact = country.upper() + compact
    return compact


def tax_id_variants(tax_id: str, country: str | None) -> list[str]:
    """Spellings a system may hold for one registration, for look-ups."""
    variants = {tax_id.strip(), normalise_tax_id(tax_id, country), normalise_tax_id(tax_id)}
    compact = normalise_tax_id(tax_id)
    if country and compact.startswith(country.upper()):
        variants.add(compact[len(country) :])
    return sorted(v for v in variants if v)


def web_domain(website: str | None) -> str | None:
    if not website:
        return None
    host = website.strip().casefold()
    host = re.sub(r"^[a-z]+://", "", host).split("/", 1)[0].split(":", 1)[0]
    host = host.removeprefix("www.")
    return host or None


@dataclass(frozen=True, slots=True)
class Candidate:
    name: str
    country: str
    tax_id: str | None
    website: str | None


def match_reason(new: Candidate, existing: CustomerRecord) -> str | None:
    """Why ``existing`` is the same customer as ``new``, or None."""
    if (
        new.tax_id
        and existing.tax_id
        and normalise_tax_id(new.tax_id, new.country)
        == normalise_tax_id(existing.tax_id, existing.country)
    ):
        return "tax_id"
    same_country = new.country.upper() == (existing.country or "").upper()
    if same_country and normalise_name(new.name) == normalise_name(existing.name):
        return "name_and_country"
    domain = web_domain(new.website)
    if same_country and domain is not None and domain == web_domain(existing.website):
        return "domain_and_country"
    return None


def identity_keys(new: Candidate) -> list[str]:
    """Keys that two creates of the same customer would both claim."""
    keys = [f"name:{new.country.upper()}:{normalise_name(new.name)}"]
    if new.tax_id:
        keys.append(f"tax:{normalise_tax_id(new.tax_id, new.country)}")
    domain = web_domain(new.website)
    if domain:
        keys.append(f"domain:{new.country.upper()}:{domain}")
    return keys


def name_prefix(name: str) -> str:
    """A search prefix wide enough to find legal-form and punctuation variants."""
    normalised = normalise_name(name)
    first = normalised.split(" ", 1)[0] if normalised else name.strip()
    return first[:40]
