"""Stripe API v1: Bearer auth, a pinned API version, form-encoded writes with an
Idempotency-Key each, cursor paging with ``starting_after``, and typed decoding.

Only the fields the gateway reads are declared on the objects below; everything else in
Stripe's (large) objects is ignored, so additive API changes never break decoding.
Numbers decode without floats: Stripe's amounts are integers in the minor unit, and any
fractional number (rare: exchange rates) becomes a Decimal.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from decimal import Decimal
from typing import Any, Generic, TypeVar
from urllib.parse import quote, urlencode

import msgspec

from systems.transport import UpstreamResponse
from systems.upstream import Upstream

T = TypeVar("T")

#: The API version every request pins (``Stripe-Version``); the objects below follow it
#: (``total_taxes`` instead of ``tax``, no ``paid`` flag on invoices). The sandbox serves
#: the same version by default; a test keeps the two equal.
API_VERSION = "2026-10-28.endive"
#: Stripe refuses longer Idempotency-Key values.
MAX_IDEMPOTENCY_KEY = 255
_PAGE_SIZE = 100  # Stripe's maximum ``limit``


class StripeAuth(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A secret (``sk_``) or restricted (``rk_``) API key."""

    api_key: str

    def __post_init__(self) -> None:
        if not self.api_key.startswith(("sk_", "rk_")) or len(self.api_key) < 8:
            raise ValueError("stripe auth needs a secret (sk_...) or restricted (rk_...) API key")

    def __repr__(self) -> str:
        return f"StripeAuth(api_key='{self.api_key[:8]}...')"


# ----------------------------------------------------------------------- objects


class StripeList(msgspec.Struct, Generic[T], frozen=True):
    """Stripe's list envelope (``object: list``) and search envelope (``search_result``)."""

    data: list[T]
    has_more: bool = False
    next_page: str | None = None  # search results only


class Customer(msgspec.Struct, frozen=True):
    id: str
    created: int | None = None
    name: str | None = None
    email: str | None = None
    metadata: dict[str, str] = {}


class InvoiceLine(msgspec.Struct, frozen=True):
    id: str
    amount: int
    currency: str = ""
    description: str | None = None
    metadata: dict[str, str] = {}


class TaxAmount(msgspec.Struct, frozen=True):
    amount: int


class StatusTransitions(msgspec.Struct, frozen=True):
    finalized_at: int | None = None
    paid_at: int | None = None
    voided_at: int | None = None


class Invoice(msgspec.Struct, frozen=True):
    id: str
    customer: str | Customer
    currency: str
    status: str | None = None
    number: str | None = None
    subtotal: int = 0
    total: int = 0
    total_excluding_tax: int | None = None
    total_taxes: list[TaxAmount] | None = None
    amount_due: int = 0
    amount_paid: int = 0
    amount_remaining: int = 0
    due_date: int | None = None
    created: int | None = None
    metadata: dict[str, str] = {}
    status_transitions: StatusTransitions | None = None
    lines: StripeList[InvoiceLine] = msgspec.field(
        default_factory=lambda: StripeList[InvoiceLine](data=[])
    )

    @property
    def customer_id(self) -> str:
        return self.customer if isinstance(self.customer, str) else self.customer.id


class Charge(msgspec.Struct, frozen=True):
    id: str
    amount: int = 0
    amount_refunded: int = 0
    status: str = ""
    failure_message: str | None = None
    payment_intent: str | None = None


class PaymentError(msgspec.Struct, frozen=True):
    """``last_payment_error`` on a PaymentIntent."""

    message: str | None = None
    code: str | None = None
    decline_code: str | None = None
    type: str | None = None


class PaymentIntent(msgspec.Struct, frozen=True):
    id: str
    amount: int
    currency: str
    status: str
    amount_received: int = 0
    customer: str | Customer | None = None
    created: int | None = None
    metadata: dict[str, str] = {}
    latest_charge: str | Charge | None = None
    last_payment_error: PaymentError | None = None
    cancellation_reason: str | None = None


class Refund(msgspec.Struct, frozen=True):
    id: str
    amount: int
    status: str | None = None
    payment_intent: str | None = None
    charge: str | None = None


class CardError(msgspec.Struct, frozen=True):
    """The error object of a 402: a declined card, with the intent it failed on when the
    API includes it, and the failed charge."""

    message: str = ""
    code: str | None = None
    type: str = ""
    charge: str | None = None
    payment_intent: PaymentIntent | None = None


class CardErrorEnvelope(msgspec.Struct, frozen=True):
    error: CardError


# ------------------------------------------------------------------- wire format


