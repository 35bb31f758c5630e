"""What order submission needs from the ERP that takes the order."""

from __future__ import annotations

from typing import Protocol

import msgspec

from domains.order.records import FulfillmentStatus, OrderStatus
from domains.paging import Page


class Party(msgspec.Struct, frozen=True, kw_only=True):
    """The buyer as the ERP needs it to find or create its customer account."""

    canonical_id: str
    name: str
    country: str
    tax_id: str | None = None
    city: str = ""
    street: str = ""
    postal_code: str = ""
    currency: str | None = None
    legal_entity: str | None = None


class SubmissionLine(msgspec.Struct, frozen=True, kw_only=True):
    line_number: int
    sku: str
    quantity: str
    description: str = ""
    # Set when the price was agreed upstream (an accepted quote): the ERP must
    # bill exactly this, not re-price from its own conditions.
    unit_price: str | None = None


class OrderSubmission(msgspec.Struct, frozen=True, kw_only=True):
    reference: str  # the canonical order id: the ERP's duplicate guard
    account: str  # the ERP customer number
    currency: str
    lines: list[SubmissionLine]
    legal_entity: str | None = None
    requested_delivery_date: str | None = None


class OrderLineRecord(msgspec.Struct, frozen=True, kw_only=True):
    line_number: int
    sku: str
    description: str
    quantity: str
    unit_of_measure: str
    net_amount: str


class OrderRecord(msgspec.Struct, frozen=True, kw_only=True):
    system_id: str
    reference: str | None
    account: str
    status: OrderStatus
    currency: str
    lines: list[OrderLineRecord] = []
    total_net: str = "0"
    requested_delivery_date: str | None = None
    created_at: str | None = None
    fulfillment_status: FulfillmentStatus = "unfulfilled"


class CreditStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Whether the ERP takes orders from a customer now; ``reason`` says why not, in the
    ERP's terms (its block or hold), and ``system`` which ERP answered."""

    blocked: bool
    reason: str = ""
    system: str = ""


class OrderSystem(Protocol):
    system: str

    async def find_account(self, party: Party) -> str | None:
        """An existing ERP customer for this party (tax number, then name and country)."""
        ...

    async def create_account(self, party: Party) -> str: ...

    async def find_order(self, reference: str) -> OrderRecord | None:
        """The order an earlier attempt created under this reference, if any."""
        ...

    async def submit_order(self, submission: OrderSubmission) -> OrderRecord: ...

    async def get_order(self, system_id: str) -> OrderRecord | None: ...

    async def list_orders(
        self, account: str | None, offset: int, limit: int
    ) -> Page[OrderRecord]: ...

    async def credit_status(self, account: str) -> CreditStatus:
        """Whether the ERP customer ``account`` is blocked for new orders (credit hold)."""
        ...

    async def hold_order(self, system_id: str, reason: str) -> None:
        """Stop the order from being fulfilled and billed; holding a held order is a no-op."""
        ...

    async def cancel_order(self, system_id: str, reason: str) -> None:
        """Cancel the order (compensation); cancelling a cancelled order is a no-op."""
        ...
