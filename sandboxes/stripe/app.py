"""An in-memory simulator of the Stripe API v1 (customers, invoicing and payments).

A plain ASGI application, used like the other sandboxes: embedded in the gateway through
``httpx.ASGITransport``, served standalone, and by tests. The bar is wire fidelity: the
official ``stripe`` Python library works against it unchanged, and the form encoding,
object shapes (API version |API_VERSION|), list envelopes, error envelopes, status codes
and idempotency semantics follow Stripe's public API reference.

Implemented surface (all under ``/v1``):

* ``customers`` create/retrieve/update/delete/list (``email`` filter), ``customers/search``
  (``email``, ``name``, ``phone``, ``metadata['k']``), ``customers/{id}/payment_methods``
* ``payment_methods`` create (``card[token]=tok_*``), retrieve/update/list,
  ``/attach``, ``/detach``; the ``pm_card_*`` test tokens (declines included)
* ``invoiceitems`` create/retrieve/update/delete/list
* ``invoices`` create/retrieve/update/delete/list, ``/lines``, ``/finalize``, ``/pay``
  (card or ``paid_out_of_band``), ``/void``, ``/mark_uncollectible``, ``/send``;
  ``invoice_payments`` retrieve/list
* ``payment_intents`` create/retrieve/update/list, ``/confirm``, ``/cancel``;
  ``charges`` retrieve/list; ``refunds`` create/retrieve/update/list
* ``webhook_endpoints`` create (the ``whsec_`` secret in that answer only)/retrieve/
  update/delete/list; ``events`` retrieve/list (``type`` with ``*``, ``types[]``,
  ``delivery_success``). Each state change records an event and delivers it, signed, to
  the enabled endpoints subscribed to it (:mod:`.webhooks`: real HTTP by default, or the
  ``StripeSandbox.webhooks.post`` an embedding sets), retrying non-2xx answers a bounded
  number of times. An embedded gateway registers its own URL through the normal API.

Parameters follow the API version of the request (``Stripe-Version``, else
|API_VERSION|): unknown ones answer ``parameter_unknown``; from 2026-09-30.endive
``payment_method_types`` on PaymentIntent create/update/confirm answers
``payment_method_types_no_longer_supported`` (``allowed_payment_method_types`` and
``excluded_payment_method_types`` replace it).

Amounts are integers in the currency's minor unit (none for zero-decimal currencies such
as JPY). Every POST honours ``Idempotency-Key``: the first executed result is stored per
API key for 24 hours and replayed with ``Idempotent-Replayed: true``; the same key with
different parameters answers ``idempotency_error``.

Deliberately absent: taxes (``total_taxes`` is always empty), discounts, subscriptions,
prices/products as resources, 3-D Secure (``requires_action``) and Connect.
"""

from __future__ import annotations

import base64
import copy
import logging
import re
import time
from bisect import insort
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import unquote

import msgspec

from sandboxes import asgi, demo_data
from sandboxes.stripe import objects as obj
from sandboxes.stripe.params import (
    THREE_DECIMAL_CURRENCIES,
    Field,
    ParamError,
    apply_metadata,
    bind,
    format_amount,
    missing,
    parse_form,
)
from sandboxes.stripe.store import IdempotencyCache, Record, Store, StoredResult, mint_id
from sandboxes.stripe.webhooks import Delivery, WebhookDispatcher

__all__ = [
    "ACCOUNT_ID",
    "API_KEY",
    "API_VERSION",
    "SEED_CUSTOMERS",
    "SandboxFaults",
    "StripeSandbox",
    "StripeSandboxApp",
    "create_app",
]

_log = logging.getLogger(__name__)

API_KEY = "sk_test_q2c_sandbox"
#: The account's default API version (what a request without ``Stripe-Version`` gets).
API_VERSION = "2026-10-28.endive"
ACCOUNT_ID = "acct_1Q2CSandboxAcmeUS"
ACCOUNT_NAME = "ACME-US"
ACCOUNT_COUNTRY = "US"
DEFAULT_CURRENCY = "usd"
STATEMENT_DESCRIPTOR = "ACME-US"
_SEED_EPOCH = 1767603600  # 2026-01-05T09:00:00Z
_REQUEST_LOG_MAX = 50_000
_MAX_INVOICE_LINES = 250
_MAX_IDEMPOTENCY_KEY = 255
_EMBEDDED_LINES = 10
_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$")


@dataclass
class SandboxFaults:
    """Fault injection knobs; mutate them on a running sandbox."""

    latency_seconds: float = 0.0  # added before every response
    fail_next: int = 0  # answer the next N requests with an ``api_error``
    fail_status: int = 500  # 500 or 503


# ======================================================================== errors


class StripeError(Exception):
    """Ends request handling with Stripe's ``{"error": {...}}`` envelope.

    ``stored`` says whether an idempotent request keeps this result: true once the
    endpoint has started executing (state errors, card declines), false for validation
    failures such as a missing referenced object.
    """

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        stored: bool = True,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.stored = stored
        self.headers = dict(headers or {})
        error: dict[str, Any] = {}
        if code is not None:
            error["code"] = code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
        error["message"] = message
        if param is not None:
            error["param"] = param
        error.update(extra)
        error["type"] = error_type
        self.error = dict(sorted(error.items()))  # Stripe's keys come alphabetically


def _invalid(message: str, *, code: str | None = None, param: str | None = None,
             stored: bool = True) -> StripeError:  # fmt: skip
    return StripeError(400, "invalid_request_error", message, code=code, param=param,
                       stored=stored)  # fmt: skip


def _no_such(label: str, object_id: str, *, param: str = "id", status: int = 404) -> StripeError:
    return StripeError(
        status, "invalid_request_error", f"No such {label}: '{object_id}'",
        code="resource_missing", param=param, stored=False,
    )  # fmt: skip


def _exclusive(*names: str) -> StripeError:
    return _invalid(
        f"You may only specify one of these parameters: {', '.join(names)}.",
        code="parameters_exclusive", param=names[-1], stored=False,
    )  # fmt: skip


_LABELS = {
    "customer": "customer", "invoice": "invoice", "invoiceitem": "invoiceitem",
    "payment_intent": "payment_intent", "charge": "charge", "refund": "refund",
    "payment_method": "PaymentMethod", "invoice_payment": "invoice_payment",
    "webhook_endpoint": "webhook endpoint", "event": "event",
}  # fmt: skip
_ID_PREFIX = {
    "customer": "cus", "invoice": "in", "invoiceitem": "ii", "payment_intent": "pi",
    "charge": "ch", "refund": "re", "payment_method": "pm", "invoice_payment": "inpay",
    "webhook_endpoint": "we", "event": "evt",
}  # fmt: skip
_LONG_IDS = frozenset({"payment_intent", "charge", "refund", "payment_method", "invoice_payment",
                       "webhook_endpoint", "event"})  # fmt: skip

# What ``expand[]`` may reach, per object kind: field -> kind of the object behind it.
_EXPANDABLE: dict[str, dict[str, str]] = {
    "customer": {"invoice_settings.default_payment_method": "payment_method"},
    "invoice": {"customer": "customer", "default_payment_method": "payment_method",
                "payments": "@payments", "lines": "@lines"},
    "invoiceitem": {"customer": "customer", "invoice": "invoice"},
    "payment_intent": {"customer": "customer", "payment_method": "payment_method",
                       "latest_charge": "charge"},
    "charge": {"customer": "customer", "payment_intent": "payment_intent",
               "refunds": "@refunds"},
    "refund": {"charge": "charge", "payment_intent": "payment_intent"},
    "payment_method": {"customer": "customer"},
    "invoice_payment": {"invoice": "invoice", "payment.payment_intent": "payment_intent",
                        "payment.charge": "charge"},
}


_Reply = asgi.SandboxReply


@dataclass(slots=True)
class _Ctx:
    """One request as the handlers see it."""

    method: str
    path: str
    params: dict[str, Any]
    now: int
    request_id: str
    version: str = API_VERSION  # the request's Stripe-Version, else the account default
    idempotency_key: str | None = None

    def since(self, version: str) -> bool:
        """Whether the request's API version is ``version`` or later (dates compare)."""
        return self.version.split(".")[0] >= version.split(".")[0]


Handler = Callable[..., tuple[int, Any]]


# ===================================================================== sandbox


