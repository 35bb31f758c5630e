"""An in-memory simulator of NetSuite's SuiteTalk REST web services (record API + SuiteQL).

The acquired UK business unit (legal entity ACME-UK) books its customers and sales orders
in NetSuite. This module is a plain ASGI application used three ways: embedded in the
gateway through ``httpx.ASGITransport``, served standalone, and by tests. The bar is wire
fidelity with Oracle's documentation (REST API Browser 2026.1 and the REST web services
guide): status codes, ``Location`` headers, ``eid:`` addressing, HATEOAS ``links``,
collection paging, the ``o:errorDetails`` error body and SuiteQL's string-valued rows.

Implemented surface:

* ``/services/rest/record/v1/{type}`` for ``customer``, ``salesOrder``, ``inventoryItem``,
  ``serviceSaleItem`` (NetSuite's REST name for a service item for sale), ``subsidiary``
  and ``currency``: ``GET`` (list with ``limit``/``offset``/``q``), ``POST`` (create ->
  204 + ``Location``);
  ``.../{type}/{id}`` and ``.../{type}/eid:{externalId}``: ``GET`` (``expandSubResources``),
  ``PATCH`` (204 + ``Location``), ``PUT`` on ``eid:`` only (upsert: create, or update with
  PATCH semantics; 204 + ``Location``), ``DELETE`` (204). Sublists follow "Updating a
  Sublist": a line naming an existing key (``line`` on ``item``, ``id`` on ``addressBook``)
  updates it and any other line is appended, so a retried upsert that carries unkeyed lines
  appends them again; ``?replace=item`` drops the existing lines the request does not name;
  ``.../{type}/{id}/{sublist}[/{line}]`` serves the sublists rendered as links.
  Subsidiaries and currencies are read-only here (405 on writes).
* ``POST /services/rest/query/v1/suiteql`` with ``Prefer: transient`` (see
  :mod:`sandboxes.netsuite.query` for the SQL subset) over the tables ``item``,
  ``customer``, ``transaction`` (sales orders, ``type = 'SalesOrd'``), ``subsidiary`` and
  ``currency``.

Authentication: ``Authorization: Bearer <access token>`` with a token from the OAuth 2.0
client credentials (machine-to-machine) endpoint ``/services/rest/auth/oauth2/v1/token``
(see :mod:`sandboxes.netsuite.oauth`; tokens expire, and an expired one is 401
``INVALID_LOGIN``), or a fixed bearer token (``access_token``, for compatibility), or an
OAuth 1.0a token-based-authentication header (``OAuth realm="<account>", ...``) whose shape,
realm and ``HMAC-SHA256`` method are checked but whose signature is NOT verified (the
sandbox holds no consumer/token secrets). Anything else: 401 ``INVALID_LOGIN``.

Writes honour ``X-NetSuite-PropertyNameValidation`` (:mod:`sandboxes.netsuite.fields`):
``Error`` refuses a field the record does not have, ``Warning`` (NetSuite's default) and
``Ignore`` drop it. Orders keep ``shipDate`` and the account's custom fields; lines close
(``isClosed``), an order whose lines are all closed is Closed (H); customers carry
``creditHoldOverride``/``creditLimit``/``balance`` and a customer on credit hold gets no new
order and no approval. ``/sandbox/admin/`` (not NetSuite's) puts customers on credit hold
and fulfils orders.

Sandbox simplifications (documented, deliberate): no tax engine (``total`` = ``subtotal``),
``entityId`` defaults to the company name without a uniqueness rule, SuiteQL has no joins,
fulfilment has no itemFulfillment records (the admin endpoint moves ``quantityFulfilled``
and the status), and nothing is ever billed (``quantityBilled`` stays 0).
Items carry their base price in ``rate`` (the REST record has no ``basePrice``); a sales
order line without ``rate`` is priced from the demo list price in the order's currency,
else from ``rate``; the ``price`` pricing matrix itself is not served.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Final
from urllib.parse import parse_qs, unquote, urlencode

import msgspec

from sandboxes import asgi, demo_data
from sandboxes.netsuite import fields, query
from sandboxes.netsuite.fields import CUSTOM_FIELDS
from sandboxes.netsuite.oauth import TOKEN_PATH, TOKEN_SECONDS, Integration, OAuthError, TokenIssuer

__all__ = [
    "ACCESS_TOKEN",
    "DEFAULT_ACCOUNT_ID",
    "RECORD_ROOT",
    "RECORD_TYPES",
    "SUITEQL_PATH",
    "NetSuiteSandbox",
    "NetSuiteSandboxApp",
    "SandboxFaults",
    "create_app",
]

_log = logging.getLogger(__name__)

ACCESS_TOKEN: Final = "q2c-netsuite-sandbox-token"
DEFAULT_ACCOUNT_ID: Final = "1234567_SB1"
RECORD_ROOT: Final = "/services/rest/record/v1"
ADMIN_PREFIX: Final = "/sandbox/admin/"
SUITEQL_PATH: Final = "/services/rest/query/v1/suiteql"
MAX_LIMIT: Final = 1000

RECORD_TYPES: Final = (
    "customer", "salesOrder", "inventoryItem", "serviceSaleItem", "subsidiary", "currency",
)  # fmt: skip
_TYPE_BY_LOWER: Final = {name.casefold(): name for name in RECORD_TYPES}
_ITEM_TYPES: Final = ("inventoryItem", "serviceSaleItem")
_READ_ONLY_TYPES: Final = frozenset({"subsidiary", "currency"})
# Record types sharing one internal id sequence and one external id namespace.
_FAMILY: Final = {
    "customer": "entity", "salesOrder": "transaction", "inventoryItem": "item",
    "serviceSaleItem": "item", "subsidiary": "subsidiary", "currency": "currency",
}  # fmt: skip
_FIRST_ID: Final = {"entity": 1001, "item": 101, "transaction": 5001}
_FIRST_TRAN_NUMBER: Final = 1001

SEED_CLOCK: Final = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)
#: The sandbox account's date preference (en_GB), used where SuiteQL formats dates.
SUITEQL_DATE_FORMAT: Final = "%d/%m/%Y"

# id, name, symbol, display symbol, precision, exchange rate to the base currency (GBP)
_CURRENCIES: Final = (
    ("1", "British pound", "GBP", "£", 2, Decimal("1.0")),
    ("2", "US dollar", "USD", "$", 2, Decimal("0.79")),
    ("3", "Euro", "EUR", "€", 2, Decimal("0.85")),
    ("4", "Japanese yen", "JPY", "¥", 0, Decimal("0.0053")),
)
# id, name, parent, currency id, country, legal name
_SUBSIDIARIES: Final = (
    ("1", "ACME Group", None, "1", "GB", "ACME Group Holdings plc"),
    ("2", "ACME UK Ltd", "1", "1", "GB", "ACME UK Limited"),
    ("3", "ACME Inc.", "1", "2", "US", "ACME Inc."),
)
_UK_SUBSIDIARY: Final = "2"

_COUNTRY_NAMES: Final = {
    "AT": "Austria", "AU": "Australia", "BE": "Belgium", "CA": "Canada", "CH": "Switzerland",
    "DE": "Germany", "DK": "Denmark", "ES": "Spain", "FI": "Finland", "FR": "France",
    "GB": "United Kingdom", "HU": "Hungary", "IE": "Ireland", "IT": "Italy", "JP": "Japan",
    "NL": "Netherlands", "PL": "Poland", "SE": "Sweden", "US": "United States",
}  # fmt: skip
_ORDER_STATUS: Final = {
    "A": "Pending Approval", "B": "Pending Fulfillment", "C": "Cancelled",
    "D": "Partially Fulfilled", "E": "Pending Billing/Partially Fulfilled",
    "F": "Pending Billing", "G": "Billed", "H": "Closed",
}  # fmt: skip
_SETTABLE_ORDER_STATUS: Final = frozenset({"A", "B"})
_CREDIT_HOLD: Final = {"AUTO": "Auto", "ON": "On", "OFF": "Off"}
_DEFAULT_ORDER_STATUS: Final = "A"  # NetSuite's default "Default Sales Order Status" preference
_ITEM_TYPE: Final = {
    "inventoryItem": ("InvtPart", "Inventory Item"),
    "serviceSaleItem": ("Service", "Service"),
}
_CUSTOMER_STRINGS: Final = (
    "entityId", "companyName", "firstName", "lastName", "email", "phone", "url",
    "vatRegNumber", "comments", "externalId",
)  # fmt: skip
_SUBLISTS: Final = {
    "salesOrder": ("item",),
    "customer": ("addressBook",),
    "inventoryItem": ("subsidiary",),
    "serviceSaleItem": ("subsidiary",),
}

# ====================================================================== errors

_PROBLEM_TYPES: Final = {
    400: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1", "Bad Request"),
    401: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.2", "Unauthorized"),
    404: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.5", "Not Found"),
    405: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.6", "Method Not Allowed"),
    415: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.16", "Unsupported Media Type"),
    500: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.6.1", "Internal Server Error"),
    503: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.6.4", "Service Unavailable"),
}
_INVALID_LOGIN: Final = (
    "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at "
    "Setup > Users/Roles > User Management > View Login Audit Trail."
)
_ACCESS_PREFIX: Final = "Error while accessing a resource. "


class NetSuiteError(Exception):
    """Ends request handling with NetSuite's error body.

    ``where`` names the part of the request at fault, as NetSuite does: one of
    ``("o:errorPath", json path)``, ``("o:errorUrl", path)``, ``("o:errorQueryParam", name)``
    or ``("o:errorHeader", name)``.
    """

    def __init__(
        self,
        status: int,
        detail: str,
        code: str,
        where: tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code
        self.where = where
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        uri, title = _PROBLEM_TYPES.get(self.status, _PROBLEM_TYPES[400])
        item: dict[str, Any] = {"detail": self.detail}
        if self.where is not None:
            item[self.where[0]] = self.where[1]
        item["o:errorCode"] = self.code
        return {"type": uri, "title": title, "status": self.status, "o:errorDetails": [item]}


def _invalid_field_value(value: Any, field_id: str, path: str) -> NetSuiteError:
    return NetSuiteError(
        400,
        f"{_ACCESS_PREFIX}You have entered an Invalid Field Value {value} for the following "
        f"field: {field_id}",
        "USER_ERROR",
        ("o:errorPath", path),
    )


def _invalid_value(path: str) -> NetSuiteError:
    name = path.rsplit(".", 1)[-1]
    return NetSuiteError(
        400,
        f"Invalid value for the resource or sub-resource field '{name}'. Provide a valid value.",
        "INVALID_VALUE",
        ("o:errorPath", path),
    )


def _missing_values(labels: Iterable[str]) -> NetSuiteError:
    return NetSuiteError(
        400, f"{_ACCESS_PREFIX}Please enter value(s) for: {', '.join(labels)}.", "USER_ERROR"
    )


def _invalid_parameter(name: str, detail: str) -> NetSuiteError:
    return NetSuiteError(400, detail, "INVALID_PARAMETER", ("o:errorQueryParam", name))


# ====================================================================== values

Record = dict[str, Any]


@dataclass(slots=True)
class SandboxFaults:
    """Fault injection knobs; mutate them on a running sandbox."""

    latency_seconds: float = 0.0  # added before every response
    fail_next: int = 0  # answer the next N API calls with 503


def _money(value: Decimal, precision: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-precision), rounding=ROUND_HALF_UP)


def _number_json(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _datetime_json(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _string(value: Any, path: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool | dict | list):
        raise _invalid_value(path)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _boolean(value: Any, path: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.casefold() in ("true", "false"):
        return value.casefold() == "true"
    raise _invalid_value(path)


def _decimal(value: Any, path: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool | dict | list):
        raise _invalid_value(path)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise _invalid_value(path) from None
    if not number.is_finite():
        raise _invalid_value(path)
    return number


def _date(value: Any, path: str) -> date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid_value(path)
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise _invalid_value(path) from None


def _reference(value: Any, path: str) -> tuple[str | None, str | None]:
    """(internal id, external id) of a reference given as ``{"id"}``/``{"externalId"}``/id."""
    if isinstance(value, dict):
        if value.get("id") is not None:
            raw = value["id"]
            if isinstance(raw, bool | dict | list):
                raise _invalid_value(path)
            return (format(raw, "f") if isinstance(raw, Decimal) else str(raw)), None
        if value.get("externalId") is not None:
            return None, str(value["externalId"])
        raise _invalid_value(path)
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value), None
    raise _invalid_value(path)


# ======================================================================= store


class _Store:
    """Records by type and internal id, external id indexes and reference counts."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, Record]] = {name: {} for name in RECORD_TYPES}
        self.eids: dict[str, dict[str, str]] = {name: {} for name in RECORD_TYPES}
        self.item_type: dict[str, str] = {}  # item internal id -> its record type
        self.refs: dict[tuple[str, str], int] = {}  # (family, id) -> orders referencing it
        self.next_id = dict(_FIRST_ID)
        self.next_tran_number = _FIRST_TRAN_NUMBER
        self.next_address_id = 1

    def new_id(self, record_type: str) -> str:
        family = _FAMILY[record_type]
        number = self.next_id[family]
        self.next_id[family] = number + 1
        return str(number)

    def get(self, record_type: str, record_id: str) -> Record | None:
        return self.tables[record_type].get(record_id)

    def by_eid(self, record_type: str, external_id: str) -> Record | None:
        record_id = self.eids[record_type].get(external_id)
        return None if record_id is None else self.tables[record_type][record_id]

    def eid_taken(self, record_type: str, external_id: str, except_id: str | None) -> bool:
        family = _FAMILY[record_type]
        for other in RECORD_TYPES:
            if _FAMILY[other] != family:
                continue
            owner = self.eids[other].get(external_id)
            if owner is not None and not (other == record_type and owner == except_id):
                return True
        return False

    def item(self, item_id: str) -> tuple[str, Record] | None:
        record_type = self.item_type.get(item_id)
        if record_type is None:
            return None
        return record_type, self.tables[record_type][item_id]

    def item_by_eid(self, external_id: str) -> tuple[str, Record] | None:
        for record_type in _ITEM_TYPES:
            record = self.by_eid(record_type, external_id)
            if record is not None:
                return record_type, record
        return None

    def put(self, record_type: str, record: Record) -> None:
        table = self.tables[record_type]
        old = table.get(record["id"])
        if old is not None:
            self._unindex(record_type, old)
        table[record["id"]] = record
        self._index(record_type, record)

    def remove(self, record_type: str, record_id: str) -> None:
        record = self.tables[record_type].pop(record_id)
        self._unindex(record_type, record)

    def _index(self, record_type: str, record: Record) -> None:
        if record.get("externalId"):
            self.eids[record_type][record["externalId"]] = record["id"]
        if record_type in _ITEM_TYPES:
            self.item_type[record["id"]] = record_type
        if record_type == "salesOrder":
            for key in self._order_refs(record):
                self.refs[key] = self.refs.get(key, 0) + 1

    def _unindex(self, record_type: str, record: Record) -> None:
        if record.get("externalId"):
            self.eids[record_type].pop(record["externalId"], None)
        if record_type in _ITEM_TYPES:
            self.item_type.pop(record["id"], None)
        if record_type == "salesOrder":
            for key in self._order_refs(record):
                remaining = self.refs.get(key, 0) - 1
                if remaining > 0:
                    self.refs[key] = remaining
                else:
                    self.refs.pop(key, None)

    @staticmethod
    def _order_refs(order: Record) -> list[tuple[str, str]]:
        keys = [("entity", order["entity"])]
        keys.extend(("item", line["item"]) for line in order["item"])
        return keys


