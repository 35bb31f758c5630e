"""What pricing and invoicing need from the tax engine (AvaTax, or another)."""

from __future__ import annotations

from typing import Literal, Protocol

import msgspec

from contracts.v1.common import Address

# A vendor-neutral tax category; each engine maps it to its own tax codes.
TaxCategory = Literal["goods", "software_service", "professional_service", "non_taxable"]


class TaxLine(msgspec.Struct, frozen=True, kw_only=True):
    number: str  # stable within the document: "1", "2", ...
    sku: str
    description: str = ""
    quantity: str  # decimal string
    amount: str  # the line's net total (not the unit price), decimal string
    category: TaxCategory = "goods"


class TaxRequest(msgspec.Struct, frozen=True, kw_only=True):
    # Stable per business document (the canonical invoice id for invoices), so a
    # retry can never post tax twice.
    document_code: str
    kind: Literal["estimate", "invoice"]  # estimate: not recorded; invoice: committed
    customer_code: str  # the canonical customer id
    currency: str
    date: str  # YYYY-MM-DD
    ship_to: Address
    lines: list[TaxLine]
    legal_entity: str | None = None  # selects the engine's company
    exemption_number: str | None = None
    # Where ship_to came from, in the client's terms ("ship_to" when the client sent it,
    # "customer.address" when it is the customer's address): an engine refusing the
    # address names this field, so the client is told what to fix.
    ship_to_field: str = "ship_to"


class TaxLineResult(msgspec.Struct, frozen=True, kw_only=True):
    number: str
    taxable: str
    exempt: str
    tax: str
    rate: str  # effective combined rate as a decimal fraction, e.g. "0.19"


class TaxResult(msgspec.Struct, frozen=True, kw_only=True):
    document_code: str
    currency: str
    total_tax: str
    lines: list[TaxLineResult]
    committed: bool = False


class TaxEngine(Protocol):
    system: str

    async def calculate(self, request: TaxRequest) -> TaxResult:
        """Price tax for the request. For ``kind="invoice"`` the document is committed;
        repeating the same document_code returns the committed result instead of
        posting it again."""
        ...

    async def void_transaction(self, company_code: str, document_code: str, reason: str) -> None:
        """Void a recorded (invoice) document, for compensation. ``company_code`` is the
        legal entity the document was calculated for (``TaxRequest.legal_entity``; ""
        for the default) or the engine's own company code. Idempotent: a document
        already voided, or never recorded, is left as it is. ``reason`` is for the
        caller's records; engines keep only their own reason codes."""
        ...
