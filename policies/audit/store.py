"""The audit store port: an append-only trail, read newest first or exported oldest first.

Entry ids have the Redis Stream id form ``<milliseconds>-<sequence>`` in every
backend, so ids sort by recording time, a cursor is simply the last id a page
covered, and ``since``/``until`` are id bounds with millisecond resolution:
``since`` is inclusive, ``until`` exclusive.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from contracts.v1.audit import AuditEntry

_ENTRY_ID = re.compile(r"^([0-9]{1,15})-([0-9]{1,19})$")
_MAX_SEQUENCE = 2**64 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)

EntryKey = tuple[int, int]


class AuditStoreError(Exception):
    """The trail could not be read or written (e.g. Redis unreachable); backends raise only this."""


class InvalidCursor(ValueError):
    """A cursor that no page of this store produced."""


def entry_key(entry_id: str) -> EntryKey:
    """``"1767139200000-3"`` -> ``(1767139200000, 3)``; InvalidCursor when malformed."""
    match = _ENTRY_ID.fullmatch(entry_id)
    if match is None or int(match.group(2)) > _MAX_SEQUENCE:
        raise InvalidCursor(f"not an audit cursor: {entry_id[:60]!r}")
    return int(match.group(1)), int(match.group(2))


def format_key(key: EntryKey) -> str:
    return f"{key[0]}-{key[1]}"


def milliseconds(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime, clamped at the epoch."""
    if moment.tzinfo is None:
        raise ValueError("audit time bounds must carry a UTC offset")
    return max(0, (moment - _EPOCH) // _ONE_MS)


@dataclass(frozen=True, slots=True)
class Window:
    """The id range ``[lower, upper)`` one query or export covers."""

    lower: EntryKey | None
    upper: EntryKey | None

    @classmethod
    def of(
        cls,
        since: datetime | None,
        until: datetime | None,
        cursor: str | None = None,
    ) -> Window:
        lower = (milliseconds(since), 0) if since is not None else None
        upper = (milliseconds(until), 0) if until is not None else None
        if cursor is not None:
            after = entry_key(cursor)
            upper = after if upper is None else min(upper, after)
        return cls(lower, upper)

    @property
    def empty(self) -> bool:
        if self.upper == (0, 0):
            return True
        return self.lower is not None and self.upper is not None and self.lower >= self.upper


@dataclass(frozen=True, slots=True)
class EntryFilter:
    tenant: str | None
    consumer: str | None = None
    resource_id: str | None = None

    def __call__(self, entry: AuditEntry) -> bool:
        return (
            (self.tenant is None or entry.tenant == self.tenant)
            and (self.consumer is None or entry.consumer == self.consumer)
            and (self.resource_id is None or entry.resource_id == self.resource_id)
        )


class AuditStore(Protocol):
    async def append(self, entry: AuditEntry) -> str:
        """Add ``entry`` (its ``id`` is ignored) and return the id the store gave it."""
        ...

    async def query(
        self,
        tenant: str,
        *,
        consumer: str | None = None,
        resource_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> tuple[list[AuditEntry], str | None]:
        """One page of ``tenant``'s entries, newest first, and the cursor of the next page.

        At most the store's ``max_scan`` entries are examined; a page cut short by
        that cap still returns a cursor (possibly with fewer than ``limit``
        entries, even none). No cursor means the trail is exhausted.
        Raises InvalidCursor for a cursor this store did not hand out.
        """
        ...

    def export(
        self,
        tenant: str | None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> AsyncIterator[AuditEntry]:
        """Every retained entry in the range, oldest first; all tenants when None."""
        ...