# ===================================================================== replies


@dataclass(slots=True)
class _Reply(asgi.SandboxReply):
    content_type: str = "application/vnd.oracle.resource+json; type=singular"


_NO_BODY = object()
_COLLECTION: Final = "application/vnd.oracle.resource+json; type=collection"
_ERROR: Final = "application/vnd.oracle.resource+json; type=error"
_JSON_DECODER = msgspec.json.Decoder(float_hook=Decimal)
_OAUTH_PARAM = re.compile(r'([A-Za-z_]+)\s*=\s*"([^"]*)"')
_OAUTH_REQUIRED = frozenset({
    "oauth_consumer_key", "oauth_token", "oauth_signature_method", "oauth_timestamp",
    "oauth_nonce", "oauth_signature",
})  # fmt: skip
_INTERNAL_ID = re.compile(r"-?(?:0|[1-9][0-9]*)")


def _allowed(method: str, allowed: str, url: str) -> None:
    if method not in allowed.split(","):
        raise NetSuiteError(
            405,
            f"The HTTP method {method} is not allowed for this resource. Allowed methods: "
            f"{allowed.replace(',', ', ')}.",
            "METHOD_NOT_ALLOWED",
            ("o:errorUrl", url),
            {"Allow": allowed.replace(",", ", ")},
        )


def _page_params(params: Mapping[str, str]) -> tuple[int, int]:
    def parse(name: str, default: int, low: int, high: int | None) -> int:
        raw = params.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            value = low - 1
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise _invalid_parameter(
                name,
                f"Invalid value '{raw}' for the query parameter '{name}'. "
                f"Provide a number {bound}.",
            )
        return value

    return parse("limit", MAX_LIMIT, 1, MAX_LIMIT), parse("offset", 0, 0, None)


