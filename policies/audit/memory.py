"""The audit trail in a bounded in-process ring, for the embedded default and tests.

Ids follow the Redis Stream rules (milliseconds of the clock, a sequence within
the same millisecond, never going backwards), so paging and time ranges mean
the same in both backends.
"""

from __future__ import annotations

import bisect
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from datetime import datetime

import msgspec

from contracts.v1.audit import AuditEntry
from policies.audit.config import MEMORY_DEFAULT_MAX_ENTRIES
from policies.audit.store import EntryFilter, EntryKey, Window, format_key


def _key(item: tuple[EntryKey, AuditEntry]) -> EntryKey:
    return item[0]


class MemoryAuditStore:
    def __init__(
        self,
        *,
        max_entries: int = MEMORY_DEFAULT_MAX_ENTRIES,
        max_scan: int = 5_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_entries < 1 or max_scan < 1:
            raise ValueError("max_entries and max_scan must be positive")
        self._ring: deque[tuple[EntryKey, AuditEntry]] = deque(maxlen=max_entries)
        self._max_scan = max_scan
        self._clock = clock
        self._last: EntryKey = (0, 0)

    def _next_key(self) -> EntryKey:
        now = int(self._clock() * 1000)
        last_ms, last_seq = self._last
        self._last = (now, 0) if now > last_ms else (last_ms, last_seq + 1)
        return self._last

    async def append(self, entry: AuditEntry) -> str:
        key = self._next_key()
        entry_id = format_key(key)
        self._ring.append((key, msgspec.structs.replace(entry, id=entry_id)))
        return entry_id

    def _upper_index(self, window: Window) -> int:
        if window.upper is None:
            return len(self._ring)
        return bisect.bisect_left(self._ring, window.upper, key=_key)

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
        window = Window.of(since, until, cursor)
        if window.empty:
            return [], None
        wanted = EntryFilter(tenant, consumer, resource_id)
        found: list[AuditEntry] = []
        index = self._upper_index(window)
        examined = 0
        while index > 0:
            key, entry = self._ring[index - 1]
            if window.lower is not None and key < window.lower:
                break
            if examined == self._max_scan:
                # Resume below the last entry examined, matching or not.
                return found, format_key(self._ring[index][0])
            examined += 1
            index -= 1
            if wanted(entry):
                if len(found) == limit:
                    return found, found[-1].id
                found.append(entry)
        return found, None

    async def export(
        self,
        tenant: str | None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> AsyncIterator[AuditEntry]:
        window = Window.of(since, until)
        if window.empty:
            return
        wanted = EntryFilter(tenant)
        start = (
            0 if window.lower is None else bisect.bisect_left(self._ring, window.lower, key=_key)
        )
        stop = self._upper_index(window)
        # A snapshot, so appends while the caller consumes slowly do not shift it.
        for _, entry in list(self._ring)[start:stop]:
            if wanted(entry):
                yield entry
