"""A payment as the gateway knows it (collected through the billing system)."""

from __future__ import annotations

from typing import Literal

import msgspec

from contracts.v1.common import ExternalReference, Money

PaymentStatus = Literal["pending", "succeeded", "failed", "refunded", "partially_refunded"]


class Payment(msgspec.Struct, frozen=True, kw_only=True):
    id: str  # canonical, pay_...
    invoice_id: str | None
    status: PaymentStatus
    amount: Money
    amount_refunded: Money | None = None
    failure_reason: str | None = None
    created_at: str | None = None
    external_references: list[ExternalReference] = []