def _collection(
    base: str, path: str, extra: Mapping[str, str], rows: list[Any], limit: int, offset: int
) -> tuple[list[Any], dict[str, Any]]:
    """The page ``rows[offset:offset+limit]`` and the collection envelope around it."""
    total = len(rows)
    page = rows[offset : offset + limit]
    has_more = offset + len(page) < total

    def href(at: int) -> str:
        return f"{base}{path}?{urlencode({**extra, 'limit': limit, 'offset': at})}"

    links: list[dict[str, str]] = []
    if offset > 0:
        links.append({"rel": "first", "href": href(0)})
        links.append({"rel": "prev", "href": href(max(offset - limit, 0))})
    if has_more:
        links.append({"rel": "next", "href": href(offset + limit)})
        last = ((total - 1) // limit) * limit
        links.append({"rel": "last", "href": href(last)})
    links.append({"rel": "self", "href": href(offset)})
    envelope = {
        "links": links,
        "count": len(page),
        "hasMore": has_more,
        "items": [],
        "offset": offset,
        "totalResults": total,
    }
    return page, envelope


# ==================================================================== sandbox


class NetSuiteSandbox:
    """The in-memory NetSuite account plus the REST web services that serve it."""

    def __init__(
        self,
        *,
        account_id: str = DEFAULT_ACCOUNT_ID,
        access_token: str | None = ACCESS_TOKEN,
        integration: Integration | None = None,
        token_lifetime_seconds: float = TOKEN_SECONDS,
        clock: Callable[[], datetime] | None = None,
        seed: bool = True,
    ) -> None:
        """``access_token`` is a fixed bearer token the account accepts (None: none);
        ``integration`` the integration record and certificate the client credentials
        token endpoint accepts assertions from; its tokens expire after
        ``token_lifetime_seconds`` of ``clock``."""
        self.account_id = account_id
        self.access_token = access_token
        self.integration = integration or Integration()
        self.faults = SandboxFaults()
        self._store = _Store()
        self._clock: Callable[[], datetime] = clock or (
            lambda: datetime.now(UTC).replace(microsecond=0)
        )
        self.tokens = TokenIssuer(
            self.integration, lambda: self._clock().timestamp(), token_lifetime_seconds
        )
        self._api_calls = 0
        self._seed_reference_data()
        if seed:
            self._seed_demo_world()

    # ------------------------------------------------------------ inspection
    @property
    def base_url(self) -> str:
        """The account's REST host, as real NetSuite would use in ``links``."""
        return f"https://{self.account_id.lower().replace('_', '-')}.suitetalk.api.netsuite.com"

    @property
    def api_calls(self) -> int:
        """REST calls served so far (authenticated or not, faults excluded)."""
        return self._api_calls

    def records(self, record_type: str) -> list[dict[str, Any]]:
        """A snapshot of every record of ``record_type`` as ``GET ?expandSubResources=true``
        renders it. ``"serviceItem"`` is accepted as an alias of ``"serviceSaleItem"``."""
        name = _TYPE_BY_LOWER.get(record_type.casefold())
        if name is None and record_type.casefold() == "serviceitem":
            name = "serviceSaleItem"
        if name is None:
            raise KeyError(record_type)
        return [
            self._render(name, record, self.base_url, expand=True)
            for record in self._store.tables[name].values()
        ]

    def record(self, record_type: str, record_id: str) -> dict[str, Any] | None:
        """One record rendered like :meth:`records`, or None."""
        name = _TYPE_BY_LOWER.get(record_type.casefold())
        if name is None:
            raise KeyError(record_type)
        record = self._store.get(name, record_id)
        return None if record is None else self._render(name, record, self.base_url, expand=True)

    # -------------------------------------------------------------- dispatch
    def handle(
        self,
        method: str,
        path: str,
        query_string: str,
        headers: Mapping[str, str],
        body: bytes,
        base_url: str,
    ) -> _Reply:
        """Serve one HTTP request (``headers`` keys lower-case, ``path`` still %-encoded)."""
        if path.startswith(ADMIN_PREFIX):
            return self._admin(method, path[len(ADMIN_PREFIX):], body)
        try:
            if self.faults.fail_next > 0:
                self.faults.fail_next -= 1
                raise NetSuiteError(
                    503,
                    "The service is temporarily unavailable (sandbox fault injection). "
                    "Please try again later.",
                    "UNEXPECTED_ERROR",
                )
            self._api_calls += 1
            raw_segments = path.split("/")[1:]
            if raw_segments and raw_segments[-1] == "":
                raw_segments.pop()
            segments = [unquote(s) for s in raw_segments]
            if segments[:2] != ["services", "rest"]:
                raise self._not_found_url(path)
            if "/" + "/".join(segments) == TOKEN_PATH:
                _allowed(method, "POST", path)
                return self._token(headers, body, base_url)
            self._authenticate(headers)
            params = {k: v[-1] for k, v in parse_qs(query_string, keep_blank_values=True).items()}
            if segments[2:4] == ["record", "v1"] and len(segments) >= 5:
                return self._record_call(method, segments[4:], params, headers, body, base_url)
            if segments[2:] == ["query", "v1", "suiteql"]:
                _allowed(method, "POST", path)
                return self._suiteql(params, headers, body, base_url)
            raise self._not_found_url(path)
        except NetSuiteError as exc:
            return _Reply(
                exc.status,
                exc.body(),
                exc.headers,
                _ERROR,
            )
        except Exception:  # a sandbox bug: answer like NetSuite does, keep the account intact
            _log.exception("netsuite sandbox: unexpected error on %s %s", method, path)
            error = NetSuiteError(
                500,
                "An unexpected error occurred. Error ID: "
                f"{secrets.token_hex(4)}-{secrets.token_hex(2)}",
                "UNEXPECTED_ERROR",
            )
            return _Reply(500, error.body(), {}, _ERROR)

    @staticmethod
    def _not_found_url(path: str) -> NetSuiteError:
        return NetSuiteError(
            404,
            "The requested resource does not exist. Check the URL and try again.",
            "NONEXISTENT_ID",
            ("o:errorUrl", path),
        )

    def _token(self, headers: Mapping[str, str], body: bytes, base_url: str) -> _Reply:
        """The OAuth 2.0 token endpoint (client credentials with a JWT assertion)."""
        content_type = headers.get("content-type", "").split(";")[0].strip().casefold()
        try:
            if content_type != "application/x-www-form-urlencoded":
                raise OAuthError(400, "invalid_request",
                                 "the body must be application/x-www-form-urlencoded")  # fmt: skip
            form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
            answer = self.tokens.exchange(form, base_url + TOKEN_PATH)
        except OAuthError as exc:
            return _Reply(exc.status, exc.body, {"Cache-Control": "no-store"}, "application/json")
        return _Reply(200, answer, {"Cache-Control": "no-store"}, "application/json")

    def _authenticate(self, headers: Mapping[str, str]) -> None:
        scheme, _, credentials = headers.get("authorization", "").strip().partition(" ")
        if scheme.casefold() == "bearer":
            token = credentials.strip()
            if self.access_token is not None and secrets.compare_digest(
                token.encode(), self.access_token.encode()
            ):
                return
            if self.tokens.valid(token):
                return  # an expired one gets NetSuite's 401 INVALID_LOGIN below
        if scheme.casefold() == "oauth":
            params = dict(_OAUTH_PARAM.findall(credentials))
            realm = params.get("realm", "").upper().replace("-", "_")
            if (
                params.keys() >= _OAUTH_REQUIRED
                and realm == self.account_id.upper()
                and params["oauth_signature_method"] == "HMAC-SHA256"
                and params.get("oauth_version", "1.0") == "1.0"
                and all(params[name] for name in _OAUTH_REQUIRED)
            ):
                return  # shape accepted; the signature itself is not verified (no secrets here)
        raise NetSuiteError(401, _INVALID_LOGIN, "INVALID_LOGIN")

    # ------------------------------------------------ sandbox-only administration
    def _admin(self, method: str, path: str, raw: bytes) -> _Reply:
        """``POST|DELETE /sandbox/admin/customers/{id}/credit-block`` and
        ``POST /sandbox/admin/orders/{id}/deliver``: what a credit controller and the
        warehouse do in a real account. Not part of NetSuite's API; no authentication."""
        parts = [unquote(p) for p in path.strip("/").split("/")]
        try:
            body = _JSON_DECODER.decode(raw) if raw.strip() else {}
        except msgspec.DecodeError:
            body = None
        try:
            if not isinstance(body, dict):
                raise NetSuiteError(400, "The admin body must be a JSON object.", "INVALID_CONTENT")
            if len(parts) == 3 and parts[0] == "customers" and parts[2] == "credit-block":
                if method == "POST":
                    return _Reply(200, self.credit_hold(
                        parts[1], str(body.get("override", "ON")),
                        balance=body.get("balance"), credit_limit=body.get("credit_limit"),
                    ), content_type="application/json")  # fmt: skip
                if method == "DELETE":
                    return _Reply(200, self.credit_hold(parts[1], "AUTO"),
                                  content_type="application/json")  # fmt: skip
            if len(parts) == 3 and parts[:1] == ["orders"] and parts[2] == "deliver":
                lines = body.get("lines")
                if lines is not None and not (
                    isinstance(lines, list) and all(isinstance(n, int) for n in lines)
                ):
                    raise NetSuiteError(400, "lines must be a list of line numbers.",
                                        "INVALID_CONTENT")  # fmt: skip
                if method == "POST":
                    return _Reply(200, self.deliver(parts[1], lines),
                                  content_type="application/json")  # fmt: skip
            raise self._not_found_url(ADMIN_PREFIX + path)
        except NetSuiteError as exc:
            return _Reply(exc.status, exc.body(), exc.headers, _ERROR)

    def credit_hold(
        self, customer_id: str, override: str = "ON", *, balance: Any = None,
        credit_limit: Any = None,
    ) -> dict[str, Any]:
        """Set a customer's ``creditHoldOverride`` (ON, AUTO, OFF) and optionally its
        ``balance`` (which only transactions move in NetSuite) and ``creditLimit``."""
        customer = self._store.get("customer", customer_id)
        if customer is None:
            raise self._not_found_url(f"{ADMIN_PREFIX}customers/{customer_id}")
        if override.upper() not in _CREDIT_HOLD:
            raise _invalid_field_value(override, "creditholdoverride", "override")
        draft = _copy_record(customer)
        draft["creditHoldOverride"] = override.upper()
        if balance is not None:
            draft["balance"] = _decimal(balance, "balance")
        if credit_limit is not None:
            draft["creditLimit"] = _decimal(credit_limit, "credit_limit")
        draft["lastModifiedDate"] = self._clock()
        self._store.put("customer", draft)
        return {"id": customer_id, "creditHoldOverride": draft["creditHoldOverride"],
                "balance": _number_json(draft["balance"]),
                "creditLimit": _number_json(draft.get("creditLimit")),
                "onCreditHold": _on_credit_hold(draft)}  # fmt: skip

    def deliver(self, order_id: str, lines: list[int] | None = None) -> dict[str, Any]:
        """Fulfil an order's open lines in full (all, or the ``line`` numbers given), as an
        item fulfillment would: ``quantityFulfilled`` and the order status move on
        (Pending Billing when every open line is fulfilled, else Pending Billing/Partially
        Fulfilled). An order pending approval, closed or cancelled cannot be fulfilled."""
        order = self._store.get("salesOrder", order_id)
        if order is None:
            raise self._not_found_url(f"{ADMIN_PREFIX}orders/{order_id}")
        if order["orderStatus"] not in ("B", "D", "E"):
            raise NetSuiteError(
                400,
                f"{_ACCESS_PREFIX}A sales order in status {_ORDER_STATUS[order['orderStatus']]} "
                "cannot be fulfilled.",
                "USER_ERROR",
            )
        draft = _copy_record(order)
        open_lines = [line for line in draft["item"] if not line["isClosed"]]
        chosen = [line for line in open_lines if lines is None or line["line"] in lines]
        if lines is not None and {line["line"] for line in chosen} != set(lines):
            raise NetSuiteError(400, f"Sales order {order_id} has no open line(s) {lines}.",
                                "INVALID_CONTENT")  # fmt: skip
        if not chosen or all(line["quantityFulfilled"] >= line["quantity"] for line in chosen):
            raise NetSuiteError(400, f"Sales order {order_id} has nothing left to fulfil.",
                                "USER_ERROR")  # fmt: skip
        for line in chosen:
            line["quantityFulfilled"] = line["quantity"]
        done = all(line["quantityFulfilled"] >= line["quantity"] for line in open_lines)
        draft["orderStatus"] = "F" if done else "E"
        draft["lastModifiedDate"] = self._clock()
        self._store.put("salesOrder", draft)
        return {"id": order_id, "orderStatus": draft["orderStatus"],
                "refName": _ORDER_STATUS[draft["orderStatus"]]}  # fmt: skip

    # --------------------------------------------------------- record routes
    def _record_call(
        self,
        method: str,
        segments: list[str],
        params: Mapping[str, str],
        headers: Mapping[str, str],
        raw_body: bytes,
        base: str,
    ) -> _Reply:
        url = "/".join([RECORD_ROOT, *segments])
        record_type = _TYPE_BY_LOWER.get(segments[0].casefold())
        if record_type is None:
            raise NetSuiteError(
                404,
                f"Record type '{segments[0]}' does not exist.",
                "NONEXISTENT_ID",
                ("o:errorUrl", url),
            )
        writable = record_type not in _READ_ONLY_TYPES
        if len(segments) == 1:
            _allowed(method, "GET,POST" if writable else "GET", url)
            if method == "GET":
                return self._list(record_type, params, base)
            body = self._json_body(raw_body, headers)
            _check_names(record_type, body, headers)
            record = self._create(record_type, body, external_id=None)
            return self._location_reply(record_type, record, base)
        key = segments[1]
        if len(segments) == 2:
            _allowed(method, "GET,PATCH,PUT,DELETE" if writable else "GET", url)
            if method == "PUT":
                return self._upsert(record_type, key, url, params, headers, raw_body, base)
            record = self._lookup(record_type, key, url)
            if method == "GET":
                expand = params.get("expandSubResources", "").casefold() == "true"
                return _Reply(200, self._render(record_type, record, base, expand=expand))
            if method == "PATCH":
                body = self._json_body(raw_body, headers)
                _check_names(record_type, body, headers)
                self._update(record_type, record, body, params)
                return self._location_reply(record_type, record, base)
            self._delete(record_type, record)
            return _Reply(204)
        record = self._lookup(record_type, key, url)
        sublist = segments[2]
        if sublist not in _SUBLISTS.get(record_type, ()) or len(segments) > 4:
            raise self._not_found_url(url)
        _allowed(method, "GET", url)
        return self._sublist_reply(record_type, record, sublist, segments[3:], base, url)

    def _lookup(self, record_type: str, key: str, url: str) -> Record:
        if key.startswith("eid:"):
            record = self._store.by_eid(record_type, key[4:])
        elif _INTERNAL_ID.fullmatch(key):
            record = self._store.get(record_type, key)
        else:
            raise NetSuiteError(
                400,
                f"Invalid record instance identifier '{key}'. Provide a valid record instance ID.",
                "INVALID_ID",
                ("o:errorUrl", url),
            )
        if record is None:
            raise NetSuiteError(
                404,
                "The record instance does not exist. Provide a valid record instance ID.",
                "NONEXISTENT_ID",
                ("o:errorUrl", url),
            )
        return record

    @staticmethod
    def _json_body(raw: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
        content_type = headers.get("content-type", "application/json").split(";")[0].strip()
        if content_type and content_type != "application/json" and not content_type.endswith(
            "+json"
        ):
            raise NetSuiteError(
                415,
                f"Unsupported media type '{content_type}'. Use application/json.",
                "UNSUPPORTED_MEDIA_TYPE",
                ("o:errorHeader", "Content-Type"),
            )
        try:
            body = _JSON_DECODER.decode(raw) if raw.strip() else None
        except msgspec.DecodeError:
            body = _NO_BODY
        if not isinstance(body, dict):
            raise NetSuiteError(400, "Invalid content in the request body.", "INVALID_CONTENT")
        return body

    def _location_reply(self, record_type: str, record: Record, base: str) -> _Reply:
        location = f"{base}{RECORD_ROOT}/{record_type}/{record['id']}"
        return _Reply(204, headers={"Location": location})

    # ----------------------------------------------------------- collection
    def _filter_fields(self, record_type: str) -> dict[str, query.FilterField]:
        f = query.FilterField
        common: dict[str, query.FilterField] = {
            "id": f("number", lambda r: int(r["id"])),
            "externalid": f("string", lambda r: r.get("externalId")),
        }
        if record_type == "customer":
            common.update({
                "entityid": f("string", lambda r: r.get("entityId")),
                "companyname": f("string", lambda r: r.get("companyName")),
                "email": f("string", lambda r: r.get("email")),
                "phone": f("string", lambda r: r.get("phone")),
                "vatregnumber": f("string", lambda r: r.get("vatRegNumber")),
                "isinactive": f("boolean", lambda r: r.get("isInactive")),
                "isperson": f("boolean", lambda r: r.get("isPerson")),
                "subsidiary": f("select", lambda r: r.get("subsidiary")),
                "currency": f("select", lambda r: r.get("currency")),
                "datecreated": f("date", lambda r: r.get("dateCreated")),
                "lastmodifieddate": f("date", lambda r: r.get("lastModifiedDate")),
            })
        elif record_type == "salesOrder":
            common.update({
                "tranid": f("string", lambda r: r.get("tranId")),
                "otherrefnum": f("string", lambda r: r.get("otherRefNum")),
                "memo": f("string", lambda r: r.get("memo")),
                "entity": f("select", lambda r: r.get("entity")),
                "subsidiary": f("select", lambda r: r.get("subsidiary")),
                "currency": f("select", lambda r: r.get("currency")),
                "trandate": f("date", lambda r: r.get("tranDate")),
                "shipdate": f("date", lambda r: r.get("shipDate")),
                "total": f("number", lambda r: self._order_total(r)),
                "createddate": f("date", lambda r: r.get("createdDate")),
                "lastmodifieddate": f("date", lambda r: r.get("lastModifiedDate")),
            })
        elif record_type in _ITEM_TYPES:
            common.update({
                "itemid": f("string", lambda r: r.get("itemId")),
                "displayname": f("string", lambda r: r.get("displayName")),
                "isinactive": f("boolean", lambda r: r.get("isInactive")),
                "rate": f("number", lambda r: r.get("rate")),
                "createddate": f("date", lambda r: r.get("createdDate")),
                "lastmodifieddate": f("date", lambda r: r.get("lastModifiedDate")),
            })
        elif record_type == "subsidiary":
            common.update({
                "name": f("string", lambda r: r.get("name")),
                "isinactive": f("boolean", lambda r: r.get("isInactive")),
                "parent": f("select", lambda r: r.get("parent")),
                "currency": f("select", lambda r: r.get("currency")),
            })
        else:
            common.update({
                "name": f("string", lambda r: r.get("name")),
                "symbol": f("string", lambda r: r.get("symbol")),
                "isinactive": f("boolean", lambda r: r.get("isInactive")),
            })
        return common

    def _list(self, record_type: str, params: Mapping[str, str], base: str) -> _Reply:
        limit, offset = _page_params(params)
        rows: list[Record] = list(self._store.tables[record_type].values())
        extra: dict[str, str] = {}
        q = params.get("q")
        if q:
            try:
                predicate = query.compile_filter(q, self._filter_fields(record_type))
            except query.QueryError as exc:
                raise _invalid_parameter("q", f"Invalid query parameter 'q'. {exc}") from None
            rows = [row for row in rows if predicate(row)]
            extra["q"] = q
        path = f"{RECORD_ROOT}/{record_type}"
        page, envelope = _collection(base, path, extra, rows, limit, offset)
        envelope["items"] = [
            {"links": [self._self_link(base, record_type, row["id"])], "id": row["id"]}
            for row in page
        ]
        return _Reply(200, envelope, content_type=_COLLECTION)

    # -------------------------------------------------------------- render
    @staticmethod
    def _self_link(base: str, record_type: str, record_id: str) -> dict[str, str]:
        return {"rel": "self", "href": f"{base}{RECORD_ROOT}/{record_type}/{record_id}"}

    def _ref(self, base: str, record_type: str, record_id: str | None) -> dict[str, Any] | None:
        if record_id is None:
            return None
        if record_type == "item":
            found = self._store.item(record_id)
            record_type = found[0] if found else "inventoryItem"
        record = self._store.get(record_type, record_id)
        ref: dict[str, Any] = {"links": [self._self_link(base, record_type, record_id)],
                               "id": record_id}  # fmt: skip
        if record is not None:
            ref["refName"] = self._ref_name(record_type, record)
        return ref

    def _ref_name(self, record_type: str, record: Record) -> str:
        if record_type == "customer":
            return str(record.get("entityId") or record["id"])
        if record_type in _ITEM_TYPES:
            return str(record["itemId"])
        if record_type == "salesOrder":
            return f"Sales Order #{record['tranId']}"
        if record_type == "subsidiary":
            return self._subsidiary_full_name(record)
        return str(record["name"])

    def _subsidiary_full_name(self, record: Record) -> str:
        names = [record["name"]]
        parent = record.get("parent")
        while parent is not None:
            parent_record = self._store.get("subsidiary", parent)
            if parent_record is None:
                break
            names.append(parent_record["name"])
            parent = parent_record.get("parent")
        return " : ".join(reversed(names))

    def _render(self, record_type: str, record: Record, base: str, *, expand: bool) -> Record:
        fields: dict[str, Any] = {}
        if record_type == "customer":
            fields = self._render_customer(record, base, expand)
        elif record_type == "salesOrder":
            fields = self._render_order(record, base, expand)
        elif record_type in _ITEM_TYPES:
            fields = self._render_item(record_type, record, base, expand)
        elif record_type == "subsidiary":
            fields = {
                "country": {"id": record["country"],
                            "refName": _COUNTRY_NAMES.get(record["country"], record["country"])},
                "currency": self._ref(base, "currency", record["currency"]),
                "fullName": self._subsidiary_full_name(record),
                "id": record["id"],
                "isElimination": False,
                "isInactive": record["isInactive"],
                "legalName": record["legalName"],
                "name": record["name"],
                "parent": self._ref(base, "subsidiary", record.get("parent")),
            }  # fmt: skip
        else:
            fields = {
                "currencyPrecision": record["currencyPrecision"],
                "displaySymbol": record["displaySymbol"],
                "exchangeRate": _number_json(record["exchangeRate"]),
                "id": record["id"],
                "isBaseCurrency": record["isBaseCurrency"],
                "isInactive": record["isInactive"],
                "name": record["name"],
                "symbol": record["symbol"],
            }
        rendered: dict[str, Any] = {"links": [self._self_link(base, record_type, record["id"])]}
        for key in sorted(fields, key=str.casefold):
            value = fields[key]
            if value is None or value == "":
                continue  # NetSuite leaves empty fields out of the representation
            rendered[key] = value
        return rendered

    def _sublist_json(
        self, base: str, record_type: str, record_id: str, name: str, elements: list[Any] | None
    ) -> dict[str, Any]:
        link = {"rel": "self", "href": f"{base}{RECORD_ROOT}/{record_type}/{record_id}/{name}"}
        if elements is None:
            return {"links": [link]}
        return {
            "links": [link],
            "count": len(elements),
            "hasMore": False,
            "items": elements,
            "offset": 0,
            "totalResults": len(elements),
        }

    def _render_customer(self, record: Record, base: str, expand: bool) -> dict[str, Any]:
        addresses = (
            [self._render_address(record, line, base) for line in record["addressBook"]]
            if expand
            else None
        )
        return {
            "addressBook": self._sublist_json(base, "customer", record["id"], "addressBook",
                                              addresses),
            "comments": record.get("comments"),
            "balance": _number_json(record["balance"]),
            "companyName": record.get("companyName"),
            "creditHoldOverride": {"id": record["creditHoldOverride"],
                                   "refName": _CREDIT_HOLD[record["creditHoldOverride"]]},
            "creditLimit": _number_json(record.get("creditLimit")),
            "currency": self._ref(base, "currency", record["currency"]),
            "dateCreated": _datetime_json(record["dateCreated"]),
            "defaultAddress": self._default_address(record),
            "email": record.get("email"),
            "entityId": record.get("entityId"),
            "externalId": record.get("externalId"),
            "firstName": record.get("firstName"),
            "id": record["id"],
            "isInactive": record["isInactive"],
            "isPerson": record["isPerson"],
            "lastModifiedDate": _datetime_json(record["lastModifiedDate"]),
            "lastName": record.get("lastName"),
            "phone": record.get("phone"),
            "subsidiary": self._ref(base, "subsidiary", record["subsidiary"]),
            "url": record.get("url"),
            "vatRegNumber": record.get("vatRegNumber"),
        }  # fmt: skip

    def _render_address(self, record: Record, line: Record, base: str) -> dict[str, Any]:
        address = line["addressBookAddress"]
        href = f"{base}{RECORD_ROOT}/customer/{record['id']}/addressBook/{line['id']}"
        sub = {key: value for key, value in address.items() if value not in (None, "")}
        if address.get("country"):
            sub["country"] = {"id": address["country"],
                              "refName": _COUNTRY_NAMES.get(address["country"],
                                                            address["country"])}  # fmt: skip
        sub["addrText"] = self._address_text(address)
        rendered: dict[str, Any] = {"links": [{"rel": "self", "href": href}]}
        rendered["addressBookAddress"] = {
            "links": [{"rel": "self", "href": f"{href}/addressBookAddress"}],
            **{key: sub[key] for key in sorted(sub, key=str.casefold)},
        }
        rendered["addressBookAddress_text"] = sub["addrText"]
        rendered["addressId"] = str(line["id"])
        rendered["defaultBilling"] = line["defaultBilling"]
        rendered["defaultShipping"] = line["defaultShipping"]
        rendered["id"] = line["id"]
        rendered["internalId"] = line["id"]
        rendered["isResidential"] = line["isResidential"]
        if line.get("label"):
            rendered["label"] = line["label"]
        return rendered

    @staticmethod
    def _address_text(address: Mapping[str, Any]) -> str:
        city_line = " ".join(p for p in (address.get("city"), address.get("state"),
                                         address.get("zip")) if p)  # fmt: skip
        country = address.get("country")
        parts = [
            address.get("attention"),
            address.get("addressee"),
            address.get("addr1"),
            address.get("addr2"),
            address.get("addr3"),
            city_line,
            _COUNTRY_NAMES.get(country, country) if country else None,
        ]
        return "\n".join(p for p in parts if p)

    def _default_address(self, record: Record) -> str | None:
        for line in record["addressBook"]:
            if line["defaultBilling"]:
                return self._address_text(line["addressBookAddress"])
        return None

    def _render_order(self, record: Record, base: str, expand: bool) -> dict[str, Any]:
        lines = (
            [self._render_line(record, line, base) for line in record["item"]]
            if expand
            else None
        )
        status = record["orderStatus"]
        subtotal = self._order_total(record)
        return {
            "createdDate": _datetime_json(record["createdDate"]),
            "currency": self._ref(base, "currency", record["currency"]),
            "entity": self._ref(base, "customer", record["entity"]),
            "exchangeRate": _number_json(self._currency(record["currency"])["exchangeRate"]),
            "externalId": record.get("externalId"),
            "id": record["id"],
            "item": self._sublist_json(base, "salesOrder", record["id"], "item", lines),
            "lastModifiedDate": _datetime_json(record["lastModifiedDate"]),
            "memo": record.get("memo"),
            "orderStatus": {"id": status, "refName": _ORDER_STATUS[status]},
            "otherRefNum": record.get("otherRefNum"),
            "shipDate": record["shipDate"].isoformat() if record.get("shipDate") else None,
            "status": {"id": status, "refName": _ORDER_STATUS[status]},
            "subsidiary": self._ref(base, "subsidiary", record["subsidiary"]),
            "subtotal": _number_json(subtotal),
            "total": _number_json(subtotal),
            "tranDate": record["tranDate"].isoformat(),
            "tranId": record["tranId"],
        } | {name: record.get(name) for name in CUSTOM_FIELDS["salesOrder"]}

    def _render_line(self, order: Record, line: Record, base: str) -> dict[str, Any]:
        found = self._store.item(line["item"])
        item_type = found[0] if found else "inventoryItem"
        type_id, type_name = _ITEM_TYPE[item_type]
        href = f"{base}{RECORD_ROOT}/salesOrder/{order['id']}/item/{line['line']}"
        rendered: dict[str, Any] = {
            "links": [{"rel": "self", "href": href}],
            "amount": _number_json(line["amount"]),
        }
        if line.get("description"):
            rendered["description"] = line["description"]
        rendered.update({
            "isClosed": line["isClosed"],
            "item": self._ref(base, "item", line["item"]),
            "itemType": {"id": type_id, "refName": type_name},
            "line": line["line"],
            "price": {"id": "-1", "refName": "Custom"} if line["customRate"]
            else {"id": "1", "refName": "Base Price"},
            "quantity": _number_json(line["quantity"]),
            "quantityBilled": 0,
            "quantityFulfilled": _number_json(line["quantityFulfilled"]),
            "rate": _number_json(line["rate"]),
        })  # fmt: skip
        for name in CUSTOM_FIELDS["salesOrder.item"]:
            if line.get(name) is not None:
                rendered[name] = line[name]
        return rendered

    def _render_item(
        self, record_type: str, record: Record, base: str, expand: bool
    ) -> dict[str, Any]:
        type_id, type_name = _ITEM_TYPE[record_type]
        subsidiaries = (
            [self._ref(base, "subsidiary", sid) for sid in record["subsidiary"]] if expand else None
        )
        fields: dict[str, Any] = {
            "baseUnit": record.get("baseUnit"),
            "createdDate": _datetime_json(record["createdDate"]),
            "description": record.get("description"),
            "displayName": record.get("displayName"),
            "externalId": record.get("externalId"),
            "id": record["id"],
            "includeChildren": True,
            "isInactive": record["isInactive"],
            "itemId": record["itemId"],
            "itemType": {"id": type_id, "refName": type_name},
            "lastModifiedDate": _datetime_json(record["lastModifiedDate"]),
            "rate": _number_json(record.get("rate")),
            "salesDescription": record.get("salesDescription"),
            "subsidiary": self._sublist_json(base, record_type, record["id"], "subsidiary",
                                             subsidiaries),
        }  # fmt: skip
        if record_type == "serviceSaleItem":
            fields["subtype"] = {"id": "Sale", "refName": "For Sale"}
        return fields

    def _sublist_reply(
        self,
        record_type: str,
        record: Record,
        sublist: str,
        rest: list[str],
        base: str,
        url: str,
    ) -> _Reply:
        rendered = self._render(record_type, record, base, expand=True)[sublist]
        if not rest:
            items = [
                {"links": element["links"]} if "line" in element or "addressId" in element
                else element
                for element in rendered["items"]
            ]  # fmt: skip
            return _Reply(200, {**rendered, "items": items},
                          content_type=_COLLECTION)
        for element in rendered["items"]:
            key = element.get("line", element.get("id"))
            if str(key) == rest[0]:
                return _Reply(200, element)
        raise NetSuiteError(
            404,
            "The record instance does not exist. Provide a valid record instance ID.",
            "NONEXISTENT_ID",
            ("o:errorUrl", url),
        )

    # ------------------------------------------------------------- helpers
    def _currency(self, currency_id: str) -> Record:
        return self._store.tables["currency"][currency_id]

    def _order_total(self, order: Record) -> Decimal:
        precision = self._currency(order["currency"])["currencyPrecision"]
        total = sum((line["amount"] for line in order["item"]), Decimal(0))
        return _money(total, precision)

    def _resolve_ref(
        self, target: str, value: Any, field_id: str, path: str
    ) -> tuple[str, Record]:
        """(record type, record) of a reference body value, or 400 Invalid Field Value."""
        internal_id, external_id = _reference(value, path)
        shown = internal_id if internal_id is not None else external_id
        found: tuple[str, Record] | None = None
        if target == "item":
            found = (
                self._store.item(internal_id) if internal_id is not None
                else self._store.item_by_eid(external_id or "")
            )  # fmt: skip
        else:
            record = (
                self._store.get(target, internal_id) if internal_id is not None
                else self._store.by_eid(target, external_id or "")
            )  # fmt: skip
            found = None if record is None else (target, record)
        if found is None or found[1].get("isInactive"):
            raise _invalid_field_value(shown, field_id, path)
        return found

    # ---------------------------------------------------------------- writes
    def _create(
        self, record_type: str, body: Mapping[str, Any], *, external_id: str | None
    ) -> Record:
        if record_type in _READ_ONLY_TYPES:  # pragma: no cover - routed away earlier
            raise NetSuiteError(405, "Read-only record type.", "METHOD_NOT_ALLOWED")
        now = self._clock()
        record_id = ""  # allocated once the body has passed validation
        record: Record
        if record_type == "customer":
            record = {"id": record_id, "addressBook": [], "dateCreated": now,
                      "isPerson": False, "isInactive": False, "creditHoldOverride": "AUTO",
                      "creditLimit": None, "balance": Decimal(0)}  # fmt: skip
            self._apply_customer(record, body, creating=True)
        elif record_type == "salesOrder":
            record = {"id": record_id, "item": [], "createdDate": now,
                      "orderStatus": _DEFAULT_ORDER_STATUS, "tranDate": now.date()}  # fmt: skip
            self._apply_order(record, body, params={}, creating=True)
        else:
            record = {"id": record_id, "createdDate": now, "isInactive": False,
                      "subsidiary": ["1"], "prices": {}}  # fmt: skip
            self._apply_item(record_type, record, body, creating=True)
        if external_id is not None:
            record["externalId"] = external_id
        self._check_external_id(record_type, record, except_id=None)
        record["id"] = self._store.new_id(record_type)
        if record_type == "salesOrder":
            record["tranId"] = f"SO{self._store.next_tran_number}"
            self._store.next_tran_number += 1
        record["lastModifiedDate"] = now
        self._store.put(record_type, record)
        return record

    def _check_external_id(self, record_type: str, record: Record, except_id: str | None) -> None:
        external_id = record.get("externalId")
        if external_id and self._store.eid_taken(record_type, external_id, except_id):
            raise NetSuiteError(
                400,
                f"{_ACCESS_PREFIX}This record already exists.",
                "DUP_RCRD",
                ("o:errorPath", "externalId"),
            )

    def _update(
        self,
        record_type: str,
        record: Record,
        body: Mapping[str, Any],
        params: Mapping[str, str],
    ) -> None:
        draft = _copy_record(record)
        if record_type == "customer":
            self._apply_customer(draft, body, creating=False, params=params)
        elif record_type == "salesOrder":
            self._apply_order(draft, body, params=params, creating=False)
        else:
            self._apply_item(record_type, draft, body, creating=False)
        self._check_external_id(record_type, draft, except_id=record["id"])
        draft["lastModifiedDate"] = self._clock()
        self._store.put(record_type, draft)

    def _upsert(
        self,
        record_type: str,
        key: str,
        url: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        raw_body: bytes,
        base: str,
    ) -> _Reply:
        if not key.startswith("eid:") or not key[4:]:
            raise NetSuiteError(
                400,
                "The upsert operation is only supported with an external ID in the request "
                "URL (eid:VALUE). Use PATCH to update a record by its internal ID.",
                "INVALID_ID",
                ("o:errorUrl", url),
            )
        external_id = key[4:]
        body = dict(self._json_body(raw_body, headers))
        _check_names(record_type, body, headers)
        body.pop("externalId", None)  # the URL names the external id
        existing = self._store.by_eid(record_type, external_id)
        if existing is None:
            record = self._create(record_type, body, external_id=external_id)
        else:
            self._update(record_type, existing, body, params)
            record = existing
        return self._location_reply(record_type, record, base)

    def _delete(self, record_type: str, record: Record) -> None:
        family = _FAMILY[record_type]
        if self._store.refs.get((family, record["id"]), 0) > 0:
            raise NetSuiteError(
                400,
                f"{_ACCESS_PREFIX}This record cannot be deleted because it has dependent "
                "records.",
                "USER_ERROR",
            )
        self._store.remove(record_type, record["id"])

    # customer -------------------------------------------------------------

    def _apply_customer(
        self,
        record: Record,
        body: Mapping[str, Any],
        *,
        creating: bool,
        params: Mapping[str, str] | None = None,
    ) -> None:
        for name in _CUSTOMER_STRINGS:
            if name in body:
                record[name] = _string(body[name], name)
        for name in ("isPerson", "isInactive"):
            if name in body:
                record[name] = _boolean(body[name], name)
        if body.get("creditHoldOverride") is not None:
            raw = body["creditHoldOverride"]
            code = raw.get("id") if isinstance(raw, dict) else raw
            if not isinstance(code, str) or code.upper() not in _CREDIT_HOLD:
                raise _invalid_field_value(code, "creditholdoverride", "creditHoldOverride")
            record["creditHoldOverride"] = code.upper()
        if "creditLimit" in body:
            limit = _decimal(body["creditLimit"], "creditLimit")
            if limit is not None and limit < 0:
                raise _invalid_field_value(body["creditLimit"], "creditlimit", "creditLimit")
            record["creditLimit"] = limit
        if body.get("subsidiary") is not None:
            sub_id = self._resolve_ref("subsidiary", body["subsidiary"], "subsidiary",
                                       "subsidiary")[1]["id"]  # fmt: skip
            has_orders = self._store.refs.get(("entity", record["id"]), 0) > 0
            if not creating and sub_id != record.get("subsidiary") and has_orders:
                raise NetSuiteError(
                    400,
                    f"{_ACCESS_PREFIX}You cannot change the primary subsidiary of a customer "
                    "that has transactions.",
                    "USER_ERROR",
                    ("o:errorPath", "subsidiary"),
                )
            record["subsidiary"] = sub_id
        if "currency" in body and body["currency"] is not None:
            record["currency"] = self._resolve_ref("currency", body["currency"], "currency",
                                                   "currency")[1]["id"]  # fmt: skip
        email = record.get("email")
        if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            raise _invalid_field_value(email, "email", "email")
        missing = []
        if record["isPerson"]:
            if not record.get("firstName"):
                missing.append("First Name")
            if not record.get("lastName"):
                missing.append("Last Name")
        elif not record.get("companyName"):
            missing.append("Company Name")
        if not record.get("subsidiary"):
            missing.append("Primary Subsidiary")
        if missing:
            raise _missing_values(missing)
        if not record.get("currency"):
            record["currency"] = self._store.tables["subsidiary"][record["subsidiary"]]["currency"]
        if not record.get("entityId"):
            record["entityId"] = (
                record["companyName"] if not record["isPerson"]
                else f"{record['firstName']} {record['lastName']}"
            )  # fmt: skip
        if "addressBook" in body:
            replace = creating or "addressbook" in _replace_set(params or {})
            self._apply_addresses(record, body["addressBook"], replace=replace)

    def _apply_addresses(self, record: Record, value: Any, *, replace: bool) -> None:
        if value is None:
            record["addressBook"] = []
            return
        if not isinstance(value, dict) or not isinstance(value.get("items", []), list):
            raise _invalid_value("addressBook")
        lines: list[Record] = [dict(line) for line in record["addressBook"]]
        by_id = {line["id"]: line for line in lines}
        named: set[int] = set()
        for index, raw in enumerate(value.get("items", [])):
            path = f"addressBook.items[{index}]"
            if not isinstance(raw, dict):
                raise _invalid_value(path)
            raw_id = str(raw.get("id", raw.get("internalId", "")))
            existing = by_id.get(int(raw_id)) if raw_id.isdigit() else None
            line = existing if existing is not None else {
                "id": self._store.next_address_id, "defaultBilling": False,
                "defaultShipping": False, "isResidential": False, "label": None,
                "addressBookAddress": {},
            }  # fmt: skip
            if existing is None:
                self._store.next_address_id += 1
                lines.append(line)
            named.add(line["id"])
            for flag in ("defaultBilling", "defaultShipping", "isResidential"):
                if flag in raw:
                    line[flag] = _boolean(raw[flag], f"{path}.{flag}")
            if "label" in raw:
                line["label"] = _string(raw["label"], f"{path}.label")
            address = raw.get("addressBookAddress")
            if address is not None:
                if not isinstance(address, dict):
                    raise _invalid_value(f"{path}.addressBookAddress")
                merged = dict(line["addressBookAddress"])
                for name in ("addressee", "attention", "addr1", "addr2", "addr3", "city",
                             "state", "zip", "addrPhone"):  # fmt: skip
                    if name in address:
                        merged[name] = _string(address[name], f"{path}.addressBookAddress.{name}")
                if "country" in address:
                    country = address["country"]
                    code = country.get("id") if isinstance(country, dict) else country
                    if code is not None and (not isinstance(code, str) or len(code) != 2):
                        raise _invalid_field_value(code, "country",
                                                   f"{path}.addressBookAddress.country")
                    merged["country"] = code.upper() if isinstance(code, str) else None
                line["addressBookAddress"] = merged
            if not line.get("label"):
                line["label"] = line["addressBookAddress"].get("addr1")
        if replace:
            lines = [line for line in lines if line["id"] in named]
        for flag in ("defaultBilling", "defaultShipping"):  # at most one default of each kind
            flagged = [line for line in lines if line[flag]]
            for line in flagged[:-1]:
                line[flag] = False
        record["addressBook"] = lines

    # sales order ----------------------------------------------------------
    def _apply_order(
        self,
        record: Record,
        body: Mapping[str, Any],
        *,
        params: Mapping[str, str],
        creating: bool,
    ) -> None:
        for name in ("otherRefNum", "memo", "externalId"):
            if name in body:
                record[name] = _string(body[name], name)
        if "tranDate" in body:
            record["tranDate"] = _date(body["tranDate"], "tranDate") or record["tranDate"]
        if "shipDate" in body:
            record["shipDate"] = _date(body["shipDate"], "shipDate")
        for name, kind in CUSTOM_FIELDS["salesOrder"].items():
            if name in body:
                record[name] = _custom_value(kind, body[name], name)
        if "entity" in body or creating:
            if body.get("entity") is None:
                raise _missing_values(["Customer"])
            _, customer = self._resolve_ref("customer", body["entity"], "entity", "entity")
            if not creating and customer["id"] != record["entity"]:
                raise _invalid_field_value(customer["id"], "entity", "entity")
            record["entity"] = customer["id"]
        customer = self._store.tables["customer"][record["entity"]]
        if "subsidiary" in body and body["subsidiary"] is not None:
            _, sub = self._resolve_ref("subsidiary", body["subsidiary"], "subsidiary",
                                       "subsidiary")  # fmt: skip
            if sub["id"] != customer["subsidiary"]:
                raise _invalid_field_value(sub["id"], "subsidiary", "subsidiary")
            record["subsidiary"] = sub["id"]
        elif creating:
            record["subsidiary"] = customer["subsidiary"]
        if "currency" in body and body["currency"] is not None:
            _, cur = self._resolve_ref("currency", body["currency"], "currency", "currency")
            if cur["id"] != customer["currency"]:
                raise _invalid_field_value(cur["id"], "currency", "currency")
            record["currency"] = cur["id"]
        elif creating:
            record["currency"] = customer["currency"]
        if creating and _on_credit_hold(customer):
            raise NetSuiteError(
                400,
                f"{_ACCESS_PREFIX}Customer {customer.get('entityId')} is on credit hold; "
                "the transaction cannot be saved.",
                "USER_ERROR",
                ("o:errorPath", "entity"),
            )
        if "item" in body:
            replace = creating or "item" in _replace_set(params)
            record["item"] = self._order_lines(record, body["item"], replace=replace)
        if not record["item"]:
            raise NetSuiteError(
                400,
                f"{_ACCESS_PREFIX}You must enter at least one line item for this transaction.",
                "USER_ERROR",
            )
        if "orderStatus" in body and body["orderStatus"] is not None:
            raw = body["orderStatus"]
            self._set_order_status(record, raw.get("id") if isinstance(raw, dict) else raw,
                                   customer)  # fmt: skip
        self._close_or_reopen(record)

    def _set_order_status(self, record: Record, status: Any, customer: Record) -> None:
        """Approval (A -> B) and back to Pending Approval (B -> A, before anything is
        fulfilled); closed and cancelled orders keep their status."""
        current = record["orderStatus"]
        if status not in _SETTABLE_ORDER_STATUS:
            raise _invalid_value("orderStatus")
        if status == current:
            return
        if current not in _SETTABLE_ORDER_STATUS or any(
            line["quantityFulfilled"] > 0 for line in record["item"]
        ):
            raise NetSuiteError(
                400,
                f"{_ACCESS_PREFIX}The order status cannot be changed from "
                f"{_ORDER_STATUS[current]} to {_ORDER_STATUS[status]}.",
                "USER_ERROR",
                ("o:errorPath", "orderStatus"),
            )
        if status == "B" and _on_credit_hold(customer):
            raise NetSuiteError(
                400,
                f"{_ACCESS_PREFIX}Customer {customer.get('entityId')} is on credit hold; "
                "the order cannot be approved.",
                "USER_ERROR",
                ("o:errorPath", "orderStatus"),
            )
        record["orderStatus"] = status

    @staticmethod
    def _close_or_reopen(record: Record) -> None:
        """An order whose every line is closed is Closed (H); reopening a line gives it
        back the status it had."""
        closed = all(line["isClosed"] for line in record["item"])
        if closed and record["orderStatus"] != "H":
            record["statusBeforeClose"] = record["orderStatus"]
            record["orderStatus"] = "H"
        elif not closed and record["orderStatus"] == "H":
            record["orderStatus"] = record.pop("statusBeforeClose", _DEFAULT_ORDER_STATUS)

    def _order_lines(self, order: Record, value: Any, *, replace: bool) -> list[Record]:
        if value is None:
            return []
        if not isinstance(value, dict) or not isinstance(value.get("items", []), list):
            raise _invalid_value("item")
        # "line" keys the item sublist: a keyed line updates its match, any other is added;
        # with ?replace=item the existing lines nobody named are removed as well.
        lines = [dict(line) for line in order["item"]]
        by_line = {line["line"]: line for line in lines}
        next_line = max((line["line"] for line in lines), default=0) + 1
        named: set[int] = set()
        currency = self._currency(order["currency"])
        precision = currency["currencyPrecision"]
        for index, raw in enumerate(value.get("items", [])):
            path = f"item.items[{index}]"
            if not isinstance(raw, dict):
                raise _invalid_value(path)
            existing = None
            if raw.get("line") is not None:
                try:
                    existing = by_line.get(int(str(raw["line"])))
                except ValueError:
                    raise _invalid_value(f"{path}.line") from None
            line: Record
            if existing is not None:
                line = existing
                named.add(line["line"])
            else:
                if raw.get("item") is None:
                    raise _missing_values(["Item"])
                line = {"line": next_line, "item": None, "quantity": Decimal(1),
                        "rate": None, "amount": None, "description": None,
                        "customRate": False, "isClosed": False,
                        "quantityFulfilled": Decimal(0)}  # fmt: skip
                next_line += 1
                lines.append(line)
                named.add(line["line"])
            item_record: Record | None = None
            if raw.get("item") is not None:
                _, item_record = self._resolve_ref("item", raw["item"], "item", f"{path}.item")
                if existing is None or item_record["id"] != line["item"]:
                    line["item"] = item_record["id"]
                    line["rate"] = None if "rate" not in raw else line["rate"]
                    line["description"] = None
            else:
                found = self._store.item(line["item"])
                item_record = found[1] if found else None
            if "quantity" in raw:
                quantity = _decimal(raw["quantity"], f"{path}.quantity")
                if quantity is None or quantity <= 0:
                    raise _invalid_field_value(
                        raw["quantity"], "quantity", f"{path}.quantity"
                    )
                line["quantity"] = quantity
            if raw.get("rate") is not None:
                rate = _decimal(raw["rate"], f"{path}.rate")
                if rate is None or rate < 0:
                    raise _invalid_field_value(raw["rate"], "rate", f"{path}.rate")
                line["rate"] = rate
                line["customRate"] = True
            amount_given = _decimal(raw.get("amount"), f"{path}.amount")
            if line["rate"] is None:
                if amount_given is not None:
                    line["rate"] = amount_given / line["quantity"]
                    line["customRate"] = True
                else:
                    line["rate"] = self._item_price(item_record, currency["symbol"])
                    line["customRate"] = False
            line["amount"] = _money(
                amount_given if amount_given is not None else line["quantity"] * line["rate"],
                precision,
            )
            if "description" in raw:
                line["description"] = _string(raw["description"], f"{path}.description")
            if "isClosed" in raw:
                line["isClosed"] = _boolean(raw["isClosed"], f"{path}.isClosed")
            for name, kind in CUSTOM_FIELDS["salesOrder.item"].items():
                if name in raw:
                    line[name] = _custom_value(kind, raw[name], f"{path}.{name}")
            if line["description"] is None and item_record is not None:
                line["description"] = (
                    item_record.get("salesDescription") or item_record.get("displayName")
                )
        return [line for line in lines if line["line"] in named] if replace else lines

    @staticmethod
    def _item_price(item: Record | None, currency_symbol: str) -> Decimal:
        if item is None:
            return Decimal(0)
        price = item["prices"].get(currency_symbol)
        if price is not None:
            return Decimal(price)
        return Decimal(item.get("rate") or 0)

    # item -----------------------------------------------------------------
    def _apply_item(
        self, record_type: str, record: Record, body: Mapping[str, Any], *, creating: bool
    ) -> None:
        for name in ("itemId", "displayName", "description", "salesDescription", "externalId",
                     "baseUnit"):  # fmt: skip
            if name in body:
                record[name] = _string(body[name], name)
        if "isInactive" in body:
            record["isInactive"] = _boolean(body["isInactive"], "isInactive")
        if "rate" in body:
            record["rate"] = _decimal(body["rate"], "rate")
        if not record.get("itemId"):
            raise _missing_values(["Item Name/Number"])
        for other in _ITEM_TYPES:
            for candidate in self._store.tables[other].values():
                if candidate["itemId"] == record["itemId"] and candidate["id"] != record["id"]:
                    raise NetSuiteError(
                        400,
                        f"{_ACCESS_PREFIX}The item name you have chosen is already used. "
                        "Go back, change the name and resubmit.",
                        "USER_ERROR",
                        ("o:errorPath", "itemId"),
                    )

    # ---------------------------------------------------------------- SuiteQL
    def _suiteql(
        self, params: Mapping[str, str], headers: Mapping[str, str], raw: bytes, base: str
    ) -> _Reply:
        if "transient" not in headers.get("prefer", "").casefold():
            raise NetSuiteError(
                400,
                "Invalid header value. The SuiteQL resource requires the header "
                "'Prefer: transient'.",
                "INVALID_HEADER",
                ("o:errorHeader", "Prefer"),
            )
        body = self._json_body(raw, headers)
        text = body.get("q")
        if not isinstance(text, str) or not text.strip():
            raise NetSuiteError(
                400, "Invalid content in the request body. Provide the query in 'q'.",
                "INVALID_CONTENT", ("o:errorPath", "q"),
            )  # fmt: skip
        limit, offset = _page_params(params)
        try:
            rows = query.run_suiteql(query.parse_suiteql(text), self._suiteql_tables())
        except query.QueryError as exc:
            raise NetSuiteError(
                400,
                "Invalid search query. Detailed unprocessed description follows. "
                f"Search error occurred: {exc}",
                "INVALID_PARAMETER",
                ("o:errorQueryParam", "q"),
            ) from None
        page, envelope = _collection(base, SUITEQL_PATH, {}, rows, limit, offset)
        envelope["items"] = [{"links": [], **row} for row in page]
        return _Reply(200, envelope, content_type=_COLLECTION)

    def _suiteql_tables(self) -> dict[str, query.Table]:
        c = query.Column
        store = self._store

        def fmt(day: date) -> str:
            return day.strftime(SUITEQL_DATE_FORMAT)

        def items() -> Iterable[Record]:
            rows = [*store.tables["inventoryItem"].values(),
                    *store.tables["serviceSaleItem"].values()]  # fmt: skip
            return sorted(rows, key=lambda r: int(r["id"]))

        item_columns = {
            "id": c("integer", lambda r: r["id"]),
            "itemid": c("text", lambda r: r["itemId"]),
            "fullname": c("text", lambda r: r["itemId"]),
            "displayname": c("text", lambda r: r.get("displayName")),
            "description": c("text", lambda r: r.get("salesDescription")),
            "itemtype": c("text", lambda r: _ITEM_TYPE[store.item_type[r["id"]]][0]),
            "subtype": c("text", lambda r: "Sale"
                         if store.item_type[r["id"]] == "serviceSaleItem" else None),
            "isinactive": c("boolean", lambda r: r["isInactive"]),
            "externalid": c("text", lambda r: r.get("externalId")),
            "createddate": c("datetime", lambda r: r["createdDate"]),
            "lastmodifieddate": c("datetime", lambda r: r["lastModifiedDate"]),
        }  # fmt: skip
        customer_columns = {
            "id": c("integer", lambda r: r["id"]),
            "entityid": c("text", lambda r: r.get("entityId")),
            "companyname": c("text", lambda r: r.get("companyName")),
            "email": c("text", lambda r: r.get("email")),
            "phone": c("text", lambda r: r.get("phone")),
            "vatregnumber": c("text", lambda r: r.get("vatRegNumber")),
            "externalid": c("text", lambda r: r.get("externalId")),
            "subsidiary": c("integer", lambda r: r["subsidiary"]),
            "currency": c("integer", lambda r: r["currency"]),
            "isperson": c("boolean", lambda r: r["isPerson"]),
            "isinactive": c("boolean", lambda r: r["isInactive"]),
            "datecreated": c("datetime", lambda r: r["dateCreated"]),
            "lastmodifieddate": c("datetime", lambda r: r["lastModifiedDate"]),
            "creditholdoverride": c("text", lambda r: r["creditHoldOverride"]),
            "creditlimit": c("decimal", lambda r: r.get("creditLimit")),
            "balance": c("decimal", lambda r: r["balance"]),
            "oncredithold": c("boolean", _on_credit_hold),
        }
        transaction_columns = {
            "id": c("integer", lambda r: r["id"]),
            "tranid": c("text", lambda r: r["tranId"]),
            "trandate": c("date", lambda r: r["tranDate"]),
            "shipdate": c("date", lambda r: r.get("shipDate")),
            "type": c("text", lambda r: "SalesOrd"),
            "entity": c("integer", lambda r: r["entity"]),
            "status": c("text", lambda r: r["orderStatus"]),
            "externalid": c("text", lambda r: r.get("externalId")),
            "otherrefnum": c("text", lambda r: r.get("otherRefNum")),
            "memo": c("text", lambda r: r.get("memo")),
            "currency": c("integer", lambda r: r["currency"]),
            "foreigntotal": c("decimal", self._order_total),
            "createddate": c("datetime", lambda r: r["createdDate"]),
            "lastmodifieddate": c("datetime", lambda r: r["lastModifiedDate"]),
        }
        subsidiary_columns = {
            "id": c("integer", lambda r: r["id"]),
            "name": c("text", lambda r: r["name"]),
            "fullname": c("text", self._subsidiary_full_name),
            "parent": c("integer", lambda r: r.get("parent")),
            "currency": c("integer", lambda r: r["currency"]),
            "country": c("text", lambda r: r["country"]),
            "isinactive": c("boolean", lambda r: r["isInactive"]),
            "iselimination": c("boolean", lambda r: False),
        }
        currency_columns = {
            "id": c("integer", lambda r: r["id"]),
            "name": c("text", lambda r: r["name"]),
            "symbol": c("text", lambda r: r["symbol"]),
            "displaysymbol": c("text", lambda r: r["displaySymbol"]),
            "isbasecurrency": c("boolean", lambda r: r["isBaseCurrency"]),
            "isinactive": c("boolean", lambda r: r["isInactive"]),
            "exchangerate": c("decimal", lambda r: r["exchangeRate"]),
        }
        return {
            "item": query.Table("item", item_columns, items, fmt),
            "customer": query.Table("customer", customer_columns,
                                    lambda: store.tables["customer"].values(), fmt),
            "transaction": query.Table("transaction", transaction_columns,
                                       lambda: store.tables["salesOrder"].values(), fmt),
            "subsidiary": query.Table("subsidiary", subsidiary_columns,
                                      lambda: store.tables["subsidiary"].values(), fmt),
            "currency": query.Table("currency", currency_columns,
                                    lambda: store.tables["currency"].values(), fmt),
        }  # fmt: skip

    # ------------------------------------------------------------------ seed
    def _seed_reference_data(self) -> None:
        for cid, name, symbol, display, precision, rate in _CURRENCIES:
            self._store.put("currency", {
                "id": cid, "name": name, "symbol": symbol, "displaySymbol": display,
                "currencyPrecision": precision, "exchangeRate": rate,
                "isBaseCurrency": cid == "1", "isInactive": False,
            })  # fmt: skip
        for sid, name, parent, currency_id, country, legal in _SUBSIDIARIES:
            self._store.put("subsidiary", {
                "id": sid, "name": name, "parent": parent, "currency": currency_id,
                "country": country, "legalName": legal, "isInactive": False,
            })  # fmt: skip

    def _seed_demo_world(self) -> None:
        for product in demo_data.PRODUCTS:
            record_type = "serviceSaleItem" if product.product_type == "DIEN" else "inventoryItem"
            base_price = product.list_prices.get("GBP")
            record = {
                "id": self._store.new_id(record_type),
                "itemId": product.material,
                "displayName": product.name,
                "salesDescription": product.name,
                "rate": Decimal(base_price) if base_price is not None else None,
                "prices": dict(product.list_prices),
                "isInactive": not product.active,
                "baseUnit": product.base_unit,
                "subsidiary": ["1"],
                "externalId": None,
                "createdDate": SEED_CLOCK,
                "lastModifiedDate": SEED_CLOCK,
            }
            self._store.put(record_type, record)
        uk_currency = self._store.tables["subsidiary"][_UK_SUBSIDIARY]["currency"]
        for account in demo_data.ACCOUNTS:
            if account.selling_entity != "ACME-UK":
                continue
            address_id = self._store.next_address_id
            self._store.next_address_id += 1
            customer: Record = {
                "id": self._store.new_id("customer"),
                "externalId": None,
                "entityId": account.name,
                "companyName": account.name,
                "isPerson": False,
                "isInactive": False,
                "subsidiary": _UK_SUBSIDIARY,
                "currency": uk_currency,
                "email": f"accounts@{account.website}",
                "url": f"https://{account.website}",
                "vatRegNumber": account.tax_id,
                "addressBook": [{
                    "id": address_id, "label": account.street, "defaultBilling": True,
                    "defaultShipping": True, "isResidential": False,
                    "addressBookAddress": {
                        "addressee": account.name, "addr1": account.street,
                        "city": account.city, "zip": account.postal_code,
                        "country": account.country,
                    },
                }],
                "dateCreated": SEED_CLOCK,
                "lastModifiedDate": SEED_CLOCK,
                "creditHoldOverride": (
                    "ON" if account.name == demo_data.NETSUITE_CREDIT_HOLD_ACCOUNT else "AUTO"
                ),
                "creditLimit": None,
                "balance": Decimal(0),
            }  # fmt: skip
            self._store.put("customer", customer)


def _on_credit_hold(customer: Record) -> bool:
    """NetSuite's credit hold: forced on, or automatic with the balance over the limit."""
    override = customer.get("creditHoldOverride", "AUTO")
    if override != "AUTO":
        return bool(override == "ON")
    limit = customer.get("creditLimit")
    return limit is not None and customer.get("balance", Decimal(0)) > limit


def _custom_value(kind: str, value: Any, path: str) -> Any:
    if value is None:
        return None
    if kind == "integer":
        number = _decimal(value, path)
        if number is None or number != number.to_integral_value():
            raise _invalid_value(path)
        return int(number)
    return _string(value, path)


def _check_names(record_type: str, body: Mapping[str, Any], headers: Mapping[str, str]) -> None:
    validation = fields.mode(headers)
    if validation is None:
        raise NetSuiteError(
            400,
            "Invalid header value. X-NetSuite-PropertyNameValidation takes Error, Warning or "
            "Ignore.",
            "INVALID_HEADER",
            ("o:errorHeader", "X-NetSuite-PropertyNameValidation"),
        )
    wrong = fields.unknown(record_type, body)
    if wrong and validation == "Error":
        raise NetSuiteError(
            400,
            f"Invalid content in the request body. The record type {record_type} has no field "
            f"'{wrong[0].rsplit('.', 1)[-1]}'.",
            "INVALID_CONTENT",
            ("o:errorPath", wrong[0]),
        )
    if wrong:
        _log.info("netsuite sandbox: %s fields dropped (%s): %s", record_type, validation, wrong)


def _replace_set(params: Mapping[str, str]) -> set[str]:
    return {part.strip().casefold() for part in params.get("replace", "").split(",") if part}


def _copy_record(record: Record) -> Record:
    copy: Record = {}
    for key, value in record.items():
        if isinstance(value, list):
            copy[key] = [
                {k: (dict(v) if isinstance(v, dict) else v) for k, v in item.items()}
                if isinstance(item, dict) else item
                for item in value
            ]  # fmt: skip
        elif isinstance(value, dict):
            copy[key] = dict(value)
        else:
            copy[key] = value
    return copy


# ======================================================================= ASGI

_ENCODER = msgspec.json.Encoder(decimal_format="number")


class NetSuiteSandboxApp(asgi.SandboxASGIApp[NetSuiteSandbox]):
    """The ASGI application serving a :class:`NetSuiteSandbox`."""

    def path_fallback(self, path: str) -> str:
        return path  # the decoded path, as it is

    async def respond(self, request: asgi.SandboxRequest, send: asgi.Send) -> None:
        head = request.method == "HEAD"  # answered as a GET, without the body
        reply = self.sandbox.handle("GET" if head else request.method, request.path,
                                    request.query, request.headers, request.body,
                                    request.base_url)  # fmt: skip
        await asgi.send_json(send, reply, _ENCODER, content_type=reply.content_type, head=head,
                             bare_204=True)  # fmt: skip


def create_app(sandbox: NetSuiteSandbox | None = None) -> NetSuiteSandboxApp:
    """An ASGI app serving ``sandbox`` (a freshly seeded one by default)."""
    return NetSuiteSandboxApp(sandbox if sandbox is not None else NetSuiteSandbox())