class StripeSandbox:
    """One Stripe test-mode account (ACME-US) held in memory, plus the API serving it."""

    def __init__(self, *, api_key: str = API_KEY, seed: bool = True) -> None:
        self.api_key = api_key
        self.faults = SandboxFaults()
        self.clock: Callable[[], float] = time.time
        self._store = Store()
        # Stripe keeps keys for 24 h; the cache is also capped so a long benchmark stays bounded.
        self._idempotency = IdempotencyCache(max_entries=50_000, clock=lambda: self.clock())
        self._request_log: deque[tuple[str, str, str | None]] = deque(maxlen=_REQUEST_LOG_MAX)
        self._counter = 0
        self._requests = 0
        self._line_items: dict[str, str] = {}  # il_ -> ii_
        self._ctx: _Ctx | None = None  # the request being served (events name it)
        #: Event deliveries to the registered webhook endpoints (see ``.webhooks``).
        self.webhooks = WebhookDispatcher(clock=lambda: self.clock())
        self.webhooks.on_delivered = self._delivered
        self._routes = self._build_routes()
        if seed:
            self._seed()

    # ------------------------------------------------------------ inspection
    def objects(self, kind: str) -> list[dict[str, Any]]:
        """A snapshot of every live object of ``kind`` (oldest first), rendered as the API
        would. Kinds: customer, invoice, invoiceitem, payment_intent, refund,
        payment_method, charge, invoice_payment."""
        if kind not in _ID_PREFIX:
            raise KeyError(kind)
        table = self._store.table(kind)
        return [self._render(kind, table[i]) for i in self._store.ids(kind) if i in table]

    def endpoints(self) -> list[tuple[str, str]]:
        """Every (method, path pattern) served, ``*`` standing for an id."""
        return [(verb, "/v1/" + "/".join(pattern)) for verb, pattern in self._routes]

    @property
    def request_log(self) -> list[tuple[str, str, str | None]]:
        """Every request received: (method, path, Idempotency-Key or None), oldest first."""
        return list(self._request_log)

    # ------------------------------------------------------------------- ids
    def _new_id(self, kind: str) -> str:
        self._counter += 1
        length = 24 if kind in _LONG_IDS else 14
        return mint_id(_ID_PREFIX[kind], "q2c", self._counter, length=length)

    def _mint(self, prefix: str, length: int = 24) -> str:
        self._counter += 1
        return mint_id(prefix, "q2c", self._counter, length=length)

    # -------------------------------------------------------------- dispatch
    def handle(
        self, method: str, path: str, query_string: str, headers: Mapping[str, str], body: bytes
    ) -> _Reply:
        """Serve one HTTP request (``headers`` keys lower-case, ``path`` still %-encoded)."""
        idempotency_key = headers.get("idempotency-key")
        self._request_log.append((method, unquote(path), idempotency_key))
        self._requests += 1
        request_id = mint_id("req", "q2c", self._requests, length=14)
        reply = self._handle(method, path, query_string, headers, body, request_id)
        reply.headers.setdefault("Request-Id", request_id)
        reply.headers.setdefault("Stripe-Version", headers.get("stripe-version") or API_VERSION)
        if method == "POST" and idempotency_key:
            reply.headers.setdefault("Idempotency-Key", idempotency_key)
            reply.headers.setdefault("Original-Request", request_id)
        return reply

    def _handle(
        self,
        method: str,
        path: str,
        query_string: str,
        headers: Mapping[str, str],
        body: bytes,
        request_id: str,
    ) -> _Reply:
        if self.faults.fail_next > 0:
            self.faults.fail_next -= 1
            status = self.faults.fail_status
            return _Reply(
                status,
                {"error": {
                    "message": "An unknown error occurred (sandbox fault injection). "
                    "The request was not executed; retrying it is safe.",
                    "type": "api_error",
                }},
                {"Stripe-Should-Retry": "true"},
            )  # fmt: skip
        try:
            api_key = self._authenticate(headers)
            version = headers.get("stripe-version")
            if version is not None and not _VERSION_RE.match(version):
                raise _invalid(f"Invalid Stripe API version: {version}", param="stripe_version",
                               stored=False)  # fmt: skip
            segments = [unquote(s) for s in path.split("/")[1:]]
            if segments and segments[-1] == "":
                segments.pop()
            found = self._route(method, segments)
            if found is None:
                raise StripeError(
                    404, "invalid_request_error",
                    f"Unrecognized request URL ({method}: {unquote(path)}). Please see "
                    "https://stripe.com/docs or we can help at https://support.stripe.com/.",
                    stored=False,
                )  # fmt: skip
            handler, args = found
            params = self._params(method, query_string, headers, body)
        except ParamError as exc:
            return _Reply(400, {"error": _param_error_body(exc)})
        except StripeError as exc:
            return _Reply(exc.status, {"error": exc.error}, exc.headers)
        idempotency_key = headers.get("idempotency-key") if method == "POST" else None
        if idempotency_key is not None and len(idempotency_key) > _MAX_IDEMPOTENCY_KEY:
            return _Reply(400, {"error": {
                "message": f"Idempotency-Key must be at most {_MAX_IDEMPOTENCY_KEY} characters "
                f"long; the one provided has {len(idempotency_key)}.",
                "type": "invalid_request_error",
            }})  # fmt: skip
        if idempotency_key is not None:
            replay = self._replay(api_key, idempotency_key, method, path, params)
            if replay is not None:
                return replay
        ctx = _Ctx(method, unquote(path), params, int(self.clock()), request_id,
                   headers.get("stripe-version") or API_VERSION, idempotency_key)  # fmt: skip
        self._ctx = ctx
        stored = True
        try:
            status, payload = handler(ctx, *args)
            reply = _Reply(status, payload)
        except ParamError as exc:
            reply, stored = _Reply(400, {"error": _param_error_body(exc)}), False
        except StripeError as exc:
            reply, stored = _Reply(exc.status, {"error": exc.error}, exc.headers), exc.stored
        except Exception:  # a sandbox bug: answer like Stripe's 500, keep serving
            _log.exception("stripe sandbox: unexpected error on %s %s", method, path)
            reply = _Reply(500, {"error": {
                "message": "An unknown error occurred", "type": "api_error"}})  # fmt: skip
        if idempotency_key is not None and stored:
            self._idempotency.put(
                api_key,
                idempotency_key,
                StoredResult(method, unquote(path), params, reply.status,
                             _ENCODER.encode(reply.body), request_id, self.clock()),
            )  # fmt: skip
        return reply

    def _replay(
        self, api_key: str, key: str, method: str, path: str, params: dict[str, Any]
    ) -> _Reply | None:
        stored = self._idempotency.get(api_key, key)
        if stored is None:
            return None
        if (stored.method, stored.path) != (method, unquote(path)):
            return _Reply(400, {"error": {
                "message": "Keys for idempotent requests can only be used for the same endpoint "
                f"they were first used for ('{stored.method} {stored.path}' vs "
                f"'{method} {unquote(path)}'). Try using a key other than '{key}' if you meant "
                "to execute a different request.",
                "type": "idempotency_error",
            }})  # fmt: skip
        if stored.params != params:
            return _Reply(400, {"error": {
                "message": "Keys for idempotent requests can only be used with the same "
                "parameters they were first used with. Try using a key other than "
                f"'{key}' if you meant to execute a different request.",
                "type": "idempotency_error",
            }})  # fmt: skip
        return _Reply(
            stored.status,
            msgspec.Raw(stored.body),
            {"Idempotent-Replayed": "true", "Original-Request": stored.request_id},
        )

    def _authenticate(self, headers: Mapping[str, str]) -> str:
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        scheme, credential = scheme.lower(), credential.strip()
        key = ""
        if scheme == "bearer":
            key = credential
        elif scheme == "basic":
            try:
                key = base64.b64decode(credential, validate=True).decode().partition(":")[0]
            except (ValueError, UnicodeDecodeError):
                key = credential
        auth_headers = {"WWW-Authenticate": 'Basic realm="Stripe"'}
        if not key:
            raise StripeError(
                401, "invalid_request_error",
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
                "or we can help at https://support.stripe.com/.",
                stored=False, headers=auth_headers,
            )  # fmt: skip
        if key != self.api_key:
            raise StripeError(
                401, "invalid_request_error", f"Invalid API Key provided: {_mask(key)}",
                stored=False, headers=auth_headers,
            )  # fmt: skip
        return key

    @staticmethod
    def _params(
        method: str, query_string: str, headers: Mapping[str, str], body: bytes
    ) -> dict[str, Any]:
        params = parse_form(query_string) if query_string else {}
        if method == "POST" and body.strip():
            content_type = headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type and content_type != "application/x-www-form-urlencoded":
                raise _invalid(
                    f"Invalid request: unsupported Content-Type {content_type}. If error "
                    "persists and you need assistance, please contact support@stripe.com.",
                    stored=False,
                )
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise _invalid("Invalid request: the body is not valid UTF-8.",
                               stored=False) from None  # fmt: skip
            params.update(parse_form(text))
        return params

    def _route(self, method: str, segments: list[str]) -> tuple[Handler, tuple[str, ...]] | None:
        if not segments or segments[0] != "v1":
            return None
        rest = segments[1:]
        for (verb, pattern), handler in self._routes.items():
            if verb != method or len(pattern) != len(rest):
                continue
            args: list[str] = []
            for want, got in zip(pattern, rest, strict=True):
                if want == "*":
                    if not got:
                        break
                    args.append(got)
                elif want != got:
                    break
            else:
                return handler, tuple(args)
        return None

    def _build_routes(self) -> dict[tuple[str, tuple[str, ...]], Handler]:
        table: list[tuple[str, str, Handler]] = [
            ("GET", "customers", self._customers_list),
            ("POST", "customers", self._customers_create),
            ("GET", "customers/search", self._customers_search),
            ("GET", "customers/*", self._customers_retrieve),
            ("POST", "customers/*", self._customers_update),
            ("DELETE", "customers/*", self._customers_delete),
            ("GET", "customers/*/payment_methods", self._customer_payment_methods),
            ("GET", "payment_methods", self._payment_methods_list),
            ("POST", "payment_methods", self._payment_methods_create),
            ("GET", "payment_methods/*", self._payment_methods_retrieve),
            ("POST", "payment_methods/*", self._payment_methods_update),
            ("POST", "payment_methods/*/attach", self._payment_methods_attach),
            ("POST", "payment_methods/*/detach", self._payment_methods_detach),
            ("GET", "invoiceitems", self._invoiceitems_list),
            ("POST", "invoiceitems", self._invoiceitems_create),
            ("GET", "invoiceitems/*", self._invoiceitems_retrieve),
            ("POST", "invoiceitems/*", self._invoiceitems_update),
            ("DELETE", "invoiceitems/*", self._invoiceitems_delete),
            ("GET", "invoices", self._invoices_list),
            ("POST", "invoices", self._invoices_create),
            ("GET", "invoices/*", self._invoices_retrieve),
            ("POST", "invoices/*", self._invoices_update),
            ("DELETE", "invoices/*", self._invoices_delete),
            ("GET", "invoices/*/lines", self._invoices_lines),
            ("POST", "invoices/*/finalize", self._invoices_finalize),
            ("POST", "invoices/*/pay", self._invoices_pay),
            ("POST", "invoices/*/void", self._invoices_void),
            ("POST", "invoices/*/mark_uncollectible", self._invoices_mark_uncollectible),
            ("POST", "invoices/*/send", self._invoices_send),
            ("GET", "invoice_payments", self._invoice_payments_list),
            ("GET", "invoice_payments/*", self._invoice_payments_retrieve),
            ("GET", "payment_intents", self._payment_intents_list),
            ("POST", "payment_intents", self._payment_intents_create),
            ("GET", "payment_intents/*", self._payment_intents_retrieve),
            ("POST", "payment_intents/*", self._payment_intents_update),
            ("POST", "payment_intents/*/confirm", self._payment_intents_confirm),
            ("POST", "payment_intents/*/cancel", self._payment_intents_cancel),
            ("GET", "charges", self._charges_list),
            ("GET", "charges/*", self._charges_retrieve),
            ("GET", "refunds", self._refunds_list),
            ("POST", "refunds", self._refunds_create),
            ("GET", "refunds/*", self._refunds_retrieve),
            ("POST", "refunds/*", self._refunds_update),
            ("GET", "webhook_endpoints", self._webhook_endpoints_list),
            ("POST", "webhook_endpoints", self._webhook_endpoints_create),
            ("GET", "webhook_endpoints/*", self._webhook_endpoints_retrieve),
            ("POST", "webhook_endpoints/*", self._webhook_endpoints_update),
            ("DELETE", "webhook_endpoints/*", self._webhook_endpoints_delete),
            ("GET", "events", self._events_list),
            ("GET", "events/*", self._events_retrieve),
        ]
        # literal segments win over wildcards (customers/search before customers/*)
        table.sort(key=lambda r: (r[1].count("*"), -len(r[1].split("/"))))
        return {(verb, tuple(p.split("/"))): h for verb, p, h in table}

    # ============================================================ rendering
    def _render(self, kind: str, record: Record, expand: list[str] | None = None) -> dict[str, Any]:
        out = {k: copy.deepcopy(v) for k, v in record.items() if not k.startswith("_")}
        if kind == "invoice":
            out["lines"] = self._embedded_lines(record)
            if record["status"] == "draft":  # mirrors the customer until finalization
                self._customer_snapshot(out)
        for path in expand or ():
            self._expand(kind, out, path)
        return out

    def _expand(self, kind: str, out: dict[str, Any], path: str) -> None:
        head, _, rest = path.partition(".")
        if head == "data" and kind.startswith("@list:"):
            item_kind = kind[6:]
            for item in out.get("data", []):
                self._expand(item_kind, item, rest)
            return
        options = _EXPANDABLE.get(kind, {})
        parts = path.split(".")
        for prefix_len in (2, 1):
            key = ".".join(parts[:prefix_len])
            if len(parts) >= prefix_len and key in options:
                target_kind, remainder = options[key], ".".join(parts[prefix_len:])
                container = out
                for part in parts[: prefix_len - 1]:
                    container = container.get(part) or {}
                leaf = parts[prefix_len - 1]
                value = container.get(leaf)
                if target_kind == "@payments":
                    container[leaf] = self._invoice_payments_of(out["id"])
                elif target_kind == "@refunds":
                    container[leaf] = self._refund_list_of(out["id"])
                elif target_kind == "@lines" or not isinstance(value, str):
                    pass
                else:
                    record = self._store.get(target_kind, value)
                    if record is not None:
                        container[leaf] = self._render(target_kind, record)
                        if remainder:
                            self._expand(target_kind, container[leaf], remainder)
                return

    def _check_expand(self, kind: str, expand: list[str] | None, *, listing: bool = False) -> None:
        for index, path in enumerate(expand or ()):
            check_kind, check_path = kind, path
            if listing:
                if not path.startswith("data."):
                    raise _expand_error(path, index)
                check_path = path[5:]
            if not _expandable(check_kind, check_path):
                raise _expand_error(path, index)

    def _list(
        self,
        ctx: _Ctx,
        kind: str,
        args: dict[str, Any],
        ids: list[str],
        keep: Callable[[Record], bool] = lambda r: True,
    ) -> dict[str, Any]:
        limit = args.get("limit", 10)
        after, before = args.get("starting_after"), args.get("ending_before")
        if after is not None and before is not None:
            raise _exclusive("starting_after", "ending_before")
        for cursor, name in ((after, "starting_after"), (before, "ending_before")):
            if cursor is not None and self._store.get(kind, cursor) is None:
                raise _no_such(_LABELS[kind], cursor, param=name, status=400)
        created = args.get("created")
        predicate = keep if created is None else (
            lambda r: keep(r) and _in_range(r.get("created", r.get("date", 0)), created)
        )
        records, has_more = self._store.page(
            kind, ids, predicate, limit=limit, starting_after=after, ending_before=before
        )
        self._check_expand(kind, args.get("expand"), listing=True)
        page = {
            "object": "list",
            "data": [self._render(kind, r) for r in records],
            "has_more": has_more,
            "url": ctx.path,
        }
        for path in args.get("expand") or ():
            self._expand(f"@list:{kind}", page, path)
        return page

    def _get(self, kind: str, object_id: str, *, param: str = "id", status: int = 404) -> Record:
        record = self._store.get(kind, object_id)
        if record is None:
            raise _no_such(_LABELS[kind], object_id, param=param, status=status)
        return record

    def _one(self, kind: str, record: Record, args: Mapping[str, Any]) -> tuple[int, Any]:
        return 200, self._render(kind, record, args.get("expand"))

    # ============================================================ customers
    def _customers_create(self, ctx: _Ctx) -> tuple[int, Any]:
        args = bind(obj.CUSTOMER_WRITE, ctx.params)
        self._check_expand("customer", args.get("expand"))
        customer_id = self._new_id("customer")
        pm_id = args.get("payment_method")
        pm = self._payment_method_for_use(pm_id, param="payment_method") if pm_id else None
        record = self._new_customer(customer_id, ctx.now, args)
        if pm is not None:
            self._attach(pm, record)
        default_pm = (args.get("invoice_settings") or {}).get("default_payment_method")
        if default_pm:
            self._set_default_pm(record, default_pm)
        self._store.insert("customer", record, email=record["email"])
        self._emit("customer.created", "customer", record)
        return self._one("customer", record, args)

    def _new_customer(self, customer_id: str, now: int, args: Mapping[str, Any]) -> Record:
        prefix = args.get("invoice_prefix") or mint_id("x", customer_id, length=8)[2:].upper()
        if not re.fullmatch(r"[A-Z0-9]{3,12}", prefix):
            raise _invalid(
                "Invoice prefix must be between 3 and 12 uppercase letters or numbers.",
                param="invoice_prefix", stored=False,
            )  # fmt: skip
        settings = args.get("invoice_settings") or {}
        return {
            "id": customer_id,
            "object": "customer",
            "address": _address(args.get("address")),
            "balance": args.get("balance", 0),
            "created": now,
            "currency": None,
            "customer_account": None,
            "default_source": None,
            "delinquent": False,
            "description": args.get("description"),
            "discount": None,
            "email": args.get("email"),
            "invoice_prefix": prefix,
            "invoice_settings": {
                "custom_fields": settings.get("custom_fields"),
                "default_payment_method": None,
                "footer": settings.get("footer"),
                "rendering_options": None,
            },
            "livemode": False,
            "metadata": apply_metadata({}, args.get("metadata"), "metadata" in args),
            "name": args.get("name"),
            "next_invoice_sequence": 1,
            "phone": args.get("phone"),
            "preferred_locales": args.get("preferred_locales") or [],
            "shipping": args.get("shipping"),
            "tax_exempt": args.get("tax_exempt") or "none",
            "test_clock": None,
        }

    def _customers_retrieve(self, ctx: _Ctx, customer_id: str) -> tuple[int, Any]:
        args = bind(obj.RETRIEVE, ctx.params)
        self._check_expand("customer", args.get("expand"))
        record = self._store.get("customer", customer_id)
        if record is None:
            deleted = self._store.get("deleted_customer", customer_id)
            if deleted is not None:
                return 200, {"id": customer_id, "object": "customer", "deleted": True}
            raise _no_such("customer", customer_id)
        return self._one("customer", record, args)

    def _customers_update(self, ctx: _Ctx, customer_id: str) -> tuple[int, Any]:
        args = bind(obj.CUSTOMER_WRITE, ctx.params)
        self._check_expand("customer", args.get("expand"))
        record = self._get("customer", customer_id)
        if "payment_method" in args:
            raise ParamError("Received unknown parameter: payment_method",
                             param="payment_method", code="parameter_unknown")  # fmt: skip
        settings = args.get("invoice_settings")
        if settings and settings.get("default_payment_method"):
            self._set_default_pm(record, settings["default_payment_method"])
        elif settings is not None and "default_payment_method" in settings:
            record["invoice_settings"]["default_payment_method"] = None
        if settings:
            for key in ("footer", "custom_fields"):
                if key in settings:
                    record["invoice_settings"][key] = settings[key]
        old_email = record["email"]
        for key in ("description", "email", "name", "phone", "tax_exempt", "shipping",
                    "balance", "invoice_prefix"):  # fmt: skip
            if key in args:
                record[key] = args[key] if key != "tax_exempt" else (args[key] or "none")
        if "address" in args:
            record["address"] = _address(args["address"])
        if "preferred_locales" in args:
            record["preferred_locales"] = args["preferred_locales"] or []
        record["metadata"] = apply_metadata(record["metadata"], args.get("metadata"),
                                            "metadata" in args)  # fmt: skip
        if record["email"] != old_email:
            index = self._store.index("customer", "email")
            if old_email is not None and customer_id in index.get(old_email, []):
                index[old_email].remove(customer_id)
            if record["email"] is not None:
                insort(index.setdefault(record["email"], []), customer_id,
                       key=self._store.seq_of.__getitem__)  # fmt: skip
        return self._one("customer", record, args)

    def _customers_delete(self, ctx: _Ctx, customer_id: str) -> tuple[int, Any]:
        bind({}, ctx.params)
        record = self._get("customer", customer_id)
        self._store.delete("customer", customer_id)
        self._store.table("deleted_customer")[customer_id] = record
        for pm_id in list(self._store.ids("payment_method", "customer", customer_id)):
            pm = self._store.get("payment_method", pm_id)
            if pm is not None and pm["customer"] == customer_id:
                pm["customer"] = None
                pm["_consumed"] = True
        return 200, {"id": customer_id, "object": "customer", "deleted": True}

    def _customers_list(self, ctx: _Ctx) -> tuple[int, Any]:
        args = bind(obj.CUSTOMER_LIST, ctx.params)
        email = args.get("email")
        if email is not None:
            ids = self._store.ids("customer", "email", email)
            return 200, self._list(ctx, "customer", args, ids, lambda r: r["email"] == email)
        return 200, self._list(ctx, "customer", args, self._store.ids("customer"))

    def _customers_search(self, ctx: _Ctx) -> tuple[int, Any]:
        args = bind(obj.CUSTOMER_SEARCH, ctx.params)
        clauses, joiner = _parse_search(args["query"])
        limit = args.get("limit", 10)
        offset = 0
        if args.get("page"):
            try:
                offset = int(base64.urlsafe_b64decode(args["page"].encode()).decode())
            except ValueError:
                raise _invalid("Invalid page token.", param="page", stored=False) from None

        def matches(record: Record) -> bool:
            results = (_search_clause(record, *clause) for clause in clauses)
            return all(results) if joiner == "AND" else any(results)

        table = self._store.table("customer")
        hits = [table[i] for i in reversed(self._store.ids("customer"))
                if i in table and matches(table[i])]  # fmt: skip
        window = hits[offset : offset + limit]
        more = offset + limit < len(hits)
        next_page = (
            base64.urlsafe_b64encode(str(offset + limit).encode()).decode() if more else None
        )
        self._check_expand("customer", [p[5:] for p in args.get("expand") or ()
                                        if p.startswith("data.")])  # fmt: skip
        return 200, {
            "object": "search_result",
            "data": [self._render("customer", r) for r in window],
            "has_more": more,
            "next_page": next_page,
            "url": "/v1/customers/search",
        }

    def _customer_payment_methods(self, ctx: _Ctx, customer_id: str) -> tuple[int, Any]:
        args = bind({**obj.LIST_PARAMS, "type": Field("string"), "allow_redisplay": Field("any")},
                    ctx.params)  # fmt: skip
        self._get("customer", customer_id)
        kind = args.get("type")
        ids = self._store.ids("payment_method", "customer", customer_id)
        return 200, self._list(
            ctx, "payment_method", args, ids,
            lambda r: r["customer"] == customer_id and (kind is None or r["type"] == kind),
        )  # fmt: skip

    def _set_default_pm(self, customer: Record, pm_id: str) -> None:
        pm = self._store.get("payment_method", pm_id)
        if pm is None or pm["customer"] != customer["id"]:
            raise _invalid(
                f"No such PaymentMethod: '{pm_id}'; It's possible this PaymentMethod exists on "
                "one of your connected accounts, in which case you should retry this request on "
                "that connected account." if pm is None else
                f"The customer does not have a payment method with the ID {pm_id}. The payment "
                "method must be attached to the customer.",
                code="resource_missing" if pm is None else None,
                param="invoice_settings[default_payment_method]", stored=False,
            )  # fmt: skip
        customer["invoice_settings"]["default_payment_method"] = pm_id

    # ======================================================= payment methods
    def _materialize(self, token: str, now: int) -> Record:
        """A fresh PaymentMethod cloned from a ``pm_card_*`` test token."""
        card = obj.CARDS[token]
        pm_id = self._new_id("payment_method")
        record: Record = {
            "id": pm_id,
            "object": "payment_method",
            "allow_redisplay": "unspecified",
            "billing_details": {
                "address": _address(None), "email": None, "name": None, "phone": None,
                "tax_id": None,
            },
            "card": {
                "brand": card.brand,
                "checks": {"address_line1_check": None, "address_postal_code_check": None,
                           "cvc_check": "unchecked"},
                "country": card.country,
                "display_brand": card.brand.replace("amex", "american_express"),
                "exp_month": 12,
                "exp_year": time.gmtime(now).tm_year + 3,
                "fingerprint": mint_id("fp", token, length=16)[3:],
                "funding": card.funding,
                "generated_from": None,
                "last4": card.last4,
                "networks": {"available": [card.brand], "preferred": None},
                "regulated_status": "unregulated",
                "three_d_secure_usage": {"supported": True},
                "wallet": None,
            },
            "created": now,
            "customer": None,
            "customer_account": None,
            "livemode": False,
            "metadata": {},
            "type": "card",
            "_token": token,
            "_consumed": False,
        }
        self._store.insert("payment_method", record)
        return record

    def _payment_method_for_use(self, pm_id: str, *, param: str, status: int = 400) -> Record:
        token = obj.card_token(pm_id)
        if token is not None:
            return self._materialize(token, int(self.clock()))
        record = self._store.get("payment_method", pm_id)
        if record is None:
            raise _no_such("PaymentMethod", pm_id, param=param, status=status)
        return record

    def _attach(self, pm: Record, customer: Record) -> None:
        if pm["customer"] == customer["id"]:
            return
        if pm["customer"] is not None or pm["_consumed"]:
            raise _invalid(
                "The payment method you provided has already been attached to a customer."
                if pm["customer"] is not None else
                "This PaymentMethod was previously used without being attached to a Customer or "
                "was detached from a Customer, and may not be used again.",
                code="payment_method_unexpected_state" if pm["customer"] is None else None,
                param="payment_method",
            )  # fmt: skip
        pm["customer"] = customer["id"]
        insort(self._store.index("payment_method", "customer").setdefault(customer["id"], []),
               pm["id"], key=self._store.seq_of.__getitem__)  # fmt: skip

    def _payment_methods_create(self, ctx: _Ctx) -> tuple[int, Any]:
        args = bind(obj.PAYMENT_METHOD_CREATE, ctx.params)
        self._check_expand("payment_method", args.get("expand"))
        token_value = (args.get("card") or {}).get("token")
        if token_value is None:
            raise missing("card")
        token = obj.card_token(token_value)
        if token is None:
            raise _no_such("token", token_value, param="card[token]", status=400)
        record = self._materialize(token, ctx.now)
        record["metadata"] = apply_metadata({}, args.get("metadata"), "metadata" in args)
        if isinstance(args.get("billing_details"), dict):
            record["billing_details"].update(
                {k: v for k, v in args["billing_details"].items() if k != "address"}
            )
        return self._one("payment_method", record, args)

    def _payment_methods_retrieve(self, ctx: _Ctx, pm_id: str) -> tuple[int, Any]:
        args = bind(obj.RETRIEVE, ctx.params)
        self._check_expand("payment_method", args.get("expand"))
        return self._one("payment_method",
                         self._payment_method_for_use(pm_id, param="payment_method", status=404),
                         args)  # fmt: skip

    def _payment_methods_update(self, ctx: _Ctx, pm_id: str) -> tuple[int, Any]:
        args = bind(obj.PAYMENT_METHOD_UPDATE, ctx.params)
        self._check_expand("payment_method", args.get("expand"))
        record = self._get("payment_method", pm_id, param="payment_method")
        record["metadata"] = apply_metadata(record["metadata"], args.get("metadata"),
                                            "metadata" in args)  # fmt: skip
        return self._one("payment_method", record, args)

    def _payment_methods_attach(self, ctx: _Ctx, pm_id: str) -> tuple[int, Any]:
        args = bind(obj.PAYMENT_METHOD_ATTACH, ctx.params)
        self._check_expand("payment_method", args.get("expand"))
        customer = self._get("customer", args["customer"], param="customer", status=400)
        record = self._payment_method_for_use(pm_id, param="payment_method", status=404)
        self._attach(record, customer)
        return self._one("payment_method", record, args)

    def _payment_methods_detach(self, ctx: _Ctx, pm_id: str) -> tuple[int, Any]:
        args = bind(obj.RETRIEVE, ctx.params)
        record = self._get("payment_method", pm_id, param="payment_method")
        if record["customer"] is None:
            raise _invalid("The payment method you provided is not attached to a customer so "
                           "detachment is impossible.", param="payment_method")  # fmt: skip
        customer = self._store.get("customer", record["customer"])
        if customer and customer["invoice_settings"]["default_payment_method"] == pm_id:
            customer["invoice_settings"]["default_payment_method"] = None
        record["customer"] = None
        record["_consumed"] = True
        return self._one("payment_method", record, args)

    def _payment_methods_list(self, ctx: _Ctx) -> tuple[int, Any]:
        args = bind(obj.PAYMENT_METHOD_LIST, ctx.params)
        customer_id, kind = args.get("customer"), args.get("type")
        if customer_id is not None:
            self._get("customer", customer_id, param="customer", status=400)
            ids = self._store.ids("payment_method", "customer", customer_id)
        else:
            ids = self._store.ids("payment_method")
        return 200, self._list(
            ctx, "payment_method", args, ids,
            lambda r: (customer_id is None or r["customer"] == customer_id)
            and (kind is None or r["type"] == kind),
        )  # fmt: skip

    # ========================================================= invoice items
    def _invoiceitems_create(self, ctx: _Ctx) -> tuple[int, Any]:
        args = bind(obj.INVOICEITEM_CREATE, ctx.params)
        self._check_expand("invoiceitem", args.get("expand"))
        invoice = None
        if args.get("invoice") is not None:
            invoice = self._get("invoice", args["invoice"], param="invoice", status=400)
        customer_id = args.get("customer") or (invoice["customer"] if invoice else None)
        if customer_id is None:
            raise missing("customer")
        customer = self._get("customer", customer_id, param="customer", status=400)
        self._reject_catalog_refs(args)
        currency = (args.get("currency")
                    or (invoice["currency"] if invoice else None)
                    or customer["currency"])  # fmt: skip
        if currency is None:
            raise missing("currency")
        amount, unit, quantity = _item_amounts(args, None)
        if invoice is not None:
            self._check_item_target(invoice, customer_id, currency)
        item_id = self._new_id("invoiceitem")
        product = self._mint("prod", 14)
        record: Record = {
            "id": item_id,
            "object": "invoiceitem",
            "amount": amount,
            "currency": currency,
            "customer": customer_id,
            "customer_account": None,
            "date": ctx.now,
            "description": args.get("description"),
            "discountable": args.get("discountable", amount >= 0),
            "discounts": [],
            "invoice": None,
            "livemode": False,
            "metadata": apply_metadata({}, args.get("metadata"), "metadata" in args),
            "net_amount": amount,
            "parent": None,
            "period": dict(args.get("period") or {"end": ctx.now, "start": ctx.now}),
            "pricing": {
                "price_details": {"price": self._mint("price"), "product": product},
                "type": "price_details",
                "unit_amount_decimal": _decimal_string(unit),
            },
            "proration": False,
            "proration_details": {"credited_items": None, "discount_amounts": []},
            "quantity": int(quantity),
            "quantity_decimal": _decimal_string(quantity),
            "tax_rates": [],
            "test_clock": None,
        }
        self._store.insert("invoiceitem", record, customer=customer_id)
        if invoice is not None:
            self._attach_item(invoice, record)
            self._recompute(invoice)
        self._emit("invoiceitem.created", "invoiceitem", record)
        return self._one("invoiceitem", record, args)

    def _reject_catalog_refs(self, args: Mapping[str, Any]) -> None:
        """Prices, products and tax rates are not resources of this sandbox: any id names a
        missing object."""
        price = (args.get("pricing") or {}).get("price")
        if price:
            raise _no_such("price", price, param="pricing[price]", status=400)
        if args.get("price_data"):
            product = args["price_data"]["product"]
            raise _no_such("product", product, param="price_data[product]", status=400)
        for index, rate in enumerate(args.get("tax_rates") or ()):
            raise _no_such("tax rate", rate, param=f"tax_rates[{index}]", status=400)
        if args.get("subscription"):
            raise _no_such("subscription", args["subscription"], param="subscription", status=400)

    def _check_item_target(self, invoice: Record, customer_id: str, currency: str) -> None:
        if invoice["status"] != "draft":
            raise _invalid("Invalid invoice: This invoice is no longer editable",
                           code="invoice_not_editable", param="invoice")  # fmt: skip
        if invoice["customer"] != customer_id:
            raise _invalid(
                f"The invoice {invoice['id']} belongs to customer {invoice['customer']}, but the "
                f"invoice item is for customer {customer_id}.", param="invoice",
            )  # fmt: skip
        if invoice["currency"] != currency:
            raise _invalid(
                f"The currency of the invoice item ({currency}) must match the currency of the "
                f"invoice ({invoice['currency']}).", param="currency",
            )  # fmt: skip
        if len(invoice["_items"]) >= _MAX_INVOICE_LINES:
            raise _invalid("An invoice can have at most 250 invoice items.", param="invoice")

    def _attach_item(self, invoice: Record, item: Record) -> None:
        item["invoice"] = invoice["id"]
        if "_line_id" not in item:
            item["_line_id"] = self._mint("il")
            self._line_items[item["_line_id"]] = item["id"]
        insort(invoice["_items"], item["id"], key=self._store.seq_of.__getitem__)

    def _invoiceitems_retrieve(self, ctx: _Ctx, item_id: str) -> tuple[int, Any]:
        args = bind(obj.RETRIEVE, ctx.params)
        self._check_expand("invoiceitem", args.get("expand"))
        return self._one("invoiceitem", self._get("invoiceitem", item_id), args)

    def _editable_item(self, item: Record) -> Record | None:
        invoice = self._store.get("invoice", item["invoice"]) if item["invoice"] else None
        if invoice is not None and invoice["status"] != "draft":
            raise _invalid("Invalid invoice: This invoice is no longer editable",
                           code="invoice_not_editable")  # fmt: skip
        return invoice

    def _invoiceitems_update(self, ctx: _Ctx, item_id: str) -> tuple[int, Any]:
        args = bind(obj.INVOICEITEM_UPDATE, ctx.params)
        self._check_expand("invoiceitem", args.get("expand"))
        item = self._get("invoiceitem", item_id)
        self._reject_catalog_refs(args)
        invoice = self._editable_item(item)
        if {"amount", "unit_amount_decimal", "quantity", "quantity_decimal"} & args.keys():
            amount, unit, quantity = _item_amounts(args, item)
            item.update(amount=amount, net_amount=amount, quantity=int(quantity),
                        quantity_decimal=_decimal_string(quantity))  # fmt: skip
            item["pricing"]["unit_amount_decimal"] = _decimal_string(unit)
        for key in ("description", "discountable"):
            if key in args:
                item[key] = args[key]
        if "period" in args:
            item["period"] = dict(args["period"])
        item["metadata"] = apply_metadata(item["metadata"], args.get("metadata"),
                                          "metadata" in args)  # fmt: skip
        if invoice is not None:
            self._recompute(invoice)
        return self._one("invoiceitem", item, args)

    def _invoiceitems_delete(self, ctx: _Ctx, item_id: str) -> tuple[int, Any]:
        bind({}, ctx.params)
        item = self._get("invoiceitem", item_id)
        invoice = self._editable_item(item)
        if item.get("_dead_invoice"):
            raise _invalid("This invoice item has been deleted.", param="id")
        if invoice is not None:
            invoice["_items"].remove(item_id)
            self._recompute(invoice)
        self._store.delete("invoiceitem", item_id)
        return 200, {"id": item_id, "object": "invoiceitem", "deleted": True}

    def _invoiceitems_list(self, ctx: _Ctx) -> tuple[int, Any]:
        args = bind(obj.INVOICEITEM_LIST, ctx.params)
        customer_id, invoice_id, pending = (args.get("customer"), args.get("invoice"),
                                            args.get("pending"))  # fmt: skip

        def keep(r: Record) -> bool:
            return ((customer_id is None or r["customer"] == customer_id)
                    and (invoice_id is None or r["invoice"] == invoice_id)
                    and (pending is None or (r["invoice"] is None) == pending))  # fmt: skip

        if invoice_id is not None:
            invoice = self._store.get("invoice", invoice_id)
            ids = list(invoice["_items"]) if invoice else []
        elif customer_id is not None:
            ids = self._store.ids("invoiceitem", "customer", customer_id)
        else:
            ids = self._store.ids("invoiceitem")
        return 200, self._list(ctx, "invoiceitem", args, ids, keep)

    # ============================================================== invoices
    def _invoices_create(self, ctx: _Ctx) -> tuple[int, Any]:
        args = bind(obj.INVOICE_CREATE, ctx.params)
        self._check_expand("invoice", args.get("expand"))
        if args.get("customer") is None:
            raise missing("customer")
        customer = self._get("customer", args["customer"], param="customer", status=400)
        method = args.get("collection_method", "charge_automatically")
        _check_due(method, args)
        if (args.get("automatic_tax") or {}).get("enabled"):
            raise _invalid(
                "Stripe Tax has not been activated on your account. Please visit "
                "https://stripe.com/docs/tax/set-up to get started.",
                code="stripe_tax_inactive", param="automatic_tax[enabled]", stored=False,
            )  # fmt: skip
        for index, rate in enumerate(args.get("default_tax_rates") or ()):
            raise _no_such("tax rate", rate, param=f"default_tax_rates[{index}]", status=400)
        if args.get("default_payment_method"):
            self._owned_pm(customer, args["default_payment_method"], "default_payment_method")
        currency = args.get("currency") or customer["currency"] or DEFAULT_CURRENCY
        auto_advance = args.get("auto_advance", False)
        now = ctx.now
        due_date = args.get("due_date")
        if method == "send_invoice" and args.get("days_until_due") is not None:
            due_date = now + args["days_until_due"] * 86400
        record: Record = {
            "id": self._new_id("invoice"),
            "object": "invoice",
            "account_country": ACCOUNT_COUNTRY,
            "account_name": ACCOUNT_NAME,
            "account_tax_ids": None,
            "amount_due": 0,
            "amount_overpaid": 0,
            "amount_paid": 0,
            "amount_paid_off_stripe": 0,
            "amount_remaining": 0,
            "amount_shipping": 0,
            "application": None,
            "attempt_count": 0,
            "attempted": False,
            "auto_advance": auto_advance,
            "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None,
                              "provider": None, "status": None},
            "automatically_finalizes_at": now + 3600 if auto_advance else None,
            "billing_reason": "manual",
            "collection_method": method,
            "confirmation_secret": None,
            "created": now,
            "currency": currency,
            "custom_fields": args.get("custom_fields"),
            "customer": customer["id"],
            "customer_account": None,
            "customer_address": None,
            "customer_email": None,
            "customer_name": None,
            "customer_phone": None,
            "customer_shipping": None,
            "customer_tax_exempt": None,
            "customer_tax_ids": [],
            "default_payment_method": args.get("default_payment_method"),
            "default_source": None,
            "default_tax_rates": [],
            "description": args.get("description"),
            "discounts": [],
            "due_date": due_date if method == "send_invoice" else None,
            "effective_at": None,
            "ending_balance": None,
            "footer": args.get("footer"),
            "from_invoice": None,
            "hosted_invoice_url": None,
            "invoice_pdf": None,
            "issuer": {"type": "self"},
            "last_finalization_error": None,
            "latest_revision": None,
            "livemode": False,
            "metadata": apply_metadata({}, args.get("metadata"), "metadata" in args),
            "next_payment_attempt": (now + 3600 if auto_advance
                                     and method == "charge_automatically" else None),
            "number": args.get("number"),
            "on_behalf_of": None,
            "parent": None,
            "payment_settings": {"default_mandate": None, "payment_method_options": None,
                                 "payment_method_types": None},
            "period_end": now,
            "period_start": now,
            "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0,
            "receipt_number": None,
            "rendering": None,
            "shipping_cost": None,
            "shipping_details": None,
            "starting_balance": customer["balance"],
            "statement_descriptor": args.get("statement_descriptor"),
            "status": "draft",
            "status_transitions": {"finalized_at": None, "marked_uncollectible_at": None,
                                   "paid_at": None, "voided_at": None},
            "subtotal": 0,
            "subtotal_excluding_tax": 0,
            "test_clock": None,
            "total": 0,
            "total_discount_amounts": [],
            "total_excluding_tax": 0,
            "total_pretax_credit_amounts": [],
            "total_taxes": [],
            "webhooks_delivered_at": now,
            "_items": [],
            "_payment_intent": None,
            "_days_until_due": args.get("days_until_due"),
        }
        self._store.insert("invoice", record, customer=customer["id"])
        if args.get("pending_invoice_items_behavior") == "include":
            table = self._store.table("invoiceitem")
            for item_id in self._store.ids("invoiceitem", "customer", customer["id"]):
                item = table.get(item_id)
                if (item is not None and item["invoice"] is None and not item.get("_dead_invoice")
                        and item["currency"] == currency):  # fmt: skip
                    self._attach_item(record, item)
        self._recompute(record)
        self._emit("invoice.created", "invoice", record)
        return self._one("invoice", record, args)

    def _customer_snapshot(self, out: dict[str, Any]) -> None:
        customer = self._store.get("customer", out["customer"])
        if customer is None:
            return
        address = customer["address"]
        out.update(
            customer_address=dict(address) if any(address.values()) else None,
            customer_email=customer["email"],
            customer_name=customer["name"],
            customer_phone=customer["phone"],
            customer_tax_exempt=customer["tax_exempt"],
        )

    def _owned_pm(self, customer: Record, pm_id: str, param: str) -> Record:
        pm = self._store.get("payment_method", pm_id)
        if pm is None:
            raise _no_such("PaymentMethod", pm_id, param=param, status=400)
        if pm["customer"] != customer["id"]:
            raise _invalid(
                f"The PaymentMethod {pm_id} does not belong to the Customer {customer['id']}. "
                "Please use a PaymentMethod that belongs to the Customer.",
                param=param, stored=False,
            )  # fmt: skip
        return pm

    def _recompute(self, invoice: Record) -> None:
        table = self._store.table("invoiceitem")
        subtotal = sum(table[i]["amount"] for i in invoice["_items"] if i in table)
        amount_due = max(subtotal + invoice["starting_balance"], 0)
        invoice.update(
            subtotal=subtotal, subtotal_excluding_tax=subtotal, total=subtotal,
            total_excluding_tax=subtotal, amount_due=amount_due,
            amount_remaining=max(amount_due - invoice["amount_paid"], 0),
        )  # fmt: skip

    def _lines(self, invoice: Record) -> list[dict[str, Any]]:
        table = self._store.table("invoiceitem")
        return [self._line(invoice, table[i]) for i in reversed(invoice["_items"]) if i in table]

    @staticmethod
    def _line(invoice: Record, item: Record) -> dict[str, Any]:
        return {
            "id": item["_line_id"],
            "object": "line_item",
            "amount": item["amount"],
            "currency": item["currency"],
            "description": item["description"],
            "discount_amounts": [],
            "discountable": item["discountable"],
            "discounts": [],
            "invoice": invoice["id"],
            "livemode": False,
            "metadata": dict(item["metadata"]),
            "parent": {
                "invoice_item_details": {
                    "invoice_item": item["id"],
                    "proration": False,
                    "proration_details": {"credited_items": None},
                    "subscription": None,
                },
                "subscription_item_details": None,
                "type": "invoice_item_details",
            },
            "period": dict(item["period"]),
            "pretax_credit_amounts": [],
            "pricing": copy.deepcopy(item["pricing"]),
            "quantity": item["quantity"],
            "quantity_decimal": item["quantity_decimal"],
            "subscription": None,
            "subtotal": item["amount"],
            "taxes": [],
        }

    def _embedded_lines(self, invoice: Record) -> dict[str, Any]:
        lines = self._lines(invoice)
        return {
            "object": "list",
            "data": lines[:_EMBEDDED_LINES],
            "has_more": len(lines) > _EMBEDDED_LINES,
            "total_count": len(lines),
            "url": f"/v1/invoices/{invoice['id']}/lines",
        }

    def _invoices_retrieve(self, ctx: _Ctx, invoice_id: str) -> tuple[int, Any]:
        args = bind(obj.RETRIEVE, ctx.params)
        self._check_expand("invoice", args.get("expand"))
        return self._one("invoice", self._get("invoice", invoice_id, param="invoice"), args)

    def _invoices_update(self, ctx: _Ctx, invoice_id: str) -> tuple[int, Any]:
        args = bind(obj.INVOICE_UPDATE, ctx.params)
        self._check_expand("invoice", args.get("expand"))
        invoice = self._get("invoice", invoice_id)
        if invoice["status"] != "draft":
            for key in args:
                if key not in obj.INVOICE_UPDATABLE_AFTER_FINALIZE:
                    raise _invalid("Finalized invoices can't be updated in this way", param=key)
            if "auto_advance" in args and invoice["status"] != "open":
                raise _invalid("Finalized invoices can't be updated in this way",
                               param="auto_advance")  # fmt: skip
        customer = self._get("customer", invoice["customer"], param="customer", status=400)
        method = str(args.get("collection_method") or invoice["collection_method"])
        merged = {"days_until_due": invoice["_days_until_due"], "due_date": invoice["due_date"]}
        if "collection_method" in args and method == "charge_automatically":
            merged = {}
        merged.update({k: args[k] for k in ("days_until_due", "due_date") if k in args})
        if invoice["status"] == "draft":
            _check_due(method, merged)
        if args.get("default_payment_method"):
            self._owned_pm(customer, args["default_payment_method"], "default_payment_method")
        for index, rate in enumerate(args.get("default_tax_rates") or ()):
            raise _no_such("tax rate", rate, param=f"default_tax_rates[{index}]", status=400)
        for key in ("description", "footer", "statement_descriptor", "default_payment_method",
                    "custom_fields", "number", "effective_at"):  # fmt: skip
            if key in args:
                invoice[key] = args[key]
        if "auto_advance" in args:
            invoice["auto_advance"] = args["auto_advance"]
            if invoice["status"] == "draft":
                invoice["automatically_finalizes_at"] = (
                    invoice["created"] + 3600 if args["auto_advance"] else None
                )
        if invoice["status"] == "draft":
            invoice["collection_method"] = method
            invoice["_days_until_due"] = merged.get("days_until_due")
            if method == "send_invoice":
                days = merged.get("days_until_due")
                invoice["due_date"] = (invoice["created"] + days * 86400 if days is not None
                                       else merged.get("due_date"))  # fmt: skip
            else:
                invoice["due_date"] = None
            invoice["next_payment_attempt"] = (
                invoice["created"] + 3600
                if invoice["auto_advance"] and method == "charge_automatically" else None
            )  # fmt: skip
        invoice["metadata"] = apply_metadata(invoice["metadata"], args.get("metadata"),
                                             "metadata" in args)  # fmt: skip
        return self._one("invoice", invoice, args)

    def _invoices_delete(self, ctx: _Ctx, invoice_id: str) -> tuple[int, Any]:
        bind({}, ctx.params)
        invoice = self._get("invoice", invoice_id, param="invoice")
        if invoice["status"] != "draft":
            raise _invalid("You can only delete draft invoices.")
        table = self._store.table("invoiceitem")
        for item_id in invoice["_items"]:  # the items stay on the deleted invoice
            if item_id in table:
                table[item_id]["_dead_invoice"] = True
        self._store.delete("invoice", invoice_id)
        return 200, {"id": invoice_id, "object": "invoice", "deleted": True}

    def _invoices_list(self, ctx: _Ctx) -> tuple[int, Any]:
        args = bind(obj.INVOICE_LIST, ctx.params)
        customer_id, status = args.get("customer"), args.get("status")
        method, due = args.get("collection_method"), args.get("due_date")
        if args.get("subscription"):
            return 200, {"object": "list", "data": [], "has_more": False, "url": ctx.path}

        def keep(r: Record) -> bool:
            return ((customer_id is None or r["customer"] == customer_id)
                    and (status is None or r["status"] == status)
                    and (method is None or r["collection_method"] == method)
                    and (due is None or (r["due_date"] is not None
                                         and _in_range(r["due_date"], due))))  # fmt: skip

        ids = (self._store.ids("invoice", "customer", customer_id) if customer_id is not None
               else self._store.ids("invoice"))  # fmt: skip
        return 200, self._list(ctx, "invoice", args, ids, keep)

    def _invoices_lines(self, ctx: _Ctx, invoice_id: str) -> tuple[int, Any]:
        args = bind(obj.INVOICE_LINES, ctx.params)
        invoice = self._get("invoice", invoice_id, param="invoice")
        lines = self._lines(invoice)
        limit = args.get("limit", 10)
        after, before = args.get("starting_after"), args.get("ending_before")
        if after is not None and before is not None:
            raise _exclusive("starting_after", "ending_before")
        positions = {line["id"]: n for n, line in enumerate(lines)}
        if after is not None:
            if after not in positions:
                raise _no_such("line item", after, param="starting_after", status=400)
            window = lines[positions[after] + 1 :]
            data, more = window[:limit], len(window) > limit
        elif before is not None:
            if before not in positions:
                raise _no_such("line item", before, param="ending_before", status=400)
            window = lines[: positions[before]]
            data, more = window[-limit:], len(window) > limit
        else:
            data, more = lines[:limit], len(lines) > limit
        return 200, {"object": "list", "data": data, "has_more": more, "url": ctx.path}

    def _finalize(self, invoice: Record, now: int) -> None:
        customer = self._store.get("customer", invoice["customer"]) or \
            self._store.table("deleted_customer")[invoice["customer"]]
        if invoice["number"] is None:
            sequence = customer["next_invoice_sequence"]
            invoice["number"] = f"{customer['invoice_prefix']}-{sequence:04d}"
            customer["next_invoice_sequence"] += 1
        if customer["currency"] is None:
            customer["currency"] = invoice["currency"]
        address = customer["address"]
        invoice.update(
            status="open",
            effective_at=invoice["effective_at"] or now,
            automatically_finalizes_at=None,
            customer_address=(dict(address) if any(address.values()) else None),
            customer_email=customer["email"],
            customer_name=customer["name"],
            customer_phone=customer["phone"],
            customer_tax_exempt=customer["tax_exempt"],
            ending_balance=0,
            hosted_invoice_url=(
                f"https://invoice.stripe.com/i/{ACCOUNT_ID}/test_{invoice['id'][3:]}"
            ),
            invoice_pdf=f"https://pay.stripe.com/invoice/{ACCOUNT_ID}/test_{invoice['id'][3:]}/pdf",
            next_payment_attempt=(now + 3600 if invoice["auto_advance"]
                                  and invoice["collection_method"] == "charge_automatically"
                                  else None),
        )
        invoice["status_transitions"]["finalized_at"] = now
        if invoice["amount_due"] == 0:  # nothing to collect: paid on finalization
            invoice.update(status="paid", attempted=True, next_payment_attempt=None)
            invoice["status_transitions"]["paid_at"] = now
        self._emit("invoice.finalized", "invoice", invoice)
        if invoice["status"] == "paid":
            self._emit("invoice.paid", "invoice", invoice)

    def _invoices_finalize(self, ctx: _Ctx, invoice_id: str) -> tuple[int, Any]:
        args = bind(obj.INVOICE_FINALIZE, ctx.params)
        self._check_expand("invoice", args.get("expand"))
        invoice = self._get("invoice", invoice_id)
        if invoice["status"] != "draft":
            raise _invalid(
                "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
                code="invoice_not_editable",
            )
        if "auto_advance" in args:
            invoice["auto_advance"] = args["auto_advance"]
        self._finalize(invoice, ctx.now)
        return self._one("invoice", invoice, args)

    def _invoices_pay(self, ctx: _Ctx, invoice_id: str) -> tuple[int, Any]:
        args = bind(obj.INVOICE_PAY, ctx.params)
        self._check_expand("invoice", args.get("expand"))
        invoice = self._get("invoice", invoice_id)
        if args.get("source"):
            raise _no_such("source", args["source"], param="source", status=400)
        status = invoice["status"]
        if status in ("paid", "void"):
            raise _invalid(f"Invoice is already {status}")
        if args.get("paid_out_of_band") and args.get("payment_method"):
            raise _exclusive("paid_out_of_band", "payment_method")
        customer = self._get("customer", invoice["customer"], param="customer", status=400)
        pm = None
        if not args.get("paid_out_of_band"):
            pm = self._invoice_payment_method(invoice, customer, args.get("payment_method"))
        if status == "draft":
            self._finalize(invoice, ctx.now)
            if invoice["status"] == "paid":
                return self._one("invoice", invoice, args)
        if args.get("paid_out_of_band"):
            amount = invoice["amount_remaining"]
            invoice["amount_paid"] += amount
            invoice["amount_paid_off_stripe"] += amount
            self._mark_paid(invoice, ctx.now)
            pi = self._store.get("payment_intent", invoice["_payment_intent"] or "")
            if pi is not None and pi["status"] != "succeeded":
                pi.update(status="canceled", canceled_at=ctx.now,
                          cancellation_reason="void_invoice")  # fmt: skip
                self._emit("payment_intent.canceled", "payment_intent", pi)
            return self._one("invoice", invoice, args)
        assert pm is not None
        self._attach(pm, customer)
        self._collect(invoice, pm, ctx.now)
        return self._one("invoice", invoice, args)

    def _invoice_payment_method(
        self, invoice: Record, customer: Record, pm_id: str | None
    ) -> Record:
        if pm_id:
            pm = self._payment_method_for_use(pm_id, param="payment_method")
            if pm["customer"] not in (None, customer["id"]):
                raise _invalid(
                    f"The PaymentMethod {pm['id']} does not belong to the Customer "
                    f"{customer['id']}. Please use a PaymentMethod that belongs to the Customer.",
                    param="payment_method", stored=False,
                )  # fmt: skip
            return pm
        default = invoice["default_payment_method"] or \
            customer["invoice_settings"]["default_payment_method"]
        found = self._store.get("payment_method", default) if default else None
        if found is None:
            raise _invalid(
                "This customer has no attached payment source or default payment method. Please "
                "consider adding a default payment method. For more information, visit "
                "https://stripe.com/docs/billing/subscriptions/payment-methods-setting"
                "#payment-method-priority.",
            )
        return found

    def _collect(self, invoice: Record, pm: Record, now: int) -> None:
        amount = invoice["amount_remaining"]
        existing = self._store.get("payment_intent", invoice["_payment_intent"] or "")
        if existing is not None and existing["status"] not in ("succeeded", "canceled"):
            pi = existing
        else:
            pi = self._new_payment_intent(
                now, amount=amount, currency=invoice["currency"], customer=invoice["customer"],
                description="Payment for Invoice", payment_method_types=["card"],
                automatic=None, metadata={},
            )  # fmt: skip
            pi["_invoice"] = invoice["id"]
            invoice["_payment_intent"] = pi["id"]
            self._new_invoice_payment(invoice, pi, now)
        pi["amount"] = amount
        invoice["attempted"] = True
        invoice["attempt_count"] += 1
        pi["payment_method"] = pm["id"]
        pi["status"] = "requires_confirmation"
        decline = self._charge(pi, pm, now)
        if decline is not None:
            charge_id = pi["latest_charge"]
            raise StripeError(
                402, "card_error", decline.message, code=decline.code, param=decline.param,
                charge=charge_id, decline_code=decline.decline_code,
                payment_intent=self._render("payment_intent", pi),
                payment_method=self._render("payment_method", pm),
            )  # fmt: skip
        invoice["amount_paid"] += amount
        self._mark_paid(invoice, now)

    def _mark_paid(self, invoice: Record, now: int) -> None:
        invoice.update(status="paid", amount_remaining=0, next_payment_attempt=None,
                       auto_advance=False)  # fmt: skip
        invoice["status_transitions"]["paid_at"] = now
        for inpay_id in self._store.ids("invoice_payment", "invoice", invoice["id"]):
            inpay = self._store.get("invoice_payment", inpay_id)
            pi = self._store.get("payment_intent", inpay["payment"]["payment_intent"]) \
                if inpay else None
            if inpay is not None and pi is not None and pi["status"] == "succeeded":
                inpay.update(status="paid", amount_paid=pi["amount_received"])
                inpay["status_transitions"]["paid_at"] = now
            elif inpay is not None and inpay["status"] == "open":
                inpay["status"] = "canceled"
                inpay["status_transitions"]["canceled_at"] = now
        self._emit("invoice.paid", "invoice", invoice)

    def _new_invoice_payment(self, invoice: Record, pi: Record, now: int) -> Record:
        record: Record = {
            "id": self._new_id("invoice_payment"),
            "object": "invoice_payment",
            "amount_paid": None,
            "amount_requested": pi["amount"],
            "created": now,
            "currency": pi["currency"],
            "invoice": invoice["id"],
            "is_default": True,
            "livemode": False,
            "payment": {"payment_intent": pi["id"], "type": "payment_intent"},
            "status": "open",
            "status_transitions": {"canceled_at": None, "paid_at": None},
        }
        return self._store.insert("invoice_payment", record, invoice=invoice["id"])

    def _invoice_payments_of(self, invoice_id: str) -> dict[str, Any]:
        table = self._store.table("invoice_payment")
        ids = self._store.ids("invoice_payment", "invoice", invoice_id)
        data = [self._render("invoice_payment", table[i]) for i in reversed(ids) if i in table]
        return {"object": "list", "data": data, "has_more": False, "total_count": len(data),
                "url": f"/v1/invoice_payments?invoice={invoice_id}"}  # fmt: skip

    def _invoices_void(self, ctx: _Ctx, invoice_id: str) -> tuple[int, Any]:
        args = bind(obj.RETRIEVE, ctx.params)
        self._check_expand("invoice", args.get("expand"))
        invoice = self._get("invoice", invoice_id)
        if invoice["status"] == "paid":
            raise _invalid("Invoices with `paid` payments cannot be voided.")
        if invoice["status"] != "open":
            raise _invalid("You can only pass in open invoices. This invoice isn't open.")
        invoice.update(status="void", next_payment_attempt=None, auto_advance=False)
        invoice["status_transitions"]["voided_at"] = ctx.now
        self._emit("invoice.voided", "invoice", invoice)
        pi = self._store.get("payment_intent", invoice["_payment_intent"] or "")
        if pi is not None and pi["status"] not in ("succeeded", "canceled"):
            pi.update(status="canceled", canceled_at=ctx.now, cancellation_reason="void_invoice")
            self._emit("payment_intent.canceled", "payment_intent", pi)
        for inpay_id in self._store.ids("invoice_payment", "invoice", invoice_id):
            inpay = self._store.get("invoice_payment", inpay_id)
            if inpay is not None and inpay["status"] == "open":
                inpay["status"] = "canceled"
                inpay["status_transitions"]["canceled_at"] = ctx.now
        return self._one("invoice", invoice, args)

    def _invoices_mark_uncollectible(self, ctx: _Ctx, invoice_id: str) -> tuple[int, Any]:
        args = bind(obj.RETRIEVE, ctx.params)
        self._check_expand("invoice", args.get("expand"))
        invoice = self._get("invoice", invoice_id)
        if invoice["status"] == "uncollectible":
            raise _invalid("This invoice has already been marked uncollectible.")
        if invoice["status"] != "open":
            raise _invalid("You can only pass in open invoices. This invoice isn't open.")
        invoice.update(status="uncollectible", next_payment_attempt=None, auto_advance=False)
        invoice["status_transitions"]["marked_uncollectible_at"] = ctx.now
        return self._one("invoice", invoice, args)

    def _invoices_send(self, ctx: _Ctx, invoice_id: str) -> tuple[int, Any]:
        args = bind(obj.RETRIEVE, ctx.params)
        self._check_expand("invoice", args.get("expand"))
        invoice = self._get("invoice", invoice_id, param="invoice")
        if invoice["status"] == "draft":
            self._finalize(invoice, ctx.now)
        elif invoice["status"] != "open" or invoice["collection_method"] != "send_invoice":
            raise _invalid(
                "This invoice cannot be sent right now. Please contact us via "
                "https://support.stripe.com/contact with details, so we can help."
            )
        return self._one("invoice", invoice, args)

    def _invoice_payments_list(self, ctx: _Ctx) -> tuple[int, Any]:
        args = bind(obj.INVOICE_PAYMENT_LIST, ctx.params)
        invoice_id, status = args.get("invoice"), args.get("status")
        ids = (self._store.ids("invoice_payment", "invoice", invoice_id) if invoice_id
               else self._store.ids("invoice_payment"))  # fmt: skip
        return 200, self._list(ctx, "invoice_payment", args, ids,
                               lambda r: status is None or r["status"] == status)  # fmt: skip

    def _invoice_payments_retrieve(self, ctx: _Ctx, inpay_id: str) -> tuple[int, Any]:
        args = bind(obj.RETRIEVE, ctx.params)
        self._check_expand("invoice_payment", args.get("expand"))
        return self._one("invoice_payment", self._get("invoice_payment", inpay_id), args)

    # ======================================================= payment intents
    def _new_payment_intent(
        self,
        now: int,
        *,
        amount: int,
        currency: str,
        customer: str | None,
        description: str | None,
        payment_method_types: list[str],
        automatic: dict[str, Any] | None,
        metadata: dict[str, str],
        **fields: Any,
    ) -> Record:
        pi_id = self._new_id("payment_intent")
        record: Record = {
            "id": pi_id,
            "object": "payment_intent",
            "allowed_payment_method_types": None,
            "amount": amount,
            "amount_capturable": 0,
            "amount_details": {"tip": {}},
            "amount_received": 0,
            "application": None,
            "application_fee_amount": None,
            "automatic_payment_methods": automatic,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": "automatic_async",
            "client_secret": f"{pi_id}_secret_{mint_id('s', pi_id, length=25)[2:]}",
            "confirmation_method": "automatic",
            "created": now,
            "currency": currency,
            "customer": customer,
            "customer_account": None,
            "description": description,
            "excluded_payment_method_types": None,
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "managed_payments": None,
            "metadata": metadata,
            "next_action": None,
            "on_behalf_of": None,
            "payment_method": None,
            "payment_method_configuration_details": None,
            "payment_method_options": {"card": {"installments": None, "mandate_options": None,
                                                "network": None,
                                                "request_three_d_secure": "automatic"}},
            "payment_method_types": payment_method_types,
            "payment_record": None,
            "processing": None,
            "receipt_email": None,
            "review": None,
            "setup_future_usage": None,
            "shipping": None,
            "source": None,
            "statement_descriptor": None,
            "statement_descriptor_suffix": None,
            "status": "requires_payment_method",
            "transfer_data": None,
            "transfer_group": None,
            "_return_url": None,
            "_invoice": None,
        }  # fmt: skip
        record.update(fields)
        self._store.insert("payment_intent", record, customer=customer)
        self._emit("payment_intent.created", "payment_intent", record)
        return record

    def _payment_intents_create(self, ctx: _Ctx) -> tuple[int, Any]:
        args = bind(_intent_schema(ctx, obj.PAYMENT_INTENT_CREATE), ctx.params)
        self._check_expand("payment_intent", args.get("expand"))
        amount, currency = args["amount"], args["currency"]
        _check_charge_amount(amount, currency)
        types = args.get("payment_method_types")  # only before 2026-09-30.endive
        allowed = args.get("allowed_payment_method_types")
        excluded = args.get("excluded_payment_method_types")
        automatic = args.get("automatic_payment_methods")
        if types is not None and automatic is not None:
            raise _exclusive("automatic_payment_methods", "payment_method_types")
        if allowed is not None and automatic is not None:
            raise _exclusive("automatic_payment_methods", "allowed_payment_method_types")
        if automatic is not None and args.get("confirmation_method") == "manual":
            raise _exclusive("automatic_payment_methods", "confirmation_method")
        _check_method_types(types, allowed, excluded)
        if types is not None or allowed is not None:
            apm = None  # an explicit list: cards only, nothing redirects
        elif automatic is None or automatic.get("enabled"):
            apm = {"allow_redirects": (automatic or {}).get("allow_redirects", "always"),
                   "enabled": True}  # fmt: skip
        else:
            apm = {"allow_redirects": None, "enabled": False}
        customer = None
        if args.get("customer") is not None:
            customer = self._get("customer", args["customer"], param="customer", status=400)
        if args.get("confirm"):
            self._check_return_url(apm, args.get("return_url"))
        if args.get("confirm") and args.get("payment_method") is None:
            raise _invalid(
                "You cannot confirm this PaymentIntent because it's missing a payment method. "
                "You can either update the PaymentIntent with a payment method and then confirm "
                "it again, or confirm it again directly with a payment method.",
                code="payment_intent_unexpected_state", param="payment_method", stored=False,
            )  # fmt: skip
        pm = None
        if args.get("payment_method") is not None:
            pm = self._payment_method_for_use(args["payment_method"], param="payment_method")
            self._check_pm_owner(pm, customer)
        record = self._new_payment_intent(
            ctx.now, amount=amount, currency=currency,
            customer=customer["id"] if customer else None,
            description=args.get("description"),
            payment_method_types=["card"],
            automatic=apm,
            metadata=apply_metadata({}, args.get("metadata"), "metadata" in args),
            allowed_payment_method_types=allowed,
            excluded_payment_method_types=excluded,
            capture_method=args.get("capture_method", "automatic_async"),
            confirmation_method=args.get("confirmation_method", "automatic"),
            receipt_email=args.get("receipt_email"),
            setup_future_usage=args.get("setup_future_usage"),
            statement_descriptor=args.get("statement_descriptor"),
            statement_descriptor_suffix=args.get("statement_descriptor_suffix"),
            transfer_group=args.get("transfer_group"),
            _return_url=args.get("return_url"),
        )  # fmt: skip
        if pm is not None:
            record["payment_method"] = pm["id"]
            record["status"] = "requires_confirmation"
        if args.get("confirm"):
            self._confirm(record, pm, ctx.now)
        return self._one("payment_intent", record, args)

    @staticmethod
    def _check_return_url(apm: dict[str, Any] | None, return_url: str | None) -> None:
        if (apm is not None and apm.get("enabled") and apm.get("allow_redirects") != "never"
                and not return_url):  # fmt: skip
            raise _invalid(
                "This PaymentIntent is configured to accept payment methods enabled in your "
                "Dashboard. Because some of these payment methods might redirect your customer "
                "off of your page, you must provide a `return_url`. If you don't want to accept "
                "redirect-based payment methods, set `automatic_payment_methods[enabled]` to "
                "`true` and `automatic_payment_methods[allow_redirects]` to `never` when "
                "creating Setup Intents and Payment Intents.",
                stored=False,
            )

    @staticmethod
    def _check_pm_owner(pm: Record, customer: Record | None) -> None:
        owner = pm["customer"]
        if owner is not None and (customer is None or owner != customer["id"]):
            raise _invalid(
                f"The provided PaymentMethod {pm['id']} belongs to the Customer {owner}. Please "
                "include the Customer in the `customer` parameter on the PaymentIntent."
                if customer is None else
                f"The provided PaymentMethod {pm['id']} belongs to the Customer {owner}, not "
                f"{customer['id']}.",
                param="payment_method", stored=False,
            )  # fmt: skip
        if pm["_consumed"]:
            raise _invalid(
                "This PaymentMethod was previously used without being attached to a Customer or "
                "was detached from a Customer, and may not be used again.",
                code="payment_method_unexpected_state", param="payment_method", stored=False,
            )  # fmt: skip

    def _confirm(self, pi: Record, pm: Record | None, now: int) -> None:
        if pm is None:
            raise _invalid(
                "You cannot confirm this PaymentIntent because it's missing a payment method. "
                + (f"To confirm the PaymentIntent with {pi['customer']}, specify a payment "
                   "method attached to this customer along with the customer ID."
                   if pi["customer"] else
                   "You can either update the PaymentIntent with a payment method and then "
                   "confirm it again, or confirm it again directly with a payment method."),
                code="payment_intent_unexpected_state",
            )  # fmt: skip
        decline = self._charge(pi, pm, now)
        if decline is not None:
            raise StripeError(
                402, "card_error", decline.message, code=decline.code, param=decline.param,
                charge=pi["latest_charge"], decline_code=decline.decline_code,
                payment_intent=self._render("payment_intent", pi),
                payment_method=self._render("payment_method", pm),
                request_log_url=f"https://dashboard.stripe.com/test/logs?object={pi['id']}",
            )  # fmt: skip

    def _charge(self, pi: Record, pm: Record, now: int) -> obj.Decline | None:
        """Run the card: a Charge (succeeded or failed) and the PaymentIntent's new state."""
        card = obj.CARDS[pm["_token"]]
        decline = card.decline
        charge_id = self._new_id("charge")
        pm_card = pm["card"]
        record: Record = {
            "id": charge_id,
            "object": "charge",
            "amount": pi["amount"],
            "amount_captured": 0 if decline else pi["amount"],
            "amount_refunded": 0,
            "application": None,
            "application_fee": None,
            "application_fee_amount": None,
            "balance_transaction": None if decline else self._mint("txn"),
            "billing_details": copy.deepcopy(pm["billing_details"]),
            "calculated_statement_descriptor": STATEMENT_DESCRIPTOR,
            "captured": decline is None,
            "created": now,
            "currency": pi["currency"],
            "customer": pi["customer"],
            "description": pi["description"],
            "disputed": False,
            "failure_balance_transaction": None,
            "failure_code": decline.code if decline else None,
            "failure_message": decline.message if decline else None,
            "fraud_details": {},
            "livemode": False,
            "metadata": dict(pi["metadata"]),
            "on_behalf_of": None,
            "outcome": obj.outcome(decline),
            "paid": decline is None,
            "payment_intent": pi["id"],
            "payment_method": pm["id"],
            "payment_method_details": {
                "card": {
                    "amount_authorized": None if decline else pi["amount"],
                    "authorization_code": None,
                    "brand": pm_card["brand"],
                    "checks": dict(pm_card["checks"]),
                    "country": pm_card["country"],
                    "electronic_commerce_indicator": None if decline else "07",
                    "exp_month": pm_card["exp_month"],
                    "exp_year": pm_card["exp_year"],
                    "fingerprint": pm_card["fingerprint"],
                    "funding": pm_card["funding"],
                    "installments": None,
                    "last4": pm_card["last4"],
                    "mandate": None,
                    "network": pm_card["brand"],
                    "network_token": {"used": False},
                    "network_transaction_id": None if decline else mint_id(
                        "ntx", charge_id, length=15)[4:],
                    "regulated_status": pm_card["regulated_status"],
                    "three_d_secure": None,
                    "transaction_link_id": None,
                    "wallet": None,
                },
                "type": "card",
            },
            "receipt_email": pi["receipt_email"],
            "receipt_number": None,
            "receipt_url": None if decline else
            f"https://pay.stripe.com/receipts/payment/{ACCOUNT_ID}/{charge_id}",
            "refunded": False,
            "review": None,
            "shipping": None,
            "source": None,
            "source_transfer": None,
            "statement_descriptor": pi["statement_descriptor"],
            "statement_descriptor_suffix": pi["statement_descriptor_suffix"],
            "status": "failed" if decline else "succeeded",
            "transfer_data": None,
            "transfer_group": pi["transfer_group"],
        }  # fmt: skip
        self._store.insert("charge", record, payment_intent=pi["id"], customer=pi["customer"])
        pi["latest_charge"] = charge_id
        if pm["customer"] is None:
            pm["_consumed"] = True
        if decline is not None:
            error = {
                "charge": charge_id, "code": decline.code, "decline_code": decline.decline_code,
                "doc_url": f"https://stripe.com/docs/error-codes/{decline.code.replace('_', '-')}",
                "message": decline.message,
                "payment_method": self._render("payment_method", pm), "type": "card_error",
            }  # fmt: skip
            if decline.param is not None:  # absent, not null, when the decline names none
                error["param"] = decline.param
            pi.update(status="requires_payment_method", payment_method=None,
                      last_payment_error=error)  # fmt: skip
            self._emit("charge.failed", "charge", record)
            self._emit("payment_intent.payment_failed", "payment_intent", pi)
            return decline
        pi.update(status="succeeded", amount_received=pi["amount"], last_payment_error=None)
        self._emit("charge.succeeded", "charge", record)
        self._emit("payment_intent.succeeded", "payment_intent", pi)
        return None

    def _payment_intents_retrieve(self, ctx: _Ctx, pi_id: str) -> tuple[int, Any]:
        args = bind({**obj.RETRIEVE, "client_secret": Field("string")}, ctx.params)
        self._check_expand("payment_intent", args.get("expand"))
        return self._one("payment_intent", self._get("payment_intent", pi_id,
                                                     param="intent"), args)  # fmt: skip

    def _payment_intents_update(self, ctx: _Ctx, pi_id: str) -> tuple[int, Any]:
        args = bind(_intent_schema(ctx, obj.PAYMENT_INTENT_UPDATE), ctx.params)
        self._check_expand("payment_intent", args.get("expand"))
        pi = self._get("payment_intent", pi_id, param="intent")
        editable = ("requires_payment_method", "requires_confirmation", "requires_action")
        for key in args:
            if key not in ("metadata", "expand", "description") and pi["status"] not in editable:
                raise _invalid(
                    f"This PaymentIntent's {key} could not be updated because it has a status of "
                    f"{pi['status']}. You may only update the {key} of a PaymentIntent with one "
                    f"of the following statuses: {', '.join(editable)}.",
                    code="payment_intent_unexpected_state", param=key,
                )  # fmt: skip
        if "amount" in args or "currency" in args:
            _check_charge_amount(int(args.get("amount") or pi["amount"]),
                                 str(args.get("currency") or pi["currency"]))  # fmt: skip
        customer = pi["customer"]
        if args.get("customer"):
            customer = self._get("customer", args["customer"], param="customer", status=400)["id"]
        if args.get("payment_method"):
            pm = self._payment_method_for_use(args["payment_method"], param="payment_method")
            self._check_pm_owner(pm, self._store.get("customer", customer or ""))
            pi["payment_method"] = pm["id"]
            pi["status"] = "requires_confirmation"
        pi["customer"] = customer
        self._update_method_types(pi, args)
        for key in ("amount", "currency", "description", "receipt_email", "setup_future_usage",
                    "statement_descriptor", "statement_descriptor_suffix", "transfer_group"):
            if key in args:
                pi[key] = args[key]
        pi["metadata"] = apply_metadata(pi["metadata"], args.get("metadata"), "metadata" in args)
        return self._one("payment_intent", pi, args)

    def _payment_intents_confirm(self, ctx: _Ctx, pi_id: str) -> tuple[int, Any]:
        args = bind(_intent_schema(ctx, obj.PAYMENT_INTENT_CONFIRM), ctx.params)
        self._check_expand("payment_intent", args.get("expand"))
        pi = self._get("payment_intent", pi_id, param="intent")
        self._update_method_types(pi, args)
        if pi["status"] == "succeeded":
            raise _invalid(
                "You cannot confirm this PaymentIntent because it has already succeeded after "
                "being previously confirmed.", code="payment_intent_unexpected_state",
            )  # fmt: skip
        if pi["status"] not in ("requires_payment_method", "requires_confirmation",
                                "requires_action"):  # fmt: skip
            raise _invalid(
                f"You cannot confirm this PaymentIntent because it has a status of "
                f"{pi['status']}. Only a PaymentIntent with one of the following statuses may be "
                "confirmed: requires_confirmation, requires_payment_method, requires_action.",
                code="payment_intent_unexpected_state",
            )  # fmt: skip
        if pi["_invoice"] is not None:
            raise _invalid(
                "You cannot confirm a PaymentIntent that was created by an Invoice; pay the "
                f"Invoice {pi['_invoice']} instead.", code="payment_intent_unexpected_state",
            )  # fmt: skip
        return_url = args.get("return_url") or pi["_return_url"]
        self._check_return_url(pi["automatic_payment_methods"], return_url)
        pi["_return_url"] = return_url
        pm = None
        if args.get("payment_method"):
            pm = self._payment_method_for_use(args["payment_method"], param="payment_method")
            self._check_pm_owner(pm, self._store.get("customer", pi["customer"] or ""))
            pi["payment_method"] = pm["id"]
        elif pi["payment_method"]:
            pm = self._store.get("payment_method", pi["payment_method"])
        for key in ("receipt_email", "setup_future_usage"):
            if key in args:
                pi[key] = args[key]
        self._confirm(pi, pm, ctx.now)
        return self._one("payment_intent", pi, args)

    @staticmethod
    def _update_method_types(pi: Record, args: Mapping[str, Any]) -> None:
        """Apply ``allowed_``/``excluded_payment_method_types`` (and, for requests pinned
        before 2026-09-30.endive, ``payment_method_types``) sent to update or confirm."""
        keys = ("payment_method_types", "allowed_payment_method_types",
                "excluded_payment_method_types")  # fmt: skip
        if not any(key in args for key in keys):
            return
        allowed = args.get("allowed_payment_method_types", pi["allowed_payment_method_types"])
        excluded = args.get("excluded_payment_method_types", pi["excluded_payment_method_types"])
        _check_method_types(args.get("payment_method_types"), allowed, excluded)
        pi.update(allowed_payment_method_types=allowed, excluded_payment_method_types=excluded)
        if args.get("payment_method_types") is not None or allowed is not None:
            pi["automatic_payment_methods"] = None

    def _payment_intents_cancel(self, ctx: _Ctx, pi_id: str) -> tuple[int, Any]:
        args = bind(obj.PAYMENT_INTENT_CANCEL, ctx.params)
        self._check_expand("payment_intent", args.get("expand"))
        pi = self._get("payment_intent", pi_id, param="intent")
        cancelable = ("requires_payment_method", "requires_capture", "requires_confirmation",
                      "requires_action", "processing")  # fmt: skip
        if pi["status"] not in cancelable:
            raise _invalid(
                f"You cannot cancel this PaymentIntent because it has a status of {pi['status']}. "
                "Only a PaymentIntent with one of the following statuses may be canceled: "
                f"{', '.join(cancelable)}.", code="payment_intent_unexpected_state",
            )  # fmt: skip
        pi.update(status="canceled", canceled_at=ctx.now,
                  cancellation_reason=args.get("cancellation_reason"))  # fmt: skip
        self._emit("payment_intent.canceled", "payment_intent", pi)
        return self._one("payment_intent", pi, args)

    def _payment_intents_list(self, ctx: _Ctx) -> tuple[int, Any]:
        args = bind(obj.PAYMENT_INTENT_LIST, ctx.params)
        customer_id = args.get("customer")
        ids = (self._store.ids("payment_intent", "customer", customer_id) if customer_id
               else self._store.ids("payment_intent"))  # fmt: skip
        return 200, self._list(ctx, "payment_intent", args, ids)

    # ================================================================ charges
    def _charges_retrieve(self, ctx: _Ctx, charge_id: str) -> tuple[int, Any]:
        args = bind(obj.RETRIEVE, ctx.params)
        self._check_expand("charge", args.get("expand"))
        return self._one("charge", self._get("charge", charge_id, param="charge"), args)

    def _charges_list(self, ctx: _Ctx) -> tuple[int, Any]:
        args = bind(obj.CHARGE_LIST, ctx.params)
        customer_id, pi_id = args.get("customer"), args.get("payment_intent")
        if pi_id:
            ids = self._store.ids("charge", "payment_intent", pi_id)
        elif customer_id:
            ids = self._store.ids("charge", "customer", customer_id)
        else:
            ids = self._store.ids("charge")
        return 200, self._list(
            ctx, "charge", args, ids,
            lambda r: customer_id is None or r["customer"] == customer_id,
        )  # fmt: skip

    def _refund_list_of(self, charge_id: str) -> dict[str, Any]:
        table = self._store.table("refund")
        ids = self._store.ids("refund", "charge", charge_id)
        data = [self._render("refund", table[i]) for i in reversed(ids) if i in table]
        return {"object": "list", "data": data, "has_more": False, "total_count": len(data),
                "url": f"/v1/charges/{charge_id}/refunds"}  # fmt: skip

    # ================================================================ refunds
    def _refunds_create(self, ctx: _Ctx) -> tuple[int, Any]:
        args = bind(obj.REFUND_CREATE, ctx.params)
        self._check_expand("refund", args.get("expand"))
        pi_id, charge_id = args.get("payment_intent"), args.get("charge")
        if pi_id is None and charge_id is None:
            raise _invalid(
                "One of the following params should be provided for this request: "
                "payment_intent or charge.", stored=False,
            )  # fmt: skip
        if args.get("origin"):
            raise _invalid("Refunds to the customer balance require a customer.",
                           param="origin", stored=False)  # fmt: skip
        charge = None
        if pi_id is not None:
            pi = self._get("payment_intent", pi_id, param="payment_intent", status=400)
            charge = self._store.get("charge", pi["latest_charge"] or "")
            if pi["status"] != "succeeded" or charge is None:
                raise _invalid(
                    f"This PaymentIntent ({pi_id}) does not have a successful charge to refund.",
                    param="payment_intent",
                )  # fmt: skip
        if charge_id is not None:
            by_id = self._get("charge", charge_id, param="charge", status=400)
            if charge is not None and by_id["id"] != charge["id"]:
                raise _invalid(
                    f"The charge {charge_id} does not belong to the PaymentIntent {pi_id}.",
                    param="charge", stored=False,
                )  # fmt: skip
            charge = by_id
        assert charge is not None
        if charge["status"] != "succeeded":
            raise _invalid(f"Charge {charge['id']} has not been captured or has failed and "
                           "cannot be refunded.", code="charge_not_refundable")  # fmt: skip
        remaining = charge["amount_captured"] - charge["amount_refunded"]
        if remaining <= 0:
            raise _invalid(f"Charge {charge['id']} has already been refunded.",
                           code="charge_already_refunded")  # fmt: skip
        amount = args.get("amount", remaining)
        if amount <= 0:
            raise ParamError("Invalid positive integer", param="amount",
                             code="parameter_invalid_integer")  # fmt: skip
        if amount > remaining:
            currency = charge["currency"]
            raise _invalid(
                f"Refund amount ({format_amount(amount, currency)}) is greater than unrefunded "
                f"amount on charge ({format_amount(remaining, currency)})",
                param="amount",
            )  # fmt: skip
        refund_id = self._new_id("refund")
        record: Record = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "balance_transaction": self._mint("txn"),
            "charge": charge["id"],
            "created": ctx.now,
            "currency": charge["currency"],
            "customer": charge["customer"],
            "customer_account": None,
            "destination_details": {
                "card": {"reference_status": "pending",
                         "reference_type": "acquirer_reference_number", "type": "refund"},
                "type": "card",
            },
            "metadata": apply_metadata({}, args.get("metadata"), "metadata" in args),
            "payment_intent": charge["payment_intent"],
            "payment_method": charge["payment_method"],
            "reason": args.get("reason"),
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": "succeeded",
            "transfer_reversal": None,
        }
        self._store.insert("refund", record, charge=charge["id"],
                           payment_intent=charge["payment_intent"])  # fmt: skip
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        self._emit("refund.created", "refund", record)
        self._emit("charge.refunded", "charge", charge)
        return self._one("refund", record, args)

    def _refunds_retrieve(self, ctx: _Ctx, refund_id: str) -> tuple[int, Any]:
        args = bind(obj.RETRIEVE, ctx.params)
        self._check_expand("refund", args.get("expand"))
        return self._one("refund", self._get("refund", refund_id, param="refund"), args)

    def _refunds_update(self, ctx: _Ctx, refund_id: str) -> tuple[int, Any]:
        args = bind(obj.REFUND_UPDATE, ctx.params)
        self._check_expand("refund", args.get("expand"))
        record = self._get("refund", refund_id, param="refund")
        record["metadata"] = apply_metadata(record["metadata"], args.get("metadata"),
                                            "metadata" in args)  # fmt: skip
        return self._one("refund", record, args)

    def _refunds_list(self, ctx: _Ctx) -> tuple[int, Any]:
        args = bind(obj.REFUND_LIST, ctx.params)
        pi_id, charge_id = args.get("payment_intent"), args.get("charge")
        if charge_id:
            ids = self._store.ids("refund", "charge", charge_id)
        elif pi_id:
            ids = self._store.ids("refund", "payment_intent", pi_id)
        else:
            ids = self._store.ids("refund")
        return 200, self._list(
            ctx, "refund", args, ids,
            lambda r: pi_id is None or r["payment_intent"] == pi_id,
        )  # fmt: skip

    # ============================================================== webhooks
    def _emit(self, event_type: str, kind: str, record: Record) -> None:
        """Record an event with ``record`` as it is now, and queue its deliveries."""
        ctx = self._ctx
        if ctx is None:  # seeding: no request, no events
            return
        table = self._store.table("webhook_endpoint")
        endpoints = [table[i] for i in self._store.ids("webhook_endpoint") if i in table
                     and table[i]["status"] == "enabled"
                     and ({event_type, "*"} & set(table[i]["enabled_events"]))]  # fmt: skip
        event: Record = {
            "id": self._new_id("event"),
            "object": "event",
            "api_version": API_VERSION,
            "created": ctx.now,
            "data": {"object": self._render(kind, record)},
            "livemode": False,
            "pending_webhooks": len(endpoints),
            "request": {"id": ctx.request_id, "idempotency_key": ctx.idempotency_key},
            "type": event_type,
            "_delivered": False,
        }
        self._store.insert("event", event, type=event_type)
        payload = _ENCODER.encode(self._render("event", event))
        for endpoint in endpoints:
            self.webhooks.enqueue(Delivery(endpoint["id"], endpoint["url"],
                                           endpoint["_secret"], event["id"], payload))  # fmt: skip

    def _delivered(self, delivery: Delivery) -> None:
        event = self._store.get("event", delivery.event_id)
        if event is not None:
            event["pending_webhooks"] = max(event["pending_webhooks"] - 1, 0)
            event["_delivered"] = True

    def _webhook_endpoints_create(self, ctx: _Ctx) -> tuple[int, Any]:
        args = bind(obj.WEBHOOK_ENDPOINT_CREATE, ctx.params)
        url = _webhook_url(args["url"])
        events = _enabled_events(args["enabled_events"])
        if args.get("api_version") is not None and args["api_version"] != API_VERSION:
            raise _invalid(f"Invalid api_version: {args['api_version']}. This sandbox "
                           f"serves {API_VERSION}.", param="api_version")  # fmt: skip
        secret = "whsec_" + mint_id("s", "whsec", self._counter, ctx.request_id, length=32)[2:]
        record: Record = {
            "id": self._new_id("webhook_endpoint"),
            "object": "webhook_endpoint",
            "api_version": args.get("api_version"),
            "application": None,
            "created": ctx.now,
            "description": args.get("description"),
            "enabled_events": events,
            "livemode": False,
            "metadata": apply_metadata({}, args.get("metadata"), "metadata" in args),
            "status": "enabled",
            "url": url,
            "_secret": secret,
        }
        self._store.insert("webhook_endpoint", record)
        # Stripe shows the signing secret once, in the answer to the create.
        return 200, {**self._render("webhook_endpoint", record), "secret": secret}

    def _webhook_endpoints_retrieve(self, ctx: _Ctx, endpoint_id: str) -> tuple[int, Any]:
        args = bind(obj.RETRIEVE, ctx.params)
        return self._one("webhook_endpoint", self._get("webhook_endpoint", endpoint_id), args)

    def _webhook_endpoints_update(self, ctx: _Ctx, endpoint_id: str) -> tuple[int, Any]:
        args = bind(obj.WEBHOOK_ENDPOINT_UPDATE, ctx.params)
        record = self._get("webhook_endpoint", endpoint_id)
        if "url" in args:
            record["url"] = _webhook_url(args["url"])
        if "enabled_events" in args:
            record["enabled_events"] = _enabled_events(args["enabled_events"])
        if "description" in args:
            record["description"] = args["description"]
        if "disabled" in args:
            record["status"] = "disabled" if args["disabled"] else "enabled"
        record["metadata"] = apply_metadata(record["metadata"], args.get("metadata"),
                                            "metadata" in args)  # fmt: skip
        return self._one("webhook_endpoint", record, args)

    def _webhook_endpoints_delete(self, ctx: _Ctx, endpoint_id: str) -> tuple[int, Any]:
        bind({}, ctx.params)
        self._get("webhook_endpoint", endpoint_id)
        self._store.delete("webhook_endpoint", endpoint_id)
        return 200, {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}

    def _webhook_endpoints_list(self, ctx: _Ctx) -> tuple[int, Any]:
        args = bind(obj.WEBHOOK_ENDPOINT_LIST, ctx.params)
        return 200, self._list(ctx, "webhook_endpoint", args,
                               self._store.ids("webhook_endpoint"))  # fmt: skip

    def _events_retrieve(self, ctx: _Ctx, event_id: str) -> tuple[int, Any]:
        args = bind(obj.RETRIEVE, ctx.params)
        return self._one("event", self._get("event", event_id), args)

    def _events_list(self, ctx: _Ctx) -> tuple[int, Any]:
        args = bind(obj.EVENT_LIST, ctx.params)
        if args.get("type") is not None and args.get("types") is not None:
            raise _exclusive("type", "types")
        wanted = set(args.get("types") or ()) or None
        pattern = args.get("type")
        success = args.get("delivery_success")

        def keep(event: Record) -> bool:
            if wanted is not None and event["type"] not in wanted:
                return False
            if pattern is not None and not _type_matches(pattern, event["type"]):
                return False
            return success is None or event["_delivered"] == success

        return 200, self._list(ctx, "event", args, self._store.ids("event"), keep)

    # ================================================================== seed
    def _seed(self) -> None:
        """Stripe customers for the demo accounts ACME-US sells to, each with a Visa card as
        its default payment method; no invoices."""
        for account in SEED_CUSTOMERS:
            customer_id = mint_id("cus", "seed", account.tax_id)
            domain = account.website
            record = self._new_customer(customer_id, _SEED_EPOCH, {
                "name": account.name,
                "email": f"billing@{domain}",
                "address": {"line1": account.street, "city": account.city,
                            "postal_code": account.postal_code, "country": account.country},
                "metadata": {"q2c_tax_id": account.tax_id},
                "invoice_prefix": mint_id("x", "seed", account.tax_id, length=8)[2:].upper(),
            })  # fmt: skip
            self._store.insert("customer", record, email=record["email"])
            pm = self._materialize("pm_card_visa", _SEED_EPOCH)
            self._attach(pm, record)
            record["invoice_settings"]["default_payment_method"] = pm["id"]


