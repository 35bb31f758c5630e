"""Stripe's request parameter layer: the form encoding and the validation of its values.

Stripe v1 takes ``application/x-www-form-urlencoded`` bodies (and query strings) with
Rack-style nested keys: ``metadata[order_id]=ord_1`` builds a hash,
``lines[0][amount]=100`` an indexed array and ``expand[]=lines`` an appended one.
:func:`parse_form` turns such pairs into nested dicts and lists;
:func:`bind` checks them against an endpoint's declared parameters and answers the
error envelopes Stripe uses (``parameter_unknown``, ``parameter_missing``,
``parameter_invalid_integer``, ``parameter_invalid_empty``, ...).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import parse_qsl

__all__ = [
    "CURRENCIES",
    "THREE_DECIMAL_CURRENCIES",
    "ZERO_DECIMAL_CURRENCIES",
    "Field",
    "FormError",
    "ParamError",
    "bind",
    "format_amount",
    "join_choices",
    "minor_unit_exponent",
    "parse_form",
]


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Stripe's presentment currencies (lower-case ISO 4217, as the API spells them).
CURRENCIES: frozenset[str] = _codes("""
usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp
byn bzd cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel gip
gmd gnf gtq gyd hkd hnl htg huf idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd kyd kzt
lak lbp lkr lrd lsl mad mdl mga mkd mmk mnt mop mur mvr mwk mxn myr mzn nad ngn nio nok npr
nzd omr pab pen pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sek sgd shp sle sos srd
std szl thb tjs top try ttd twd tzs uah ugx uyu uzs vnd vuv wst xaf xcd xof xpf yer zar zmw
""")
# "Zero-decimal" currencies: amounts are whole units, there is no minor unit.
ZERO_DECIMAL_CURRENCIES: frozenset[str] = _codes(
    "bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf"
)
# Three-decimal currencies: amounts in thousandths, and the last digit must be 0.
THREE_DECIMAL_CURRENCIES: frozenset[str] = _codes("bhd jod kwd omr tnd")
_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "cad": "$", "aud": "$"}


def minor_unit_exponent(currency: str) -> int:
    """How many decimal places an amount in ``currency`` carries in the API."""
    if currency in ZERO_DECIMAL_CURRENCIES:
        return 0
    if currency in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def format_amount(amount: int, currency: str) -> str:
    """``1050, 'usd'`` -> ``$10.50``; ``500, 'jpy'`` -> ``¥500`` (as Stripe's messages do)."""
    exponent = minor_unit_exponent(currency)
    sign = "-" if amount < 0 else ""
    whole, part = divmod(abs(amount), 10**exponent) if exponent else (abs(amount), 0)
    number = f"{whole:,}" + (f".{part:0{exponent}d}" if exponent else "")
    symbol = _SYMBOLS.get(currency)
    if symbol:
        return f"{sign}{symbol}{number}"
    return f"{sign}{number} {currency.upper()}"


def join_choices(choices: tuple[str, ...]) -> str:
    """Stripe's enumeration wording: ``a or b``; ``a, b, or c``."""
    if len(choices) <= 2:
        return " or ".join(choices)
    return ", ".join(choices[:-1]) + f", or {choices[-1]}"


# ========================================================================= errors


class ParamError(Exception):
    """A request that failed parameter validation (400, never stored for idempotency)."""

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


class FormError(ParamError):
    """The body could not be decoded at all."""


def _unknown(path: str) -> ParamError:
    return ParamError(
        f"Received unknown parameter: {path}", param=path, code="parameter_unknown"
    )


def _invalid_empty(path: str) -> ParamError:
    return ParamError(
        f"You passed an empty string for '{path}'. We assume empty values are an attempt to "
        f"unset a parameter; however '{path}' cannot be unset. You should remove '{path}' "
        "from your request or supply a non-empty value.",
        param=path,
        code="parameter_invalid_empty",
    )


def missing(path: str) -> ParamError:
    return ParamError(f"Missing required param: {path}.", param=path, code="parameter_missing")


# ==================================================================== form decoding

_KEY_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT_RE = re.compile(r"\[([^\[\]]*)\]")


def parse_form(text: str) -> dict[str, Any]:
    """Decode ``a[b][0][c]=v&expand[]=x`` pairs into nested dicts and lists.

    Indexed keys (``[0]``) stay dict keys (strings) until :func:`bind` knows the
    parameter is an array; ``[]`` appends to a list. A key that is both a scalar and
    a hash is an error, as in Stripe.
    """
    root: dict[str, Any] = {}
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormError("Invalid request: the body is not valid form encoding.") from exc
    for raw_key, value in pairs:
        match = _KEY_RE.match(raw_key)
        if match is None:
            raise _unknown(raw_key)
        segments = [match[1], *_SEGMENT_RE.findall(match[2])]
        _assign(root, segments, value, raw_key)
    return root


def _assign(container: dict[str, Any], segments: list[str], value: str, raw_key: str) -> None:
    head, rest = segments[0], segments[1:]
    if not rest:
        existing = container.get(head)
        if isinstance(existing, dict | list) and value != "":
            raise ParamError("Invalid hash", param=_root_name(raw_key))
        if not isinstance(existing, dict | list):
            container[head] = value
        return
    if rest[0] == "":  # key[] appends
        current = container.get(head)
        if not isinstance(current, list):
            if isinstance(current, dict) or (isinstance(current, str) and current != ""):
                raise ParamError("Invalid array", param=_root_name(raw_key))
            current = []
            container[head] = current
        if len(rest) == 1:
            current.append(value)
            return
        # key[][sub]=v: start a new hash when the last one already has ``sub`` (Rack's rule)
        if not current or not isinstance(current[-1], dict) or rest[1] in current[-1]:
            current.append({})
        target = current[-1]
        if not isinstance(target, dict):
            raise ParamError("Invalid array", param=_root_name(raw_key))
        _assign(target, rest[1:], value, raw_key)
        return
    child = container.get(head)
    if not isinstance(child, dict):
        if isinstance(child, list) or (isinstance(child, str) and child != ""):
            raise ParamError("Invalid hash", param=_root_name(raw_key))
        child = {}
        container[head] = child
    _assign(child, rest, value, raw_key)


def _root_name(raw_key: str) -> str:
    return raw_key.split("[", 1)[0]


# ======================================================================== binding

Kind = Literal[
    "string", "integer", "boolean", "enum", "currency", "metadata", "object", "array",
    "decimal", "timestamp", "range", "any",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Field:
    """One declared parameter of an endpoint."""

    kind: Kind
    required: bool = False
    # "" means "unset" (binds to None) rather than a parameter_invalid_empty error
    unsettable: bool = False
    choices: tuple[str, ...] = ()
    fields: Mapping[str, Field] = field(default_factory=dict)  # kind == "object"
    item: Field | None = None  # kind == "array"
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None


def bind(schema: Mapping[str, Field], raw: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Validate ``raw`` against ``schema``; returns only the parameters that were sent."""
    out: dict[str, Any] = {}
    for name, value in raw.items():
        path = f"{prefix}[{name}]" if prefix else name
        spec = schema.get(name)
        if spec is None:
            raise _unknown(path)
        out[name] = _bind_value(spec, value, path)
    for name, spec in schema.items():
        if spec.required and out.get(name) is None:
            path = f"{prefix}[{name}]" if prefix else name
            if name in out:
                raise _invalid_empty(path)
            raise missing(path)
    return out


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        inner = ", ".join(f"{k}: {_describe(v)}" for k, v in value.items())
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_describe(v) for v in value) + "]"
    return str(value)


def _bind_value(spec: Field, value: Any, path: str) -> Any:
    if value == "":
        if spec.unsettable or spec.kind == "metadata":
            return None
        raise _invalid_empty(path)
    kind = spec.kind
    if kind == "any":
        return value
    if kind in ("object", "metadata", "range") and not isinstance(value, dict):
        if kind == "range" and isinstance(value, str):
            return _integer(spec, value, path)
        raise ParamError("Invalid hash", param=path)
    if kind == "array":
        return _array(spec, value, path)
    if kind == "object":
        return bind(spec.fields, value, path)
    if kind == "metadata":
        return _metadata(value, path)
    if kind == "range":
        allowed = {k: Field("integer") for k in ("gt", "gte", "lt", "lte")}
        return bind(allowed, value, path)
    if not isinstance(value, str):
        label = {"integer": "integer", "timestamp": "integer", "boolean": "boolean",
                 "decimal": "decimal"}.get(kind, "string")  # fmt: skip
        raise ParamError(f"Invalid {label}: {_describe(value)}", param=path)
    if kind in ("integer", "timestamp"):
        return _integer(spec, value, path)
    if kind == "boolean":
        if value not in ("true", "false"):
            raise ParamError(f"Invalid boolean: {value}", param=path)
        return value == "true"
    if kind == "decimal":
        return _decimal(value, path)
    if kind == "currency":
        currency = value.lower()
        if currency not in CURRENCIES:
            raise ParamError(
                f"Invalid currency: {value}. Stripe currently supports these currencies: "
                + ", ".join(sorted(CURRENCIES)),
                param=path,
            )
        return currency
    if kind == "enum":
        if value not in spec.choices:
            raise ParamError(
                f"Invalid {path}: must be one of {join_choices(spec.choices)}", param=path
            )
        return value
    if spec.max_length is not None and len(value) > spec.max_length:
        raise ParamError(
            f"Invalid string: {value[:20]}...; must be at most {spec.max_length} characters",
            param=path,
        )
    return value


_INT_RE = re.compile(r"^[+-]?\d+$")


def _integer(spec: Field, value: str, path: str) -> int:
    if not _INT_RE.match(value.strip()):
        raise ParamError(
            f"Invalid integer: {value}", param=path, code="parameter_invalid_integer"
        )
    number = int(value)
    if spec.minimum is not None and number < spec.minimum:
        raise ParamError(
            f"This value must be greater than or equal to {spec.minimum}.", param=path
        )
    if spec.maximum is not None and number > spec.maximum:
        raise ParamError(f"This value must be less than or equal to {spec.maximum}.", param=path)
    return number


def _decimal(value: str, path: str) -> Decimal:
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise ParamError(f"Invalid decimal: {value}", param=path)
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -12:
        raise ParamError(
            f"Invalid decimal: {value}; must contain at maximum 12 decimal places.", param=path
        )
    return number


def _array(spec: Field, value: Any, path: str) -> list[Any]:
    if isinstance(value, dict):
        if not all(k.isdigit() for k in value):
            raise ParamError("Invalid array", param=path)
        items = [value[k] for k in sorted(value, key=int)]
    elif isinstance(value, list):
        items = value
    else:
        raise ParamError("Invalid array", param=path)
    item = spec.item or Field("string")
    return [_bind_value(item, v, f"{path}[{i}]") for i, v in enumerate(items)]


def _metadata(value: dict[str, Any], path: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for key, item in value.items():
        if not isinstance(item, str):
            raise ParamError(
                f"Invalid value for {path}[{key}]: metadata values must be strings.",
                param=f"{path}[{key}]",
            )
        if len(key) > 40:
            raise ParamError(
                f"Metadata keys can have a maximum length of 40 characters. Invalid key: {key}",
                param=f"{path}[{key}]",
            )
        if len(item) > 500:
            raise ParamError(
                "Metadata values can have a maximum length of 500 characters.",
                param=f"{path}[{key}]",
            )
        out[key] = item or None  # "" unsets the key
    if len([v for v in out.values() if v is not None]) > 50:
        raise ParamError(
            "Metadata can have a maximum of 50 keys.", param=path
        )
    return out


def apply_metadata(current: dict[str, str], update: dict[str, str | None] | None, sent: bool) -> (
    dict[str, str]
):
    """Stripe's metadata update: merge keys, ``key=""`` removes one, ``metadata=""`` clears."""
    if not sent:
        return current
    if update is None:
        return {}
    merged = dict(current)
    for key, value in update.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged
