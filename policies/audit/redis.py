"""The audit trail as one Redis Stream, ``{prefix}audit``, shared by every gateway process.

XADD with ``MAXLEN ~`` bounds it (Redis trims whole stream nodes, so slightly
more than ``max_entries`` may remain); the stream id is the entry id, so time
ranges and cursors are XREVRANGE / XRANGE bounds. Each stream entry holds the
msgspec JSON of the entry in one field. Filters are applied while scanning, at
most ``max_scan`` entries per query.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from contracts.v1.audit import AuditEntry
from policies.audit.config import REDIS_DEFAULT_MAX_ENTRIES
from policies.audit.store import AuditStoreError, EntryFilter, Window, format_key

logger = logging.getLogger(__name__)

_FIELD = "e"
_BATCH = 500
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(AuditEntry)


class RedisAuditStore:
    """``client`` must be created with ``decode_responses=True``."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str = "q2c:",
        max_entries: int = REDIS_DEFAULT_MAX_ENTRIES,
        max_scan: int = 5_000,
    ) -> None:
        if max_entries < 1 or max_scan < 1:
            raise ValueError("max_entries and max_scan must be positive")
        self._client = client
        self.key = f"{prefix}audit"
        self._max_entries = max_entries
        self._max_scan = max_scan

    async def append(self, entry: AuditEntry) -> str:
        # The id lives in the stream id only; storing "" keeps the JSON stable.
        payload = _encoder.encode(msgspec.structs.replace(entry, id="")).decode()
        try:
            entry_id: Any = await self._client.xadd(
                self.key, {_FIELD: payload}, maxlen=self._max_entries, approximate=True
            )
        except (RedisError, OSError) as exc:
            raise AuditStoreError(f"audit store unavailable: {exc}") from exc
        return str(entry_id)

    async def _range(self, newest_first: bool, low: str, high: str, count: int) -> list[Any]:
        try:
            if newest_first:
                rows: Any = await self._client.xrevrange(
                    self.key, max=high, min=low, count=count
                )
            else:
                rows = await self._client.xrange(self.key, min=low, max=high, count=count)
        except (RedisError, OSError) as exc:
            raise AuditStoreError(f"audit store unavailable: {exc}") from exc
        return list(rows or [])

    @staticmethod
    def _decode(entry_id: str, fields: dict[str, str]) -> AuditEntry | None:
        try:
            entry = _decoder.decode(fields[_FIELD])
        except (KeyError, msgspec.DecodeError):
            # One damaged entry must not hide the rest of the trail.
            logger.warning("skipping unreadable audit entry %s", entry_id)
            return None
        return msgspec.structs.replace(entry, id=entry_id)

    @staticmethod
    def _bounds(window: Window) -> tuple[str, str]:
        low = format_key(window.lower) if window.lower is not None else "-"
        high = "(" + format_key(window.upper) if window.upper is not None else "+"
        return low, high

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
        low, high = self._bounds(window)
        found: list[AuditEntry] = []
        budget = self._max_scan
        while budget > 0:
            count = min(_BATCH, budget)
            rows = await self._range(True, low, high, count)
            for entry_id, fields in rows:
                entry = self._decode(entry_id, fields)
                if entry is not None and wanted(entry):
                    if len(found) == limit:
                        return found, found[-1].id
                    found.append(entry)
            if len(rows) < count:
                return found, None
            budget -= count
            high = "(" + rows[-1][0]
        # Cap reached: resume below the last entry examined, unless nothing is left.
        more = await self._range(True, low, high, 1)
        return found, (high[1:] if more else None)

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
        low, high = self._bounds(window)
        while True:
            rows = await self._range(False, low, high, _BATCH)
            for entry_id, fields in rows:
                entry = self._decode(entry_id, fields)
                if entry is not None and wanted(entry):
                    yield entry
            if len(rows) < _BATCH:
                return
            low = "(" + rows[-1][0]