#: The demo accounts seeded as Stripe customers: those sold to by ACME-US.
SEED_CUSTOMERS: tuple[demo_data.DemoAccount, ...] = tuple(
    a for a in demo_data.ACCOUNTS if a.selling_entity == "ACME-US"
)

# ===================================================================== helpers


def _mask(key: str) -> str:
    if len(key) <= 12:
        return key[:3] + "*" * max(len(key) - 3, 0)
    visible = 8 if key.startswith(("sk_test_", "sk_live_", "rk_test_", "rk_live_")) else 3
    return key[:visible] + "*" * (len(key) - visible - 4) + key[-4:]


def _param_error_body(exc: ParamError) -> dict[str, Any]:
    error: dict[str, Any] = {}
    if exc.code is not None:
        error["code"] = exc.code
        error["doc_url"] = f"https://stripe.com/docs/error-codes/{exc.code.replace('_', '-')}"
    error["message"] = exc.message
    if exc.param is not None:
        error["param"] = exc.param
    error["type"] = "invalid_request_error"
    return error


def _expandable(kind: str, path: str) -> bool:
    options = _EXPANDABLE.get(kind, {})
    parts = path.split(".")
    for prefix_len in (2, 1):
        key = ".".join(parts[:prefix_len])
        if len(parts) >= prefix_len and key in options:
            remainder = ".".join(parts[prefix_len:])
            target = options[key]
            if not remainder:
                return True
            return not target.startswith("@") and _expandable(target, remainder)
    return False


