"""Ownership map backends: process memory, or one Redis key shared by all processes."""

from __future__ import annotations

import time

import msgspec
import redis.asyncio as aioredis

from domains.ownership import OwnershipMap

_decoder = msgspec.json.Decoder(OwnershipMap)


class MemoryOwnershipStore:
    def __init__(self, ownership: OwnershipMap) -> None:
        self._ownership = ownership

    async def load(self) -> OwnershipMap:
        return self._ownership

    async def save(self, ownership: OwnershipMap) -> None:
        self._ownership = ownership


class RedisOwnershipStore:
    """Read on every call would add a round trip to each request; a short cache
    bounds how long another process's change takes to be seen."""

    def __init__(
        self, client: aioredis.Redis, prefix: str = "q2c:", cache_seconds: float = 2.0
    ) -> None:
        self._redis = client
        self._key = f"{prefix}ownership"
        self._cache_seconds = cache_seconds
        self._cached: OwnershipMap | None = None
        self._loaded_at = 0.0

    async def load(self) -> OwnershipMap:
        now = time.monotonic()
        if self._cached is not None and now - self._loaded_at < self._cache_seconds:
            return self._cached
        raw = await self._redis.get(self._key)
        if raw is None:
            raise LookupError("no ownership map saved in Redis")
        self._cached, self._loaded_at = _decoder.decode(raw), now
        return self._cached

    async def save(self, ownership: OwnershipMap) -> None:
        await self._redis.set(self._key, msgspec.json.encode(ownership))
        self._cached, self._loaded_at = ownership, time.monotonic()
