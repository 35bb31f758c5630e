"""Stripe object builders and static tables for the sandbox: test cards, charge outcomes,
minimum charge amounts and the request schemas of each endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandboxes.stripe.params import Field

__all__ = [
    "CARDS",
    "MINIMUM_CHARGE",
    "Card",
    "Decline",
    "card_token",
]


@dataclass(frozen=True, slots=True)
class Decline:
    code: str
    decline_code: str
    message: str
    param: str | None = None


@dataclass(frozen=True, slots=True)
class Card:
    brand: str
    last4: str
    funding: str = "credit"
    country: str = "US"
    decline: Decline | None = None


_GENERIC = Decline("card_declined", "generic_decline", "Your card was declined.")
_INSUFFICIENT = Decline("card_declined", "insufficient_funds", "Your card has insufficient funds.")
_LOST = Decline("card_declined", "lost_card", "Your card was declined.")
_STOLEN = Decline("card_declined", "stolen_card", "Your card was declined.")
_EXPIRED = Decline("expired_card", "expired_card", "Your card has expired.", "exp_month")
_CVC = Decline("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect.", "cvc")
_PROCESSING = Decline(
    "processing_error",
    "processing_error",
    "An error occurred while processing your card. Try again in a little bit.",
)

#: Stripe's test PaymentMethod tokens (``pm_card_*``) this sandbox understands.
CARDS: dict[str, Card] = {
    "pm_card_visa": Card("visa", "4242"),
    "pm_card_visa_debit": Card("visa", "5556", "debit"),
    "pm_card_mastercard": Card("mastercard", "4444"),
    "pm_card_mastercard_debit": Card("mastercard", "8210", "debit"),
    "pm_card_mastercard_prepaid": Card("mastercard", "5100", "prepaid"),
    "pm_card_amex": Card("amex", "8431"),
    "pm_card_discover": Card("discover", "1117"),
    "pm_card_jcb": Card("jcb", "0505", country="JP"),
    "pm_card_unionpay": Card("unionpay", "0005", country="CN"),
    "pm_card_chargeDeclined": Card("visa", "0002", decline=_GENERIC),
    "pm_card_visa_chargeDeclined": Card("visa", "0002", decline=_GENERIC),
    "pm_card_chargeDeclinedInsufficientFunds": Card("visa", "9995", decline=_INSUFFICIENT),
    "pm_card_visa_chargeDeclinedInsufficientFunds": Card("visa", "9995", decline=_INSUFFICIENT),
    "pm_card_chargeDeclinedLostCard": Card("visa", "9987", decline=_LOST),
    "pm_card_visa_chargeDeclinedLostCard": Card("visa", "9987", decline=_LOST),
    "pm_card_chargeDeclinedStolenCard": Card("visa", "9979", decline=_STOLEN),
    "pm_card_visa_chargeDeclinedStolenCard": Card("visa", "9979", decline=_STOLEN),
    "pm_card_chargeDeclinedExpiredCard": Card("visa", "0069", decline=_EXPIRED),
    "pm_card_chargeDeclinedIncorrectCvc": Card("visa", "0127", decline=_CVC),
    "pm_card_chargeDeclinedProcessingError": Card("visa", "0119", decline=_PROCESSING),
}


def card_token(value: str) -> str | None:
    """The ``pm_card_*`` test token behind ``value`` (``pm_card_visa`` or ``tok_visa``)."""
    if value in CARDS:
        return value
    if value.startswith("tok_") and f"pm_card_{value[4:]}" in CARDS:
        return f"pm_card_{value[4:]}"
    return None


#: Minimum charge amounts in the currency's minor unit (Stripe's published table).
MINIMUM_CHARGE: dict[str, int] = {
    "usd": 50, "aed": 200, "aud": 50, "bgn": 100, "brl": 50, "cad": 50, "chf": 50,
    "czk": 1500, "dkk": 250, "eur": 50, "gbp": 30, "hkd": 400, "huf": 17500, "inr": 50,
    "jpy": 50, "mxn": 1000, "myr": 200, "nok": 300, "nzd": 50, "pln": 200, "ron": 200,
    "sek": 300, "sgd": 50, "thb": 1000,
}  # fmt: skip
MAXIMUM_CHARGE = 99_999_999


def outcome(decline: Decline | None) -> dict[str, Any]:
    if decline is None:
        return {
            "advice_code": None, "network_advice_code": None, "network_decline_code": None,
            "network_status": "approved_by_network", "reason": None, "risk_level": "normal",
            "risk_score": 32, "seller_message": "Payment complete.", "type": "authorized",
        }  # fmt: skip
    seller = (
        "The bank did not return any further details with this decline."
        if decline.decline_code == "generic_decline"
        else f"The bank returned the decline code `{decline.decline_code}`."
    )
    return {
        "advice_code": None, "network_advice_code": None, "network_decline_code": None,
        "network_status": "declined_by_network", "reason": decline.decline_code,
        "risk_level": "normal", "risk_score": 40, "seller_message": seller,
        "type": "issuer_declined",
    }  # fmt: skip


# ===================================================================== schemas

_STR = Field("string")
_USTR = Field("string", unsettable=True)
_INT = Field("integer")
_BOOL = Field("boolean")
_EXPAND = Field("array", item=_STR)
_META = Field("metadata")
_RANGE = Field("range")
LIST_PARAMS: dict[str, Field] = {
    "limit": Field("integer", minimum=1, maximum=100),
    "starting_after": _STR,
    "ending_before": _STR,
    "expand": _EXPAND,
    "created": _RANGE,
}
_ADDRESS = Field(
    "object",
    unsettable=True,
    fields={k: _USTR for k in ("line1", "line2", "city", "state", "postal_code", "country")},
)
_TAX_EXEMPT = Field("enum", unsettable=True, choices=("none", "exempt", "reverse"))

CUSTOMER_WRITE: dict[str, Field] = {
    "address": _ADDRESS,
    "balance": _INT,
    "description": _USTR,
    "email": Field("string", unsettable=True, max_length=512),
    "expand": _EXPAND,
    "invoice_prefix": _STR,
    "invoice_settings": Field(
        "object",
        fields={
            "custom_fields": Field("any"),
            "default_payment_method": _USTR,
            "footer": _USTR,
            "rendering_options": Field("any"),
        },
    ),
    "metadata": _META,
    "name": Field("string", unsettable=True, max_length=256),
    "payment_method": _STR,
    "phone": Field("string", unsettable=True, max_length=20),
    "preferred_locales": Field("array", unsettable=True, item=_STR),
    "shipping": Field("any"),
    "tax_exempt": _TAX_EXEMPT,
}
CUSTOMER_LIST = {**LIST_PARAMS, "email": Field("string", max_length=512), "test_clock": _STR}
CUSTOMER_SEARCH = {
    "query": Field("string", required=True),
    "limit": Field("integer", minimum=1, maximum=100),
    "page": _STR,
    "expand": _EXPAND,
}
RETRIEVE = {"expand": _EXPAND}

PAYMENT_METHOD_CREATE: dict[str, Field] = {
    "type": Field("enum", required=True, choices=("card",)),
    "card": Field("object", fields={"token": _STR}),
    "billing_details": Field("any"),
    "metadata": _META,
    "expand": _EXPAND,
}
PAYMENT_METHOD_UPDATE = {"billing_details": Field("any"), "metadata": _META, "expand": _EXPAND}
PAYMENT_METHOD_ATTACH = {"customer": Field("string", required=True), "expand": _EXPAND}
PAYMENT_METHOD_LIST = {**LIST_PARAMS, "customer": _STR, "type": _STR}

_PERIOD = Field(
    "object",
    fields={"start": Field("timestamp", required=True), "end": Field("timestamp", required=True)},
)
INVOICEITEM_CREATE: dict[str, Field] = {
    "amount": _INT,
    "currency": Field("currency"),
    "customer": _STR,
    "description": _USTR,
    "discountable": _BOOL,
    "discounts": Field("any", unsettable=True),
    "expand": _EXPAND,
    "invoice": _STR,
    "metadata": _META,
    "period": _PERIOD,
    "price_data": Field(
        "object",
        fields={
            "currency": Field("currency", required=True),
            "product": Field("string", required=True),
            "tax_behavior": _STR,
            "unit_amount": _INT,
            "unit_amount_decimal": Field("decimal"),
        },
    ),
    "pricing": Field("object", fields={"price": _STR}),
    "quantity": Field("integer", minimum=0),
    "quantity_decimal": Field("decimal"),
    "subscription": _STR,
    "tax_behavior": Field("enum", choices=("exclusive", "inclusive", "unspecified")),
    "tax_code": _USTR,
    "tax_rates": Field("array", unsettable=True, item=_STR),
    "unit_amount_decimal": Field("decimal"),
}
INVOICEITEM_UPDATE = {
    k: v for k, v in INVOICEITEM_CREATE.items()
    if k not in ("currency", "customer", "invoice", "subscription")
}  # fmt: skip
INVOICEITEM_LIST = {**LIST_PARAMS, "customer": _STR, "invoice": _STR, "pending": _BOOL}

_COLLECTION = Field("enum", choices=("charge_automatically", "send_invoice"))
INVOICE_CREATE: dict[str, Field] = {
    "account_tax_ids": Field("array", unsettable=True, item=_STR),
    "auto_advance": _BOOL,
    "automatic_tax": Field("object", fields={"enabled": Field("boolean", required=True),
                                             "liability": Field("any")}),
    "collection_method": _COLLECTION,
    "currency": Field("currency"),
    "custom_fields": Field("any", unsettable=True),
    "customer": _STR,
    "days_until_due": Field("integer", minimum=0, maximum=365 * 5),
    "default_payment_method": _STR,
    "default_tax_rates": Field("array", item=_STR),
    "description": _USTR,
    "discounts": Field("any", unsettable=True),
    "due_date": Field("timestamp"),
    "effective_at": Field("timestamp"),
    "expand": _EXPAND,
    "footer": _USTR,
    "metadata": _META,
    "number": _USTR,
    "payment_settings": Field("any"),
    "pending_invoice_items_behavior": Field("enum", choices=("exclude", "include")),
    "rendering": Field("any"),
    "statement_descriptor": Field("string", max_length=22),
}
INVOICE_UPDATE = {
    k: v for k, v in INVOICE_CREATE.items()
    if k not in ("customer", "currency", "pending_invoice_items_behavior")
}  # fmt: skip
#: What may still change once an invoice has been finalized.
INVOICE_UPDATABLE_AFTER_FINALIZE = frozenset({"metadata", "auto_advance", "expand"})
INVOICE_STATUSES = ("draft", "open", "void", "paid", "uncollectible")
INVOICE_LIST = {
    **LIST_PARAMS,
    "customer": _STR,
    "collection_method": _COLLECTION,
    "due_date": _RANGE,
    "status": Field("enum", choices=INVOICE_STATUSES),
    "subscription": _STR,
}
INVOICE_FINALIZE = {"auto_advance": _BOOL, "expand": _EXPAND}
INVOICE_PAY = {
    "expand": _EXPAND,
    "forgive": _BOOL,
    "mandate": _USTR,
    "off_session": _BOOL,
    "paid_out_of_band": _BOOL,
    "payment_method": _STR,
    "source": _STR,
}
INVOICE_LINES = {"limit": LIST_PARAMS["limit"], "starting_after": _STR, "ending_before": _STR,
                 "expand": _EXPAND}  # fmt: skip
INVOICE_PAYMENT_LIST = {**LIST_PARAMS, "invoice": _STR, "payment": Field("any"),
                        "status": Field("enum", choices=("canceled", "open", "paid"))}  # fmt: skip

_APM = Field(
    "object",
    fields={
        "enabled": Field("boolean", required=True),
        "allow_redirects": Field("enum", choices=("always", "never")),
    },
)
#: Since 2026-09-30.endive PaymentIntent create, update and confirm take the types as
#: ``allowed_payment_method_types`` / ``excluded_payment_method_types``; the old
#: ``payment_method_types`` is refused (see ``PAYMENT_METHOD_TYPES_REMOVED_IN``).
_PM_TYPES = Field("array", item=_STR)
PAYMENT_METHOD_TYPES_REMOVED_IN = "2026-09-30.endive"
LEGACY_PAYMENT_METHOD_TYPES = {"payment_method_types": _PM_TYPES}
PAYMENT_INTENT_CREATE: dict[str, Field] = {
    "amount": Field("integer", required=True),
    "currency": Field("currency", required=True),
    "allowed_payment_method_types": _PM_TYPES,
    "excluded_payment_method_types": _PM_TYPES,
    "automatic_payment_methods": _APM,
    "capture_method": Field("enum", choices=("automatic", "automatic_async", "manual")),
    "confirm": _BOOL,
    "confirmation_method": Field("enum", choices=("automatic", "manual")),
    "customer": _STR,
    "description": Field("string", max_length=1000),
    "error_on_requires_action": _BOOL,
    "expand": _EXPAND,
    "metadata": _META,
    "off_session": Field("any"),
    "payment_method": _STR,
    "payment_method_options": Field("any"),
    "receipt_email": _STR,
    "return_url": _STR,
    "setup_future_usage": Field("enum", choices=("off_session", "on_session")),
    "statement_descriptor": Field("string", max_length=22),
    "statement_descriptor_suffix": Field("string", max_length=22),
    "transfer_group": _STR,
}
PAYMENT_INTENT_UPDATE = {
    "allowed_payment_method_types": Field("array", unsettable=True, item=_STR),
    "excluded_payment_method_types": Field("array", unsettable=True, item=_STR),
    "amount": _INT,
    "currency": Field("currency"),
    "customer": _STR,
    "description": _USTR,
    "expand": _EXPAND,
    "metadata": _META,
    "payment_method": _STR,
    "receipt_email": _USTR,
    "setup_future_usage": Field("enum", unsettable=True, choices=("off_session", "on_session")),
    "statement_descriptor": _USTR,
    "statement_descriptor_suffix": _USTR,
    "transfer_group": _STR,
}
PAYMENT_INTENT_CONFIRM = {
    "allowed_payment_method_types": _PM_TYPES,
    "excluded_payment_method_types": _PM_TYPES,
    "error_on_requires_action": _BOOL,
    "expand": _EXPAND,
    "off_session": Field("any"),
    "payment_method": _STR,
    "payment_method_options": Field("any"),
    "receipt_email": _USTR,
    "return_url": _STR,
    "setup_future_usage": Field("enum", unsettable=True, choices=("off_session", "on_session")),
}
PAYMENT_INTENT_CANCEL = {
    "cancellation_reason": Field(
        "enum", choices=("duplicate", "fraudulent", "requested_by_customer", "abandoned")
    ),
    "expand": _EXPAND,
}
PAYMENT_INTENT_LIST = {**LIST_PARAMS, "customer": _STR}
CHARGE_LIST = {**LIST_PARAMS, "customer": _STR, "payment_intent": _STR, "transfer_group": _STR}

REFUND_CREATE: dict[str, Field] = {
    "amount": _INT,
    "charge": _STR,
    "currency": Field("currency"),
    "customer": _STR,
    "expand": _EXPAND,
    "instructions_email": _STR,
    "metadata": _META,
    "origin": Field("enum", choices=("customer_balance",)),
    "payment_intent": _STR,
    "reason": Field("enum", choices=("duplicate", "fraudulent", "requested_by_customer")),
    "refund_application_fee": _BOOL,
    "reverse_transfer": _BOOL,
}
REFUND_UPDATE = {"metadata": _META, "expand": _EXPAND}
REFUND_LIST = {**LIST_PARAMS, "charge": _STR, "payment_intent": _STR}

#: Event types an endpoint may subscribe to here: the ones this sandbox generates, and
#: ``*`` for all of them.
EVENT_TYPES = (
    "charge.failed", "charge.refunded", "charge.succeeded", "customer.created",
    "invoice.created", "invoice.finalized", "invoice.paid", "invoice.voided",
    "invoiceitem.created", "payment_intent.canceled", "payment_intent.created",
    "payment_intent.payment_failed", "payment_intent.succeeded", "refund.created",
)  # fmt: skip
WEBHOOK_ENDPOINT_CREATE: dict[str, Field] = {
    "url": Field("string", required=True, max_length=5000),
    "enabled_events": Field("array", required=True, item=_STR),
    "api_version": _STR,
    "connect": _BOOL,
    "description": _USTR,
    "expand": _EXPAND,
    "metadata": _META,
}
WEBHOOK_ENDPOINT_UPDATE: dict[str, Field] = {
    "url": Field("string", max_length=5000),
    "enabled_events": Field("array", item=_STR),
    "description": _USTR,
    "disabled": _BOOL,
    "expand": _EXPAND,
    "metadata": _META,
}
WEBHOOK_ENDPOINT_LIST = {k: v for k, v in LIST_PARAMS.items() if k != "created"}
EVENT_LIST = {
    **LIST_PARAMS,
    "delivery_success": _BOOL,
    "type": _STR,
    "types": Field("array", item=_STR),
}