def _expand_error(path: str, index: int) -> StripeError:
    return _invalid(f"This property cannot be expanded ({path}).", param=f"expand[{index}]",
                    stored=False)  # fmt: skip


def _in_range(value: int, bounds: Any) -> bool:
    if isinstance(bounds, int):
        return value == bounds
    return all((
        bounds.get("gt") is None or value > bounds["gt"],
        bounds.get("gte") is None or value >= bounds["gte"],
        bounds.get("lt") is None or value < bounds["lt"],
        bounds.get("lte") is None or value <= bounds["lte"],
    ))  # fmt: skip


def _address(value: Mapping[str, Any] | None) -> dict[str, Any]:
    value = value or {}
    return {k: value.get(k) for k in ("city", "country", "line1", "line2", "postal_code", "state")}


def _decimal_string(value: Decimal | int) -> str:
    return format(Decimal(value).normalize(), "f")


def _item_amounts(args: Mapping[str, Any], current: Record | None) -> tuple[int, Decimal, Decimal]:
    """(amount, unit_amount_decimal, quantity) of an invoice item from create/update params."""
    if "amount" in args and "unit_amount_decimal" in args:
        raise _exclusive("amount", "unit_amount_decimal")
    if "quantity" in args and "quantity_decimal" in args:
        raise _exclusive("quantity", "quantity_decimal")
    if "amount" in args and ("quantity" in args or "quantity_decimal" in args):
        raise _exclusive("amount", "quantity_decimal" if "quantity_decimal" in args else "quantity")
    quantity = Decimal(args.get("quantity_decimal", args.get("quantity", 1)))
    if quantity < 0:
        raise ParamError("This value must be greater than or equal to 0.", param="quantity")
    if "amount" in args:
        return args["amount"], Decimal(args["amount"]), Decimal(1)
    if "unit_amount_decimal" in args:
        unit = args["unit_amount_decimal"]
    elif current is not None:
        unit = Decimal(current["pricing"]["unit_amount_decimal"])
        if not ({"quantity", "quantity_decimal"} & args.keys()):
            quantity = Decimal(current["quantity_decimal"])
    else:
        raise missing("amount")
    amount = int((unit * quantity).to_integral_value(rounding=ROUND_HALF_UP))
    return amount, unit, quantity


