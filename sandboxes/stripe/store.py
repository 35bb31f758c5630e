"""Storage for the Stripe sandbox: Stripe-shaped ids, tables in creation order, cursor paging
and the idempotency-key cache."""

from __future__ import annotations

import hashlib
import string
import time
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["IdempotencyCache", "Record", "Store", "StoredResult", "mint_id"]

Record = dict[str, Any]

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def mint_id(prefix: str, *parts: object, length: int = 14) -> str:
    """A deterministic Stripe-looking id: ``prefix`` plus ``length`` base-62 characters."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in (prefix, *parts)).encode()).digest()
    number = int.from_bytes(digest, "big")
    chars = []
    for _ in range(length):
        number, rem = divmod(number, 62)
        chars.append(_BASE62[rem])
    return f"{prefix}_{''.join(chars)}"


class Store:
    """Records by kind and id, each kind's ids in creation order, plus secondary indexes.

    Every record gets a global sequence number; lists are newest first (highest sequence),
    and a cursor is located by bisecting on sequence numbers, so paging never scans
    from the start.
    """

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, Record]] = {}
        self.order: dict[str, list[str]] = {}
        self.indexes: dict[tuple[str, str], dict[str, list[str]]] = {}
        self.seq_of: dict[str, int] = {}
        self._seq = 0

    def table(self, kind: str) -> dict[str, Record]:
        return self.tables.setdefault(kind, {})

    def get(self, kind: str, object_id: str) -> Record | None:
        return self.tables.get(kind, {}).get(object_id)

    def insert(self, kind: str, record: Record, **index_keys: str | None) -> Record:
        self._seq += 1
        object_id = record["id"]
        self.seq_of[object_id] = self._seq
        self.table(kind)[object_id] = record
        self.order.setdefault(kind, []).append(object_id)
        for name, key in index_keys.items():
            if key is not None:
                self.index(kind, name).setdefault(key, []).append(object_id)
        return record

    def delete(self, kind: str, object_id: str) -> None:
        """Hard delete: the id stays in order lists (skipped when listing)."""
        self.tables.get(kind, {}).pop(object_id, None)

    def index(self, kind: str, name: str) -> dict[str, list[str]]:
        return self.indexes.setdefault((kind, name), {})

    def ids(self, kind: str, index: str | None = None, key: str | None = None) -> list[str]:
        if index is None:
            return self.order.get(kind, [])
        return self.index(kind, index).get(key or "", [])

    def newest_first(
        self,
        kind: str,
        ids: Sequence[str],
        *,
        after_seq: int | None = None,
    ) -> Iterator[Record]:
        """Records of ``ids`` (creation-ordered) newest first, optionally older than a cursor."""
        table = self.tables.get(kind, {})
        seq = self.seq_of.__getitem__
        end = len(ids) if after_seq is None else bisect_left(ids, after_seq, key=seq)
        for position in range(end - 1, -1, -1):
            record = table.get(ids[position])
            if record is not None:
                yield record

    def oldest_first_after(self, kind: str, ids: Sequence[str], seq_value: int) -> Iterator[Record]:
        """Records newer than the cursor, nearest first (for ``ending_before``)."""
        table = self.tables.get(kind, {})
        start = bisect_right(ids, seq_value, key=self.seq_of.__getitem__)
        for position in range(start, len(ids)):
            record = table.get(ids[position])
            if record is not None:
                yield record

    def page(
        self,
        kind: str,
        ids: Sequence[str],
        keep: Callable[[Record], bool],
        *,
        limit: int,
        starting_after: str | None,
        ending_before: str | None,
    ) -> tuple[list[Record], bool]:
        """One page of a newest-first list and whether more lie beyond it."""
        found: list[Record] = []
        if ending_before is not None:
            source = self.oldest_first_after(kind, ids, self.seq_of[ending_before])
        else:
            after = self.seq_of[starting_after] if starting_after is not None else None
            source = self.newest_first(kind, ids, after_seq=after)
        for record in source:
            if keep(record):
                found.append(record)
                if len(found) > limit:
                    break
        has_more = len(found) > limit
        found = found[:limit]
        if ending_before is not None:
            found.reverse()
        return found, has_more


@dataclass(frozen=True, slots=True)
class StoredResult:
    method: str
    path: str
    params: Any
    status: int
    body: bytes
    request_id: str
    stored_at: float


class IdempotencyCache:
    """First results by (API key, Idempotency-Key), kept for ``ttl_seconds``."""

    def __init__(
        self,
        ttl_seconds: float = 24 * 3600,
        max_entries: int = 200_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str], StoredResult] = OrderedDict()

    def get(self, api_key: str, key: str) -> StoredResult | None:
        entry = self._entries.get((api_key, key))
        if entry is not None and self.clock() - entry.stored_at >= self.ttl_seconds:
            del self._entries[(api_key, key)]
            return None
        return entry

    def put(self, api_key: str, key: str, result: StoredResult) -> None:
        self._prune()
        self._entries[(api_key, key)] = result

    def __len__(self) -> int:
        return len(self._entries)

    def _prune(self) -> None:
        now = self.clock()
        while self._entries:
            first = next(iter(self._entries.values()))
            if now - first.stored_at < self.ttl_seconds and len(self._entries) < self.max_entries:
                return
            self._entries.popitem(last=False)
