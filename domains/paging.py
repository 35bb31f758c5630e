"""Cursor pagination shared by every list operation.

Cursors are opaque to clients but carry the offset into the system of record's
result and a fingerprint of the filters, so a cursor replayed with different
filters is refused instead of silently paging through another result set.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import msgspec

from domains.errors import BadRequest, FieldIssue

T = TypeVar("T")

DEFAULT_LIMIT = 25
MAX_LIMIT = 200
# Deep offsets are what SOQL OFFSET and OData $skip degrade on; beyond this a
# client should narrow its filters instead.
MAX_OFFSET = 100_000


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page from a port: the items and whether more exist after them."""

    items: list[T] = field(default_factory=list)
    has_more: bool = False


@dataclass(frozen=True, slots=True)
class Listing(Generic[T]):
    """One page of a list as a service returns it: the records, and the cursor to
    the next page (None on the last)."""

    items: list[T]
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class PageRequest:
    offset: int
    limit: int
    fingerprint: str


class _CursorBody(msgspec.Struct, frozen=True):
    o: int
    f: str


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(_CursorBody)


def fingerprint(*filters: object) -> str:
    return hashlib.blake2s(repr(filters).encode(), digest_size=6).hexdigest()


def encode_cursor(offset: int, fp: str) -> str:
    raw = _encoder.encode(_CursorBody(o=offset, f=fp))
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def page_request(cursor: str | None, limit: int, *filters: object) -> PageRequest:
    fp = fingerprint(*filters)
    if not cursor:
        return PageRequest(offset=0, limit=limit, fingerprint=fp)
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        body = _decoder.decode(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError, msgspec.DecodeError) as exc:
        raise _bad_cursor("The cursor is not one this API issued.") from exc
    if body.f != fp:
        raise _bad_cursor("The cursor belongs to a list with other filters.")
    if not 0 <= body.o <= MAX_OFFSET:
        raise _bad_cursor("The cursor points outside the list.")
    return PageRequest(offset=body.o, limit=limit, fingerprint=fp)


def next_cursor(request: PageRequest, page: Page[object] | Page[T]) -> str | None:
    if not page.has_more:
        return None
    offset = request.offset + request.limit
    if offset > MAX_OFFSET:
        return None
    return encode_cursor(offset, request.fingerprint)


def _bad_cursor(detail: str) -> BadRequest:
    return BadRequest(
        detail,
        code="INVALID_CURSOR",
        errors=(FieldIssue(field="cursor", message=detail),),
    )