def _intent_schema(ctx: _Ctx, schema: Mapping[str, Field]) -> dict[str, Field]:
    """A PaymentIntent write's parameters for the request's API version: from
    2026-09-30.endive ``payment_method_types`` answers its own error, before it is known."""
    if "payment_method_types" not in ctx.params:
        return dict(schema)
    if ctx.since(obj.PAYMENT_METHOD_TYPES_REMOVED_IN):
        raise ParamError(
            "The `payment_method_types` parameter is no longer supported on PaymentIntents "
            f"as of API version {obj.PAYMENT_METHOD_TYPES_REMOVED_IN}. Use "
            "`allowed_payment_method_types`, `excluded_payment_method_types` or dynamic "
            "payment methods instead.",
            param="payment_method_types", code="payment_method_types_no_longer_supported",
        )  # fmt: skip
    return {**schema, **obj.LEGACY_PAYMENT_METHOD_TYPES}


#: The payment method types this test account has activated.
_ACTIVE_METHOD_TYPES = ("card",)


def _check_method_types(
    types: list[str] | None, allowed: list[str] | None, excluded: list[str] | None
) -> None:
    """Each listed type must be active here, and cards must remain after the exclusions
    (the only type this account can charge)."""
    for param, kinds in (("payment_method_types", types),
                         ("allowed_payment_method_types", allowed)):  # fmt: skip
        for index, kind in enumerate(kinds or ()):
            if kind not in _ACTIVE_METHOD_TYPES:
                raise _invalid(
                    f"The payment method type \"{kind}\" is invalid. Please ensure the "
                    "provided type is activated in your dashboard "
                    "(https://dashboard.stripe.com/account/payments/settings) and your "
                    "account is enabled for any preview features that you are trying to use.",
                    param=f"{param}[{index}]", stored=False,
                )  # fmt: skip
    if excluded and set(_ACTIVE_METHOD_TYPES) <= set(excluded):
        raise _invalid(
            "No valid payment method types for this PaymentIntent remain after "
            "`excluded_payment_method_types`: this account accepts card.",
            param="excluded_payment_method_types", stored=False,
        )  # fmt: skip


