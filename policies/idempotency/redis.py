"""Idempotency records in Redis, shared by every gateway process.

One hash per scoped key, ``{prefix}idem:{sha256}``, with fields ``fp``
(request fingerprint), ``owner`` (random token of the process running the
request) and, once completed, ``resp`` (the stored response). Each decision is
one Lua script on that one key, so it is atomic, costs one round trip and is
Redis Cluster safe. The key's TTL is the lease while in flight and the
retention once completed.
"""

from __future__ import annotations

from typing import Any

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from policies.idempotency.store import (
    BEGUN,
    IN_FLIGHT,
    MISMATCH,
    BeginResult,
    IdempotencyStoreError,
    StoredResponse,
)

_BEGIN = """
local record = redis.call('HMGET', KEYS[1], 'fp', 'resp')
if not record[1] then
  redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'owner', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {'new'}
end
if record[1] ~= ARGV[1] then
  return {'mismatch'}
end
if record[2] then
  return {'completed', record[2]}
end
return {'in_flight'}
"""

# Only the owner may complete: after its lease lapsed and a retry took the key
# over, a late first request must not overwrite the retry's record.
_COMPLETE = """
local record = redis.call('HMGET', KEYS[1], 'owner', 'resp')
if record[1] ~= ARGV[1] or record[2] then
  return 0
end
redis.call('HSET', KEYS[1], 'resp', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""

_RELEASE = """
local record = redis.call('HMGET', KEYS[1], 'owner', 'resp')
if record[1] == ARGV[1] and not record[2] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(StoredResponse)


def _milliseconds(seconds: float) -> int:
    return max(1, round(seconds * 1000))


class RedisIdempotencyStore:
    """``client`` must be created with ``decode_responses=True``."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = "q2c:") -> None:
        self._key_prefix = f"{prefix}idem:"
        self._begin = client.register_script(_BEGIN)
        self._complete = client.register_script(_COMPLETE)
        self._release = client.register_script(_RELEASE)

    def redis_key(self, key: str) -> str:
        return self._key_prefix + key

    async def _run(self, script: Any, key: str, *args: str | int) -> Any:
        try:
            return await script(keys=[self._key_prefix + key], args=args)
        except (RedisError, OSError) as exc:
            raise IdempotencyStoreError(f"idempotency store unavailable: {exc}") from exc

    async def begin(
        self, key: str, fingerprint: str, owner: str, lease_seconds: float
    ) -> BeginResult:
        reply = await self._run(
            self._begin, key, fingerprint, owner, _milliseconds(lease_seconds)
        )
        outcome = reply[0]
        if outcome == "new":
            return BEGUN
        if outcome == "in_flight":
            return IN_FLIGHT
        if outcome == "mismatch":
            return MISMATCH
        try:
            return BeginResult("completed", _decoder.decode(reply[1]))
        except msgspec.DecodeError as exc:
            raise IdempotencyStoreError(f"unreadable idempotency record: {exc}") from exc

    async def complete(
        self, key: str, owner: str, response: StoredResponse, retention_seconds: float
    ) -> bool:
        stored = await self._run(
            self._complete,
            key,
            owner,
            _encoder.encode(response).decode(),
            _milliseconds(retention_seconds),
        )
        return bool(stored)

    async def release(self, key: str, owner: str) -> None:
        await self._run(self._release, key, owner)
