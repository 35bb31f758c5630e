"""In-process idempotency records, for the embedded default and a single process."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from policies.idempotency.store import (
    BEGUN,
    MISMATCH,
    BeginResult,
    StoredResponse,
    in_flight,
)

# Expired records are dropped lazily on access and in a sweep every so many
# claims, which bounds memory without a background task.
_SWEEP_EVERY = 1024


@dataclass(slots=True)
class _Record:
    fingerprint: str
    owner: str
    expires_at: float
    response: StoredResponse | None = None


class MemoryIdempotencyStore:
    """A dict with expiry; every method runs without awaiting, so each is atomic."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._records: dict[str, _Record] = {}
        self._claims = 0

    def _live(self, key: str, now: float) -> _Record | None:
        record = self._records.get(key)
        if record is not None and record.expires_at <= now:
            del self._records[key]
            return None
        return record

    def _sweep(self, now: float) -> None:
        expired = [key for key, record in self._records.items() if record.expires_at <= now]
        for key in expired:
            del self._records[key]

    async def begin(
        self, key: str, fingerprint: str, owner: str, lease_seconds: float
    ) -> BeginResult:
        now = self._clock()
        self._claims += 1
        if self._claims % _SWEEP_EVERY == 0:
            self._sweep(now)
        record = self._live(key, now)
        if record is None:
            self._records[key] = _Record(fingerprint, owner, now + lease_seconds)
            return BEGUN
        if record.fingerprint != fingerprint:
            return MISMATCH
        if record.response is None:
            return in_flight(record.expires_at - now)
        return BeginResult("completed", record.response)

    async def complete(
        self, key: str, owner: str, response: StoredResponse, retention_seconds: float
    ) -> bool:
        now = self._clock()
        record = self._live(key, now)
        if record is None or record.owner != owner or record.response is not None:
            return False
        record.response = response
        record.expires_at = now + retention_seconds
        return True

    async def release(self, key: str, owner: str) -> None:
        record = self._live(key, self._clock())
        if record is not None and record.owner == owner and record.response is None:
            del self._records[key]