def _webhook_url(url: str) -> str:
    if not re.fullmatch(r"https?://[^\s/$.?#][^\s]*", url):
        raise _invalid(f"Invalid URL: {url}. URLs must begin with http:// or https://",
                       param="url", stored=False)  # fmt: skip
    return url


def _enabled_events(events: list[str]) -> list[str]:
    for index, name in enumerate(events):
        if name != "*" and name not in obj.EVENT_TYPES:
            raise _invalid(f"Invalid event type: {name}", param=f"enabled_events[{index}]",
                           stored=False)  # fmt: skip
    return list(dict.fromkeys(events))


def _type_matches(pattern: str, event_type: str) -> bool:
    """Stripe's ``type`` filter: an exact type, or ``*`` standing for one part."""
    return re.fullmatch(re.escape(pattern).replace(r"\*", "[^.]+"), event_type) is not None


def _check_due(method: str, args: Mapping[str, Any]) -> None:
    has_due = args.get("days_until_due") is not None or args.get("due_date") is not None
    if method == "send_invoice" and not has_due:
        raise _invalid("If invoice collection method is 'send_invoice', you must specify "
                       "'due_date' or 'days_until_due'.", stored=False)  # fmt: skip
    if method == "charge_automatically" and has_due:
        raise _invalid("You can only specify 'due_date' or 'days_until_due' if invoice "
                       "collection method is 'send_invoice'.", stored=False)  # fmt: skip