def form_encode(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Stripe's bracket syntax: ``{"metadata": {"k": "v"}}`` -> ``metadata[k]=v``,
    ``{"lines": [{"x": 1}]}`` -> ``lines[0][x]=1``; booleans as ``true``/``false``;
    ``None`` leaves the parameter out. Floats are refused: money is never a float."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        _encode(pairs, str(key), value)
    return pairs


def _encode(pairs: list[tuple[str, str]], name: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            _encode(pairs, f"{name}[{key}]", item)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _encode(pairs, f"{name}[{index}]", item)
    elif isinstance(value, bool):
        pairs.append((name, "true" if value else "false"))
    elif isinstance(value, float):
        raise TypeError(f"{name}: floats are not sent to Stripe; use int or Decimal")
    elif isinstance(value, int | str | Decimal):
        pairs.append((name, str(value)))
    else:
        raise TypeError(f"{name}: cannot form-encode {type(value).__name__}")


def path(*segments: str) -> str:
    """``path("invoices", id, "pay")`` -> ``/v1/invoices/<id>/pay`` with ids %-encoded."""
    return "/v1/" + "/".join(quote(segment, safe="") for segment in segments)


def search_literal(value: str) -> str:
    """A quoted string for Stripe's search query language."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}


def decode(content: bytes, kind: type[T]) -> T:
    decoder = _decoders.get(kind)
    if decoder is None:
        decoder = _decoders[kind] = msgspec.json.Decoder(kind, float_hook=Decimal)
    result: T = decoder.decode(content)
    return result


# ------------------------------------------------------------------------ client


class StripeClient:
    def __init__(
        self, upstream: Upstream, auth: StripeAuth, *, api_version: str = API_VERSION
    ) -> None:
        self._up = upstream
        self._headers = {
            "Authorization": f"Bearer {auth.api_key}",
            "Stripe-Version": api_version,
            "Accept": "application/json",
        }

    async def request(
        self,
        method: str,
        url: str,
        *,
        operation: str,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        accept: frozenset[int] = frozenset(),
    ) -> UpstreamResponse:
        """One call. Every POST must carry an Idempotency-Key: with it a retry is safe
        (Stripe replays the first result), so Upstream may retry POSTs too."""
        headers = dict(self._headers)
        kwargs: dict[str, Any] = {}
        if method == "POST":
            if not idempotency_key or len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
                raise ValueError("every Stripe POST needs an Idempotency-Key of 1-255 characters")
            headers["Idempotency-Key"] = idempotency_key
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            kwargs["content"] = urlencode(form_encode(data or {})).encode()
        if params:
            kwargs["params"] = form_encode(params)
        return await self._up.request(
            method,
            url,
            operation=operation,
            retry_safe=True,
            accept_statuses=accept,
            headers=headers,
            **kwargs,
        )

    async def get(
        self, url: str, kind: type[T], *, operation: str, params: Mapping[str, Any] | None = None
    ) -> T:
        response = await self.request("GET", url, operation=operation, params=params)
        return decode(response.content, kind)

    async def retrieve(
        self, url: str, kind: type[T], *, operation: str, params: Mapping[str, Any] | None = None
    ) -> T | None:
        """GET one object; ``None`` when Stripe has no such object (404)."""
        response = await self.request(
            "GET", url, operation=operation, params=params, accept=frozenset({404})
        )
        if response.status_code == 404:
            return None
        return decode(response.content, kind)

    async def post(
        self,
        url: str,
        kind: type[T],
        data: Mapping[str, Any],
        *,
        idempotency_key: str,
        operation: str,
    ) -> T:
        response = await self.request(
            "POST", url, operation=operation, data=data, idempotency_key=idempotency_key
        )
        return decode(response.content, kind)

    async def iterate(
        self,
        url: str,
        kind: type[T],
        *,
        operation: str,
        params: Mapping[str, Any] | None = None,
        page_size: int = _PAGE_SIZE,
    ) -> AsyncGenerator[T, None]:
        """Every object of a list endpoint, newest first, page by page (``starting_after``
        the last id of the previous page). Stop iterating to stop fetching."""
        after: str | None = None
        while True:
            query = {**(params or {}), "limit": page_size, "starting_after": after}
            page = await self.get(url, StripeList[kind], operation=operation, params=query)  # type: ignore[valid-type]
            for item in page.data:
                yield item
            if not page.has_more or not page.data:
                return
            after = _id_of(page.data[-1])

    async def search(
        self, url: str, kind: type[T], query: str, *, operation: str, max_results: int = 1000
    ) -> list[T] | None:
        """Every hit of a search endpoint (``page``/``next_page`` paging), or ``None`` when
        the server has no such endpoint (404: Stripe look-alikes without search)."""
        found: list[T] = []
        page_token: str | None = None
        while len(found) < max_results:
            response = await self.request(
                "GET",
                url,
                operation=operation,
                params={"query": query, "limit": _PAGE_SIZE, "page": page_token},
                accept=frozenset({404}),
            )
            if response.status_code == 404:
                return None
            page = decode(response.content, StripeList[kind])  # type: ignore[valid-type]
            found.extend(page.data)
            if not page.has_more or not page.next_page:
                break
            page_token = page.next_page
        return found


def _id_of(item: object) -> str:
    object_id = getattr(item, "id", None)
    if not isinstance(object_id, str):
        raise TypeError(f"{type(item).__name__} has no id to page after")
    return object_id
