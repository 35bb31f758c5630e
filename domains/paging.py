"""Cursor pagination shared by every list operation.

A cursor is the position in the system of record's result where the next page
starts, signed (HMAC-SHA256, truncated to 128 bits) together with what it is a
position in: the caller's tenant, the list and its filters. A cursor edited by
hand, issued to another tenant or replayed with other filters fails the check
and is refused as a whole; nothing in it is trusted before the check passes.
Every process of a deployment signs with the same key (``[paging]``).

Lists whose records a tenant may not all see (customers, orders, invoices: the
systems of record are shared, and records another tenant created are dropped)
read ahead until the page is full or the list ends, so a page is never empty
while more records follow. How far one request reads is bounded (``max_scan``
records of the system of record): a tenant that sees few of many records can get
a short, even an empty, page that still carries a cursor, and the next request
continues the scan from there.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from domains.errors import BadRequest, FieldIssue

T = TypeVar("T")

DEFAULT_LIMIT = 25
MAX_LIMIT = 200
# Deep offsets are what SOQL OFFSET and OData $skip degrade on; beyond this a
# client should narrow its filters instead.
MAX_OFFSET = 100_000
# Records of the system of record one list request reads at most while filling a page.
DEFAULT_MAX_SCAN = 1_000

_VERSION = 1
_POSITION = struct.Struct(">BI")  # version, offset
_TAG_BYTES = 16
_CURSOR_BYTES = _POSITION.size + _TAG_BYTES


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
    """Where a page starts in the system of record's result, and what the cursor that
    pointed there was issued for."""

    offset: int
    limit: int
    scope: bytes  # tenant, list and filters, as signed into the cursors


# Read ``count`` records of the system of record's result from ``offset``.
Fetch = Callable[[int, int], Awaitable[Page[T]]]
# The records among ``items`` the caller may see, in their order.
Keep = Callable[[list[T]], Awaitable[list[T]]]


class Pager:
    """Opens and issues the cursors of every list, and fills pages across records
    the caller may not see.

    ``key`` may be a function that returns it: the key is then read on first use (or
    by ``key()`` at start-up), so building the services does no I/O.
    """

    def __init__(
        self, key: bytes | Callable[[], bytes], *, max_scan: int = DEFAULT_MAX_SCAN
    ) -> None:
        if max_scan < MAX_LIMIT:
            raise ValueError(f"max_scan must be at least one full page ({MAX_LIMIT})")
        self._source = key
        self._key: bytes | None = None
        if isinstance(key, bytes):
            self.key()
        self.max_scan = max_scan

    def key(self) -> bytes:
        """The signing key, read once."""
        if self._key is None:
            key = self._source if isinstance(self._source, bytes) else self._source()
            if len(key) < 16:
                raise ValueError("the cursor key must be at least 16 bytes")
            self._key = key
        return self._key

    def request(
        self, tenant: str, cursor: str | None, limit: int, *filters: object
    ) -> PageRequest:
        """The page a request asks for; ``filters`` name the list (first) and every
        filter that shapes its result. A cursor that is not this list's is a 400."""
        scope = _scope(tenant, filters)
        if not cursor:
            return PageRequest(offset=0, limit=limit, scope=scope)
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            raise _bad_cursor() from None
        if len(raw) != _CURSOR_BYTES:
            raise _bad_cursor()
        position, tag = raw[: _POSITION.size], raw[_POSITION.size :]
        if not hmac.compare_digest(tag, self._tag(position, scope)):
            raise _bad_cursor()
        version, offset = _POSITION.unpack(position)
        if version != _VERSION or offset > MAX_OFFSET:
            raise _bad_cursor()  # pragma: no cover - only a key holder can sign these
        return PageRequest(offset=offset, limit=limit, scope=scope)

    def cursor(self, request: PageRequest, next_offset: int | None) -> str | None:
        """The cursor to the page that starts at ``next_offset`` (None: the list ended)."""
        if next_offset is None or next_offset > MAX_OFFSET:
            return None
        position = _POSITION.pack(_VERSION, next_offset)
        raw = position + self._tag(position, request.scope)
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    async def collect(
        self, request: PageRequest, fetch: Fetch[T], keep: Keep[T] | None = None
    ) -> tuple[list[T], int | None]:
        """Up to ``request.limit`` records the caller may see, and the offset the next
        page starts at (None at the end of the list).

        Reads from the system of record in growing batches (the page size first, as
        most records are usually visible) until the page is full, the list ends, or
        ``max_scan`` records were read.
        """
        found: list[T] = []
        offset = request.offset
        batch = request.limit
        scanned = 0
        while True:
            page = await fetch(offset, min(batch, MAX_LIMIT, self.max_scan - scanned))
            visible = page.items if keep is None else await keep(page.items)
            if len(visible) < len(page.items):
                kept = {id(item) for item in visible}
                mask = [id(item) in kept for item in page.items]
            else:
                mask = [True] * len(page.items)
            for index, item in enumerate(page.items):
                if not mask[index]:
                    continue
                found.append(item)
                if len(found) == request.limit:
                    read = index + 1
                    more = read < len(page.items) or page.has_more
                    return found, offset + read if more else None
            offset += len(page.items)
            scanned += len(page.items)
            if not page.has_more or not page.items:
                return found, None
            if scanned >= self.max_scan:
                return found, offset  # the scan bound: a short page, the scan goes on
            batch = min(batch * 2, MAX_LIMIT)

    def _tag(self, position: bytes, scope: bytes) -> bytes:
        return hmac.new(self.key(), position + scope, hashlib.sha256).digest()[:_TAG_BYTES]


def _scope(tenant: str, filters: tuple[object, ...]) -> bytes:
    # Length-prefixed so no tenant name can run into the filters.
    tenant_bytes = tenant.encode()
    return struct.pack(">H", len(tenant_bytes)) + tenant_bytes + repr(filters).encode()


def _bad_cursor() -> BadRequest:
    detail = (
        "The cursor is not one this API issued for this list, these filters and this "
        "caller; start again without a cursor."
    )
    return BadRequest(
        detail, code="INVALID_CURSOR", errors=(FieldIssue(field="cursor", message=detail),)
    )