def _check_charge_amount(amount: int, currency: str) -> None:
    minimum = obj.MINIMUM_CHARGE.get(currency, 1)
    if amount < minimum:
        raise _invalid(
            f"Amount must be at least {format_amount(minimum, currency)} {currency}",
            code="amount_too_small", param="amount", stored=False,
        )  # fmt: skip
    if amount > obj.MAXIMUM_CHARGE:
        raise _invalid(
            f"Amount must be no more than {format_amount(obj.MAXIMUM_CHARGE, currency)}",
            code="amount_too_large", param="amount", stored=False,
        )  # fmt: skip
    if currency in THREE_DECIMAL_CURRENCIES and amount % 10:
        raise _invalid(
            f"Invalid amount. Amounts in {currency} must be a multiple of 10 (the last digit of "
            "a three-decimal currency amount must be 0).",
            code="invalid_charge_amount", param="amount", stored=False,
        )  # fmt: skip
    if currency == "isk" and amount % 100:
        raise _invalid(
            "Invalid amount. Currency ISK has become effectively zero-decimal and charged amounts "
            "must be evenly divisible by 100. See https://stripe.com/docs/currencies#special-cases "
            "for more information.",
            code="invalid_charge_amount", param="amount", stored=False,
        )  # fmt: skip


_CLAUSE_RE = re.compile(
    r"\s*(?:(?P<meta>metadata\[(?P<q>['\"])(?P<key>[^'\"]+)(?P=q)\])|(?P<field>[a-z_]+))"
    r"\s*(?P<op>[:~])\s*(?P<vq>['\"])(?P<value>(?:[^'\"\\]|\\.)*)(?P=vq)\s*"
)
_SEARCH_FIELDS = frozenset({"email", "name", "phone", "created"})


