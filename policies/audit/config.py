"""Audit policy settings, validated when the gateway starts."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

ALLOWED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# A Redis stream entry of an audit record is a few hundred bytes, so the Redis
# default keeps roughly 50 MB; the in-process ring stays small because it lives
# in every gateway process's heap.
REDIS_DEFAULT_MAX_ENTRIES = 100_000
MEMORY_DEFAULT_MAX_ENTRIES = 10_000


class AuditConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which writes are recorded and how much of the trail is kept."""

    # Off switch: no entries are recorded (the query route still answers).
    enabled: bool = True
    # Request methods recorded on governed (non-public) routes; upper-case.
    methods: tuple[str, ...] = ("POST", "PUT", "PATCH", "DELETE")
    # Entries kept before the oldest are dropped: Redis trims the stream to
    # about this many (XADD MAXLEN ~), the memory ring to exactly this many.
    # None takes the backend's default (100 000 in Redis, 10 000 in memory).
    max_entries: Annotated[int, msgspec.Meta(ge=100, le=100_000_000)] | None = None
    # Most entries one query examines while filtering by tenant, consumer or
    # resource; a query that reaches it answers what it found plus a cursor,
    # which bounds the cost of any one call on a large trail.
    max_scan: Annotated[int, msgspec.Meta(ge=200, le=1_000_000)] = 5_000

    def __post_init__(self) -> None:
        if not self.methods:
            raise ValueError("audit.methods must name at least one method")
        for method in self.methods:
            if method not in ALLOWED_METHODS:
                raise ValueError(
                    f"audit.methods: {method!r} is not one of {sorted(ALLOWED_METHODS)}"
                )

    def max_entries_for(self, backend: Literal["memory", "redis"]) -> int:
        """Retention for a backend, applying its default when none is configured."""
        if self.max_entries is not None:
            return self.max_entries
        return REDIS_DEFAULT_MAX_ENTRIES if backend == "redis" else MEMORY_DEFAULT_MAX_ENTRIES
