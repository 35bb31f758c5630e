"""The transaction's business configuration: tolerances, routing, policies, SLAs.

Frozen Structs validated at start-up (``[flow]`` in the gateway's TOML); the
defaults are the embedded demo's.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from domains.quote_to_cash.taxonomy import ERROR_CLASSES

InvoiceTiming = Literal["on_acceptance", "on_fulfilment"]
CompensationAction = Literal["cancel_order", "hold_order", "none"]
CompensationMode = Literal["run", "offer"]
Seconds = Annotated[float, msgspec.Meta(gt=0, le=366 * 86400)]
Percent = Annotated[str, msgspec.Meta(pattern=r"^(0|[1-9][0-9]?)(\.[0-9]{1,4})?$")]
Amount = Annotated[str, msgspec.Meta(pattern=r"^(0|[1-9][0-9]{0,9})(\.[0-9]{1,4})?$")]


class PriceTolerance(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How far the quote may differ from the owning pricing source before it stops.

    A difference passes when it is within the absolute amount OR the percentage.
    """

    line_amount: Amount = "0.01"
    line_percent: Percent = "0.5"
    total_amount: Amount = "1.00"
    total_percent: Percent = "0.5"


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Bounded retries of one step's dependency failures: exponential backoff with
    jitter (the first interval is drawn in [1 - jitter, 1 + jitter] x interval)."""

    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=50)] = 5
    interval_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 1.0
    backoff_rate: Annotated[float, msgspec.Meta(ge=1, le=10)] = 2.0
    jitter: Annotated[float, msgspec.Meta(ge=0, lt=1)] = 0.2


class LegalEntityPolicy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    invoice: InvoiceTiming = "on_acceptance"
    payment_terms: str = "NET30"


class SlaTargets(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Targets per stage, in seconds."""

    accepted_to_order: Seconds = 300
    order_to_invoice: Seconds = 86400
    invoice_to_paid: Seconds = 30 * 86400


def _default_routing() -> dict[str, str]:
    return {
        "validation": "sales-ops",
        "data_quality": "master-data",
        "dependency_unavailable": "integration-ops",
        "dependency_timeout": "integration-ops",
        "credit_hold": "credit-control",
        "price_mismatch": "pricing-ops",
        "duplicate_suspected": "master-data",
        "conflict": "order-management",
        # Codes override their class's owner.
        "FULFILMENT_OVERDUE": "fulfilment-ops",
        "PAYMENT_OVERDUE": "collections",
        "INVOICE_FAILED": "billing-ops",
        "UNEXPECTED_ERROR": "platform",
    }


def _default_terms() -> dict[str, int]:
    return {"NET15": 15, "NET30": 30, "NET45": 45, "NET60": 60, "DUE_ON_RECEIPT": 0}


class FlowPolicy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything the business decides about the quote-to-cash transaction."""

    price_tolerance: PriceTolerance = PriceTolerance()
    # The price list quotes are agreed against (None: any active list price).
    price_list: str | None = "Standard Price Book"
    # Payment terms a transaction may carry -> days until the invoice is due.
    payment_terms: dict[str, Annotated[int, msgspec.Meta(ge=0, le=365)]] = msgspec.field(
        default_factory=_default_terms
    )
    # Per legal entity; others get ``default_entity``.
    legal_entities: dict[str, LegalEntityPolicy] = {}
    default_entity: LegalEntityPolicy = LegalEntityPolicy()
    # Error class or code -> owning team; a code's entry wins over its class's.
    routing: dict[str, str] = msgspec.field(default_factory=_default_routing)
    default_owner: str = "order-management"
    # What runs when a step fails for good after the ERP order exists.
    compensation: CompensationAction = "cancel_order"
    compensation_mode: CompensationMode = "run"
    retry: RetryPolicy = RetryPolicy()
    # Per step name (validate, erp_customer, submit_order, fulfilment, invoice,
    # write_back, compensate): overrides ``retry``.
    step_retry: dict[str, RetryPolicy] = {}
    fulfilment_poll_seconds: Seconds = 60
    fulfilment_deadline_seconds: Seconds = 14 * 86400
    # How long a stopped transaction waits for an operator before it escalates.
    decision_timeout_seconds: Seconds = 7 * 86400
    sla: SlaTargets = SlaTargets()

    def __post_init__(self) -> None:
        terms = [self.default_entity.payment_terms] + [
            p.payment_terms for p in self.legal_entities.values()
        ]
        for name in terms:
            if name not in self.payment_terms:
                raise ValueError(f"flow: payment terms {name!r} are not in flow.payment_terms")
        for key in self.routing:
            if key.islower() and key not in ERROR_CLASSES:
                raise ValueError(f"flow.routing.{key}: not an error class or an UPPER_SNAKE code")

    def entity(self, legal_entity: str | None) -> LegalEntityPolicy:
        if legal_entity is None:
            return self.default_entity
        return self.legal_entities.get(legal_entity, self.default_entity)

    def retry_for(self, step: str) -> RetryPolicy:
        return self.step_retry.get(step, self.retry)

    def owner(self, error_class: str, code: str = "") -> str:
        return self.routing.get(code) or self.routing.get(error_class) or self.default_owner