def _parse_search(query: str) -> tuple[list[tuple[str, str, str]], str]:
    """``email:'x' AND metadata['k']:'v'`` -> clauses and the joining keyword."""
    parts = re.split(r"\s+(AND|OR)\s+", query.strip())
    clauses = parts[0::2]
    joiners = set(parts[1::2])
    if len(joiners) > 1:
        raise _invalid("Search queries cannot mix AND and OR.", param="query", stored=False)
    parsed = []
    for clause in clauses:
        match = _CLAUSE_RE.fullmatch(clause)
        if match is None or (match["field"] and match["field"] not in _SEARCH_FIELDS):
            raise _invalid(
                f"We could not parse your search query: {query}. Try using the syntax "
                "field:'value', for example email:'jenny@example.com'. See "
                "https://stripe.com/docs/search#search-query-language for details.",
                param="query", stored=False,
            )  # fmt: skip
        target = f"metadata.{match['key']}" if match["meta"] else match["field"]
        parsed.append((target, match["op"], match["value"].replace("\\'", "'")))
    return parsed, (joiners.pop() if joiners else "AND")


def _search_clause(record: Record, target: str, op: str, value: str) -> bool:
    if target.startswith("metadata."):
        actual = record["metadata"].get(target[9:])
    else:
        actual = record.get(target)
    if actual is None:
        return False
    actual = str(actual)
    if op == "~":
        return value.casefold() in actual.casefold()
    return actual.casefold() == value.casefold() if target == "email" else actual == value


# ========================================================================= ASGI

_ENCODER = msgspec.json.Encoder(decimal_format="string")
_JSON_CONTENT_TYPE = "application/json"


class StripeSandboxApp(asgi.SandboxASGIApp[StripeSandbox]):
    """The ASGI application serving a :class:`StripeSandbox`."""

    async def respond(self, request: asgi.SandboxRequest, send: asgi.Send) -> None:
        head = request.method == "HEAD"  # answered as a GET, without the body
        reply = self.sandbox.handle("GET" if head else request.method, request.path,
                                    request.query, request.headers, request.body)  # fmt: skip
        await asgi.send_json(send, reply, _ENCODER, content_type=_JSON_CONTENT_TYPE, head=head,
                             bare_204=False)  # fmt: skip
        self.sandbox.webhooks.start()  # the answer first, then the events it caused


def create_app(sandbox: StripeSandbox | None = None) -> StripeSandboxApp:
    """An ASGI app serving ``sandbox`` (a freshly seeded one by default)."""
    return StripeSandboxApp(sandbox if sandbox is not None else StripeSandbox())
