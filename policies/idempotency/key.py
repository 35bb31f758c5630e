"""The Idempotency-Key field value, the request fingerprint and the scoped record id."""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal

import msgspec

MAX_KEY_LENGTH = 255

# RFC 8941 Item: an sf-string with optional parameters, which the draft's
# "Item Structured Header" allows and which a parser must ignore when unknown.
_SF_STRING = r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*"'
_BARE_ITEM = (
    rf"{_SF_STRING}"
    r"|-?[0-9]{1,15}(?:\.[0-9]{1,3})?"
    r"|[A-Za-z*][!#$%&'*+.^_`|~0-9A-Za-z:/-]*"
    r"|:[A-Za-z0-9+/=]*:"
    r"|\?[01]"
)
_PARAMETERS = rf"(?:; *[a-z*][a-z0-9_.*-]*(?:=(?:{_BARE_ITEM}))?)*"
_SF_ITEM = re.compile(rf'"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"{_PARAMETERS}')
_ESCAPE = re.compile(r'\\(["\\])')
# Visible ASCII only; a bare (unquoted) value, which many clients send
# (Stripe's own examples do), must not contain a quote.
_VISIBLE = re.compile(rf"[\x21-\x7e]{{1,{MAX_KEY_LENGTH}}}")
_BARE = re.compile(rf"[\x21\x23-\x7e]{{1,{MAX_KEY_LENGTH}}}")

# The same rule as one regular expression (ECMA-262 and Python alike), for the
# OpenAPI document: a quoted key of 1-255 visible characters (\" and \\ escaped)
# with optional parameters, or a bare key without quotes; blanks around are ignored.
KEY_VALUE_PATTERN = (
    r"^[ \t]*(?:"
    rf'"(?:[\x21\x23-\x5b\x5d-\x7e]|\\["\\]){{1,{MAX_KEY_LENGTH}}}"{_PARAMETERS}'
    rf"|{_BARE.pattern}"
    r")[ \t]*$"
)


def parse_idempotency_key(value: str) -> str | None:
    """The key carried by an ``Idempotency-Key`` value, or None when it is malformed.

    ``"abc"`` (the draft's sf-string) and ``abc`` (a bare value) name the same key.
    """
    value = value.strip(" \t")
    if value.startswith('"'):
        match = _SF_ITEM.fullmatch(value)
        if match is None:
            return None
        key = _ESCAPE.sub(r"\1", match.group(1))
        return key if _VISIBLE.fullmatch(key) else None
    return value if _BARE.fullmatch(value) else None


def _digest(*parts: bytes) -> str:
    # Length-prefixed so no two different part lists hash the same input.
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


# Numbers keep their literal text (1.0 and 1.00 stay apart, huge ones are never
# rounded): canonical form only forgets what JSON itself leaves undefined.
_JSON_DECODER = msgspec.json.Decoder(float_hook=Decimal)
_JSON_ENCODER = msgspec.json.Encoder(order="sorted", decimal_format="number")


def canonical_body(body: bytes) -> tuple[bytes, bytes]:
    """(form, bytes) of a body as a fingerprint compares it.

    A JSON body is compared by meaning: member order and insignificant whitespace
    are dropped, as a client library that re-serialises its retry would change them.
    Anything else (not JSON, or JSON msgspec cannot round-trip) is compared byte for
    byte, and a raw body never equals a canonical one.
    """
    stripped = body.strip(b" \t\r\n")
    if stripped[:1] in (b"{", b"["):
        try:
            return b"json", _JSON_ENCODER.encode(_JSON_DECODER.decode(stripped))
        except (msgspec.DecodeError, msgspec.EncodeError, RecursionError, ValueError):
            pass
    return b"raw", body


def fingerprint(method: str, path: bytes, query: bytes, body: bytes) -> str:
    """What makes two requests with one key "the same request"."""
    form, content = canonical_body(body)
    return _digest(method.encode("ascii"), path, query, form, content)


def record_id(consumer: str, method: str, route: str, key: str) -> str:
    """A key is the caller's name for one operation on one endpoint, never a global one."""
    return _digest(
        consumer.encode("utf-8", "surrogatepass"),
        method.encode("ascii"),
        route.encode("utf-8", "surrogatepass"),
        key.encode("ascii"),
    )
