"""Idempotency-Key policy: at most one execution per key, replays for retries.

Per draft-ietf-httpapi-idempotency-key-header-06: missing key on a required
route -> 400, same key with another request -> 422, same key while the first
runs -> 409, a completed request replays its stored response with
``Idempotent-Replayed: true``. Keys are scoped per consumer, method and route.
"""

from policies.idempotency.config import IdempotencyConfig
from policies.idempotency.memory import MemoryIdempotencyStore
from policies.idempotency.middleware import IdempotencyMiddleware, Outcome
from policies.idempotency.store import (
    BeginResult,
    IdempotencyStore,
    IdempotencyStoreError,
    StoredResponse,
)

__all__ = [
    "BeginResult",
    "IdempotencyConfig",
    "IdempotencyMiddleware",
    "IdempotencyStore",
    "IdempotencyStoreError",
    "MemoryIdempotencyStore",
    "Outcome",
    "StoredResponse",
]
