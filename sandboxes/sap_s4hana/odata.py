"""OData V2 protocol helpers for the S/4HANA sandbox.

Everything here is pure: URL literal and key-predicate parsing, system query
options (``$filter``, ``$select``, ``$expand``, ``$orderby``, ...), the JSON
verbose value formats (``/Date(...)/``, decimals as strings) and the SAP
Gateway error envelope. No I/O and no knowledge of the stored data.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from operator import itemgetter
from typing import Any, Final
from urllib.parse import parse_qsl, quote

import msgspec

from sandboxes.sap_s4hana.metadata import (
    CURRENCY_CODE,
    EDM_BOOLEAN,
    EDM_DATETIME,
    EDM_DATETIMEOFFSET,
    EDM_DECIMAL,
    EDM_INT32,
    EDM_STRING,
    EntityType,
    Prop,
    Service,
)

Row = dict[str, Any]

SERVICE_ROOT: Final = "/sap/opu/odata/sap"

# ISO 4217 codes the sandbox knows, with their minor units (SAP table TCURX agrees).
CURRENCY_DECIMALS: Final[dict[str, int]] = {
    "AED": 2, "ARS": 2, "AUD": 2, "BGN": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CLP": 0,
    "CNY": 2, "COP": 2, "CZK": 2, "DKK": 2, "EGP": 2, "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2,
    "IDR": 2, "ILS": 2, "INR": 2, "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3, "MXN": 2,
    "MYR": 2, "NOK": 2, "NZD": 2, "OMR": 3, "PHP": 2, "PLN": 2, "QAR": 2, "RON": 2, "SAR": 2,
    "SEK": 2, "SGD": 2, "THB": 2, "TND": 3, "TRY": 2, "TWD": 2, "UAH": 2, "USD": 2, "VND": 0,
    "ZAR": 2,
}

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_DATE_RE: Final = re.compile(r"^/Date\((-?\d+)(?:([+-])(\d{4}))?\)/$")


# -- errors -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    code: str
    message: str
    propertyref: str = ""
    target: str = ""


class ODataError(Exception):
    """An error answered with SAP Gateway's JSON error envelope."""

    def __init__(
        self, status: int, code: str, message: str, details: Iterable[ErrorDetail] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = list(details) or [ErrorDetail(code, message)]


def bad_request(message: str, code: str = "/IWBEP/CM_MGW_RT/022") -> ODataError:
    return ODataError(400, code, message)


def not_found(etype: EntityType) -> ODataError:
    """What Gateway answers for a key that does not exist (it names the entity *type*)."""
    return ODataError(404, "/IWBEP/CM_MGW_RT/020",
                      f"Resource not found for segment '{etype.name}'")


def error_document(error: ODataError, service: Service | None, now: datetime) -> bytes:
    """SAP Gateway's ``{"error": ...}`` envelope for ``error``."""
    application = {
        "component_id": service.component_id if service else "",
        "service_namespace": "/SAP/",
        "service_id": service.name if service else "",
        "service_version": "0001",
    }
    body = {
        "error": {
            "code": error.code,
            "message": {"lang": "en", "value": error.message},
            "innererror": {
                "application": application,
                "transactionid": secrets.token_hex(16).upper(),
                "timestamp": now.astimezone(UTC).strftime("%Y%m%d%H%M%S.%f0"),
                "Error_Resolution": {
                    "SAP_Transaction": (
                        "For backend administrators: use ADT feed reader"
                        ' "SAP Gateway Error Log" or run transaction /IWFND/ERROR_LOG'
                        " on SAP Gateway hub system and search for entries with the"
                        " timestamp above for more details"
                    ),
                    "SAP_Note": (
                        "See SAP Note 1797736 for error analysis"
                        " (https://service.sap.com/sap/support/notes/1797736)"
                    ),
                },
                "errordetails": [
                    {
                        "code": d.code,
                        "message": d.message,
                        "propertyref": d.propertyref,
                        "severity": "error",
                        "target": d.target,
                        "transition": False,
                    }
                    for d in error.details
                ],
            },
        }
    }
    return msgspec.json.encode(body)


# -- wire formats ---------------------------------------------------------------------------


def epoch_ms(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(milliseconds=1)


def etag(etype: EntityType, row: Row) -> str | None:
    """The entity's ETag from its ``ConcurrencyMode="Fixed"`` properties, as SAP Gateway
    writes it: a weak tag of the URI literals, ``W/"datetimeoffset'2026-11-27T08%3A30%3A00.
    1234567Z'"`` (colons escaped); None for types without a concurrency token."""
    parts = []
    for prop in etype.props:
        if not prop.concurrency:
            continue
        value = row[prop.name]
        if isinstance(value, datetime):
            stamp = value.astimezone(UTC)
            text = stamp.strftime("%Y-%m-%dT%H:%M:%S") + f".{stamp.microsecond:06d}0Z"
            prefix = "datetimeoffset" if prop.edm == EDM_DATETIMEOFFSET else "datetime"
            parts.append(f"{prefix}'{quote(text, safe='-.T')}'")
        else:
            parts.append(literal(value))
    return f'W/"{",".join(parts)}"' if parts else None


def _plain(value: Decimal) -> str:
    text = format(value, "f")
    return text if text != "-0" else "0"


def quantize(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


Formatter = Callable[[Row], Any]


def _decimal_formatter(etype: EntityType, prop: Prop) -> Formatter:
    name = prop.name
    scale = prop.scale or 0
    unit = etype.prop_map.get(prop.unit) if prop.unit else None

    if unit is not None and unit.semantics == CURRENCY_CODE:
        unit_name = unit.name

        def amount(row: Row) -> Any:
            value = row[name]
            if value is None:
                return None
            places = CURRENCY_DECIMALS.get(row[unit_name], min(scale, 2))
            return _plain(quantize(value, places))

        return amount
    if unit is not None:

        def measure(row: Row) -> Any:
            value = row[name]
            return None if value is None else _plain(value.normalize())

        return measure

    def scaled(row: Row) -> Any:
        value = row[name]
        return None if value is None else _plain(quantize(value, scale))

    return scaled


def _formatter(etype: EntityType, prop: Prop) -> Formatter:
    name = prop.name
    if prop.edm == EDM_DECIMAL:
        return _decimal_formatter(etype, prop)
    if prop.edm == EDM_DATETIME:
        return lambda row: None if row[name] is None else f"/Date({epoch_ms(row[name])})/"
    if prop.edm == EDM_DATETIMEOFFSET:
        return lambda row: None if row[name] is None else f"/Date({epoch_ms(row[name])}+0000)/"
    return lambda row: row[name]


def formatters(etype: EntityType) -> list[tuple[str, Formatter]]:
    """Per property (in declaration order): name and a function producing its JSON value."""
    return [(p.name, _formatter(etype, p)) for p in etype.props]


def default_value(prop: Prop) -> Any:
    """What S/4HANA shows for a property nobody filled (ABAP initial values)."""
    if prop.edm == EDM_STRING:
        return ""
    if prop.edm == EDM_BOOLEAN:
        return False
    if prop.edm == EDM_DECIMAL:
        return Decimal(0)
    if prop.edm == EDM_INT32:
        return 0
    return None


def _parse_datetime_text(text: str, offset_allowed: bool) -> datetime | None:
    match = _DATE_RE.match(text)
    if match:
        value = _EPOCH + timedelta(milliseconds=int(match.group(1)))
        if match.group(2):
            minutes = int(match.group(3)[:2]) * 60 + int(match.group(3)[2:])
            value -= timedelta(minutes=minutes if match.group(2) == "+" else -minutes)
        return value
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    if not offset_allowed and parsed.utcoffset() != timedelta(0):
        return None
    return parsed.astimezone(UTC)


def from_wire(prop: Prop, raw: Any, where: str) -> Any:
    """Validate and convert one JSON payload value of ``prop``; ``where`` names it in errors."""
    if raw is None:
        if not prop.nullable:
            raise bad_request(f"Property '{prop.name}' of {where} must not be null")
        return default_value(prop)
    edm = prop.edm
    if edm == EDM_STRING:
        if not isinstance(raw, str):
            raise bad_request(f"Property '{prop.name}' of {where} must be a string")
        if prop.max_length is not None and len(raw) > prop.max_length:
            raise bad_request(
                f"Value '{raw}' of property '{prop.name}' of {where} exceeds the maximum"
                f" length of {prop.max_length}"
            )
        return raw
    if edm == EDM_BOOLEAN:
        if not isinstance(raw, bool):
            raise bad_request(f"Property '{prop.name}' of {where} must be a boolean")
        return raw
    if edm == EDM_DECIMAL:
        return _decimal_from_wire(prop, raw, where)
    if edm in (EDM_DATETIME, EDM_DATETIMEOFFSET):
        parsed = (
            _parse_datetime_text(raw, edm == EDM_DATETIMEOFFSET) if isinstance(raw, str) else None
        )
        if parsed is None:
            raise bad_request(f"Invalid {edm} value for property '{prop.name}' of {where}")
        if prop.display_format == "Date":
            parsed = parsed.replace(hour=0, minute=0, second=0, microsecond=0)
        return parsed
    if edm == EDM_INT32:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise bad_request(f"Property '{prop.name}' of {where} must be an integer")
        return raw
    raise bad_request(f"Property '{prop.name}' has an unsupported type")  # pragma: no cover


def _decimal_from_wire(prop: Prop, raw: Any, where: str) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal):
        raise bad_request(f"Property '{prop.name}' of {where} must be an Edm.Decimal string")
    try:
        value = Decimal(raw.strip()) if isinstance(raw, str) else Decimal(raw)
    except InvalidOperation:
        raise bad_request(
            f"Value '{raw}' of property '{prop.name}' of {where} is not a decimal number"
        ) from None
    if not value.is_finite():
        raise bad_request(f"Value '{raw}' of property '{prop.name}' of {where} is not finite")
    exponent = value.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if prop.scale is not None and places > prop.scale:
        stripped = value.normalize()
        exp2 = stripped.as_tuple().exponent
        if isinstance(exp2, int) and -exp2 > prop.scale:
            raise bad_request(
                f"Value '{raw}' of property '{prop.name}' of {where} has more than"
                f" {prop.scale} decimal places"
            )
    return value


# -- URL literals, keys and resource paths ------------------------------------------------


def literal(value: Any) -> str:
    """URL literal of a key value (keys in this sandbox are strings)."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def key_predicate(etype: EntityType, row: Row) -> str:
    if len(etype.keys) == 1:
        text = literal(row[etype.keys[0]])
    else:
        text = ",".join(f"{k}={literal(row[k])}" for k in etype.keys)
    return "(" + quote(text, safe="'=,:@!$*;+-_.~") + ")"


def split_segment(segment: str) -> tuple[str, str | None]:
    """``A_Product('X')`` -> (``A_Product``, ``'X'``); ``A_Product`` -> (``A_Product``, None)."""
    paren = segment.find("(")
    if paren < 0:
        return segment, None
    if not segment.endswith(")"):
        raise bad_request(f"Invalid key predicate in resource segment '{segment}'")
    return segment[:paren], segment[paren + 1 : -1]


def _split_key_parts(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    in_string = False
    i = 0
    while i < len(text):
        char = text[i]
        if char == "'":
            if in_string and i + 1 < len(text) and text[i + 1] == "'":
                current.append("''")
                i += 2
                continue
            in_string = not in_string
        if char == "," and not in_string:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    if in_string:
        raise bad_request(f"Unterminated string in key predicate ({text})")
    parts.append("".join(current))
    return parts


def _key_value(prop: Prop, text: str, segment: str) -> Any:
    text = text.strip()
    if prop.edm == EDM_STRING:
        if len(text) < 2 or text[0] != "'" or text[-1] != "'":
            raise bad_request(
                f"Invalid key predicate for '{segment}': {prop.name} needs a string literal"
            )
        return text[1:-1].replace("''", "'")
    raise bad_request(f"Unsupported key type for '{segment}'")  # pragma: no cover


def parse_key(etype: EntityType, text: str) -> tuple[Any, ...]:
    """Parse a key predicate (without parentheses) into a key tuple in key order."""
    parts = _split_key_parts(text)
    if len(etype.keys) == 1 and len(parts) == 1 and "=" not in parts[0].split("'")[0]:
        return (_key_value(etype.prop_map[etype.keys[0]], parts[0], etype.set_name),)
    values: dict[str, Any] = {}
    for part in parts:
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in etype.keys or name in values:
            raise bad_request(f"Invalid key predicate ({text}) for entity set '{etype.set_name}'")
        values[name] = _key_value(etype.prop_map[name], value, etype.set_name)
    if len(values) != len(etype.keys):
        raise bad_request(f"Key predicate ({text}) does not name all keys of '{etype.set_name}'")
    return tuple(values[k] for k in etype.keys)


# -- system query options -------------------------------------------------------------------

_KNOWN_OPTIONS: Final = frozenset(
    {
        "$filter", "$top", "$skip", "$select", "$expand", "$orderby", "$inlinecount",
        "$format", "$skiptoken",
    }
)


@dataclass(slots=True)
class QueryOptions:
    pairs: list[tuple[str, str]] = field(default_factory=list)
    filter: str | None = None
    top: int | None = None
    skip: int = 0
    select: str | None = None
    expand: str | None = None
    orderby: str | None = None
    inlinecount: bool = False
    format: str | None = None
    skiptoken: int = 0


def _non_negative(name: str, value: str) -> int:
    if not value.isdigit():
        raise bad_request(f"Invalid value '{value}' for system query option {name}")
    return int(value)


def parse_query(query_string: str) -> QueryOptions:
    options = QueryOptions()
    options.pairs = parse_qsl(query_string, keep_blank_values=True)
    for name, value in options.pairs:
        if not name.startswith("$"):
            continue  # custom query options (sap-client, sap-language, ...) are ignored
        if name not in _KNOWN_OPTIONS:
            raise bad_request(f"System query option '{name}' is not supported")
        if name == "$filter":
            options.filter = value
        elif name == "$top":
            options.top = _non_negative(name, value)
        elif name == "$skip":
            options.skip = _non_negative(name, value)
        elif name == "$skiptoken":
            options.skiptoken = _non_negative(name, value)
        elif name == "$select":
            options.select = value
        elif name == "$expand":
            options.expand = value
        elif name == "$orderby":
            options.orderby = value
        elif name == "$inlinecount":
            if value not in ("allpages", "none"):
                raise bad_request(f"Invalid value '{value}' for system query option $inlinecount")
            options.inlinecount = value == "allpages"
        else:
            options.format = value
    return options


def next_link(url_base: str, options: QueryOptions, skiptoken: int) -> str:
    """``__next`` URL: the same request with ``$skiptoken`` moved on."""
    kept = [(k, v) for k, v in options.pairs if k != "$skiptoken"]
    kept.append(("$skiptoken", str(skiptoken)))
    query = "&".join(f"{quote(k, safe='$')}={quote(v, safe=chr(39) + '(),/:$*')}" for k, v in kept)
    return f"{url_base}?{query}"


def _paths(value: str | None) -> list[list[str]]:
    if value is None:
        return []
    return [[s.strip() for s in item.split("/")] for item in value.split(",") if item.strip()]


@dataclass(slots=True)
class Projection:
    """What to render of an entity: selected properties, and which navigations to expand."""

    props: frozenset[str] | None = None  # None: all properties
    deferred: frozenset[str] | None = None  # None: every navigation that is not expanded
    expand: dict[str, Projection] = field(default_factory=dict)


ALL = Projection()


def build_projection(
    service: Service, etype: EntityType, select: str | None, expand: str | None
) -> Projection:
    return _projection(service, etype, _paths(select) if select is not None else None,
                       _paths(expand))


def _projection(
    service: Service,
    etype: EntityType,
    select: list[list[str]] | None,
    expand: list[list[str]],
) -> Projection:
    expand_children: dict[str, list[list[str]]] = {}
    for path in expand:
        head = path[0]
        if head not in etype.nav_map:
            raise bad_request(
                f"Navigation property '{head}' in $expand is not defined for"
                f" '{etype.name}'"
            )
        rest = path[1:]
        expand_children.setdefault(head, [])
        if rest:
            expand_children[head].append(rest)

    child_select: dict[str, list[list[str]] | None] = {}
    props: set[str] | None = None
    deferred: set[str] | None = None
    if select is not None:
        props, deferred = set(), set()
        for path in select:
            head = path[0]
            if head == "*" and len(path) == 1:
                props.update(etype.prop_map)
            elif head in etype.prop_map and len(path) == 1:
                props.add(head)
            elif head in etype.nav_map:
                if len(path) == 1:
                    child_select[head] = None
                    deferred.add(head)
                elif head not in expand_children:
                    raise bad_request(
                        f"$select path '{'/'.join(path)}' needs '{head}' in $expand"
                    )
                else:
                    current = child_select.setdefault(head, [])
                    if current is not None:
                        current.append(path[1:])
            else:
                raise bad_request(
                    f"Property '{'/'.join(path)}' in $select is not defined for '{etype.name}'"
                )
    expanded = {
        name: _projection(
            service, service.type_map[etype.nav_map[name].target],
            child_select.get(name), rest,
        )
        for name, rest in expand_children.items()
    }
    return Projection(
        props=frozenset(props) if props is not None else None,
        deferred=frozenset(deferred) if deferred is not None else None,
        expand=expanded,
    )


def parse_orderby(etype: EntityType, value: str | None) -> list[tuple[str, bool]]:
    """``$orderby`` as a list of (property, descending)."""
    if not value:
        return []
    result = []
    for item in value.split(","):
        words = item.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise bad_request(f"Invalid $orderby expression '{item.strip()}'")
        if words[0] not in etype.prop_map:
            raise bad_request(f"Property '{words[0]}' in $orderby is not defined for"
                              f" '{etype.name}'")
        result.append((words[0], len(words) == 2 and words[1] == "desc"))
    return result


def sort_rows(rows: list[Row], orderby: list[tuple[str, bool]]) -> list[Row]:
    for name, descending in reversed(orderby):
        present = [r for r in rows if r[name] is not None]
        missing = [r for r in rows if r[name] is None]
        present.sort(key=itemgetter(name), reverse=descending)
        rows = missing + present if not descending else present + missing
    return rows


# -- $filter --------------------------------------------------------------------------------

_TOKEN_RE: Final = re.compile(
    r"""
    (?P<ws>\s+)
    | (?P<typed>(?:datetimeoffset|datetime|guid|time|X|binary)'(?:[^']|'')*')
    | (?P<string>'(?:[^']|'')*')
    | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMlLdDfF]?)
    | (?P<punct>[(),])
    | (?P<name>[A-Za-z_][A-Za-z0-9_./]*)
    """,
    re.VERBOSE,
)

_COMPARISONS: Final = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})
_ORDERED_TYPES: Final = frozenset({"string", "number", "datetime"})
_EDM_KIND: Final = {
    EDM_STRING: "string",
    EDM_DECIMAL: "number",
    EDM_INT32: "number",
    EDM_BOOLEAN: "bool",
    EDM_DATETIME: "datetime",
    EDM_DATETIMEOFFSET: "datetime",
}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    value: Any = None


Evaluator = Callable[[Row], Any]


@dataclass(frozen=True, slots=True)
class _Expr:
    kind: str  # string | number | bool | datetime | null
    fn: Evaluator
    prop: str | None = None  # set when the expression is a bare property
    constant: bool = False


@dataclass(frozen=True, slots=True)
class CompiledFilter:
    predicate: Callable[[Row], bool]
    # (property, value) pairs that every match must equal: usable with an equality index
    equalities: tuple[tuple[str, Any], ...] = ()


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if not match:
            raise bad_request(f"Invalid $filter expression: unexpected '{text[pos:pos + 10]}'")
        pos = match.end()
        kind = match.lastgroup or ""
        chunk = match.group()
        if kind == "ws":
            continue
        if kind == "string":
            tokens.append(_Token("string", chunk, chunk[1:-1].replace("''", "'")))
        elif kind == "typed":
            prefix, _, rest = chunk.partition("'")
            tokens.append(_Token(prefix, chunk, rest[:-1].replace("''", "'")))
        elif kind == "number":
            digits = chunk.rstrip("mMlLdDfF")
            tokens.append(_Token("number", chunk, Decimal(digits)))
        else:
            tokens.append(_Token(kind, chunk))
    return tokens


class _FilterParser:
    def __init__(self, etype: EntityType, text: str) -> None:
        self.etype = etype
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0
        self.equalities: list[tuple[str, Any]] = []

    def error(self, message: str) -> ODataError:
        return bad_request(f"Invalid $filter expression '{self.text}': {message}")

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise self.error("unexpected end of expression")
        self.pos += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise self.error(f"expected '{text}' but found '{token.text}'")

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token is not None and token.kind == "name" and token.text in words:
            self.pos += 1
            return token.text
        return None

    def parse(self) -> CompiledFilter:
        expr = self.parse_or(top=True)
        if self.peek() is not None:
            raise self.error(f"unexpected '{self.take().text}'")
        if expr.kind != "bool":
            raise self.error("the expression is not a boolean condition")
        fn = expr.fn
        return CompiledFilter(lambda row: fn(row) is True, tuple(self.equalities))

    def parse_or(self, top: bool = False) -> _Expr:
        left = self.parse_and(top)
        while self.keyword("or"):
            right = self.parse_and(False)
            self.require_bool(left, right)
            left = _Expr("bool", _either(left.fn, right.fn))
            if top:
                self.equalities.clear()
                top = False
        return left

    def parse_and(self, top: bool) -> _Expr:
        left = self.parse_not(top)
        while self.keyword("and"):
            right = self.parse_not(top)
            self.require_bool(left, right)
            left = _Expr("bool", _both(left.fn, right.fn))
        return left

    def parse_not(self, top: bool) -> _Expr:
        if self.keyword("not"):
            operand = self.parse_not(False)
            self.require_bool(operand)
            fn = operand.fn
            return _Expr("bool", lambda row: fn(row) is not True)
        return self.parse_comparison(top)

    def require_bool(self, *exprs: _Expr) -> None:
        if any(e.kind != "bool" for e in exprs):
            raise self.error("'and', 'or' and 'not' need boolean operands")

    def parse_comparison(self, top: bool) -> _Expr:
        left = self.parse_primary()
        operator = self.keyword(*_COMPARISONS)
        if operator is None:
            return left
        right = self.parse_primary()
        self.check_operands(operator, left, right)
        if top and operator == "eq":
            if left.prop and right.constant:
                self.equalities.append((left.prop, right.fn({})))
            elif right.prop and left.constant:
                self.equalities.append((right.prop, left.fn({})))
        return _Expr("bool", _comparison(operator, left.fn, right.fn))

    def check_operands(self, operator: str, left: _Expr, right: _Expr) -> None:
        kinds = {left.kind, right.kind}
        if "null" in kinds:
            if operator not in ("eq", "ne"):
                raise self.error(f"operator '{operator}' cannot compare with null")
            return
        if left.kind != right.kind:
            raise self.error(
                f"operator '{operator}' is incompatible with operand types {left.kind} and"
                f" {right.kind}"
            )
        if operator not in ("eq", "ne") and left.kind not in _ORDERED_TYPES:
            raise self.error(f"operator '{operator}' is not defined for {left.kind} operands")

    def parse_primary(self) -> _Expr:
        token = self.take()
        if token.text == "(":
            inner = self.parse_or()
            self.expect(")")
            return inner
        if token.kind == "string":
            return _constant("string", token.value)
        if token.kind == "number":
            return _constant("number", token.value)
        if token.kind in ("datetime", "datetimeoffset"):
            parsed = _parse_datetime_text(token.value, True)
            if parsed is None:
                raise self.error(f"invalid literal {token.text}")
            return _constant("datetime", parsed)
        if token.kind in ("guid", "time", "X", "binary"):
            raise self.error(f"{token.kind} literals are not supported")
        if token.kind != "name":
            raise self.error(f"unexpected '{token.text}'")
        if token.text in ("true", "false"):
            return _constant("bool", token.text == "true")
        if token.text == "null":
            return _constant("null", None)
        nxt = self.peek()
        if nxt is not None and nxt.text == "(":
            return self.parse_function(token.text)
        return self.parse_property(token.text)

    def parse_property(self, name: str) -> _Expr:
        if "/" in name:
            raise self.error(f"navigation paths such as '{name}' are not supported")
        prop = self.etype.prop_map.get(name)
        if prop is None:
            raise self.error(f"property '{name}' is not defined for '{self.etype.name}'")
        kind = _EDM_KIND[prop.edm]
        return _Expr(kind, lambda row: row[name], prop=name)

    def parse_function(self, name: str) -> _Expr:
        self.expect("(")
        args: list[_Expr] = []
        token = self.peek()
        if token is not None and token.text != ")":
            args.append(self.parse_or())
            while (token := self.peek()) is not None and token.text == ",":
                self.take()
                args.append(self.parse_or())
        self.expect(")")
        spec = _FUNCTIONS.get(name)
        if spec is None:
            raise self.error(f"function '{name}' is not supported")
        result_kind, arg_kinds, impl = spec
        if len(args) not in arg_kinds:
            raise self.error(f"function '{name}' takes {' or '.join(map(str, arg_kinds))}"
                             " arguments")
        expected = arg_kinds[len(args)]
        for arg, kind in zip(args, expected, strict=True):
            if arg.kind != kind and arg.kind != "null":
                raise self.error(f"function '{name}' expects {kind} arguments")
        fns = [a.fn for a in args]
        return _Expr(result_kind, lambda row: impl(*[f(row) for f in fns]))


def _either(a: Evaluator, b: Evaluator) -> Evaluator:
    return lambda row: a(row) is True or b(row) is True


def _both(a: Evaluator, b: Evaluator) -> Evaluator:
    return lambda row: a(row) is True and b(row) is True


def _constant(kind: str, value: Any) -> _Expr:
    return _Expr(kind, lambda _row: value, constant=True)


def _comparison(operator: str, left: Evaluator, right: Evaluator) -> Callable[[Row], bool]:
    if operator == "eq":
        return lambda row: bool(left(row) == right(row))
    if operator == "ne":
        return lambda row: bool(left(row) != right(row))

    def ordered(row: Row) -> bool:
        a, b = left(row), right(row)
        if a is None or b is None:
            return False
        if operator == "gt":
            return bool(a > b)
        if operator == "ge":
            return bool(a >= b)
        if operator == "lt":
            return bool(a < b)
        return bool(a <= b)

    return ordered


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def _substring(text: Any, start: Any, length: Any = None) -> str:
    begin = int(start)
    return _s(text)[begin:] if length is None else _s(text)[begin : begin + int(length)]


_STR2 = ("string", "string")
_FUNCTIONS: Final[dict[str, tuple[str, dict[int, tuple[str, ...]], Callable[..., Any]]]] = {
    "substringof": ("bool", {2: _STR2}, lambda a, b: _s(a) in _s(b)),
    "startswith": ("bool", {2: _STR2}, lambda a, b: _s(a).startswith(_s(b))),
    "endswith": ("bool", {2: _STR2}, lambda a, b: _s(a).endswith(_s(b))),
    "tolower": ("string", {1: ("string",)}, lambda a: _s(a).lower()),
    "toupper": ("string", {1: ("string",)}, lambda a: _s(a).upper()),
    "trim": ("string", {1: ("string",)}, lambda a: _s(a).strip()),
    "length": ("number", {1: ("string",)}, lambda a: Decimal(len(_s(a)))),
    "concat": ("string", {2: _STR2}, lambda a, b: _s(a) + _s(b)),
    "indexof": ("number", {2: _STR2}, lambda a, b: Decimal(_s(a).find(_s(b)))),
    "substring": (
        "string",
        {2: ("string", "number"), 3: ("string", "number", "number")},
        _substring,
    ),
}


def compile_filter(etype: EntityType, text: str) -> CompiledFilter:
    """Compile a ``$filter`` expression against ``etype``; raises 400 ``ODataError``."""
    return _FilterParser(etype, text).parse()
