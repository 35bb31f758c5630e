"""Registered clients in Redis, shared by every gateway process.

One hash ``{prefix}{registered-clients}`` (client id -> JSON record) and one sorted
set per owner of its active client ids, scored by creation time. Both keys carry
the same hash tag, so each decision is one Lua script on one Redis Cluster slot.
Revoked records stay in the hash so the token endpoint keeps refusing them.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from policies.auth.registry import (
    ClientRegistryUnavailable,
    RegisteredClient,
    RegistrationRefused,
    decoder,
    encoder,
)

_REGISTER = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  return 'exists'
end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then
  return 'limit'
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
return 'ok'
"""

# Compare-and-set: the record is rewritten only if nobody changed it since it was read.
_REVOKE = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"""


class RedisClientRegistry:
    def __init__(self, client: aioredis.Redis, prefix: str = "q2c:") -> None:
        self._redis = client
        self._clients_key = f"{prefix}{{registered-clients}}"
        self._register = client.register_script(_REGISTER)
        self._revoke = client.register_script(_REVOKE)

    def _owner_key(self, owner: str) -> str:
        return f"{self._clients_key}:owner:{owner}"

    async def register(self, client: RegisteredClient, *, max_per_owner: int) -> None:
        outcome = await self._call(
            self._register(
                keys=[self._clients_key, self._owner_key(client.owner)],
                args=[client.client_id, encoder.encode(client), max_per_owner,
                      client.created_at],
            )
        )
        if _text(outcome) == "exists":
            raise RegistrationRefused(f"client id {client.client_id} is taken")
        if _text(outcome) == "limit":
            raise RegistrationRefused(
                f"at most {max_per_owner} active applications per developer; revoke one first"
            )

    async def get(self, client_id: str) -> RegisteredClient | None:
        raw = await self._call(self._redis.hget(self._clients_key, client_id))
        return decoder.decode(raw) if raw is not None else None

    async def revoke(self, client_id: str, owner: str) -> bool:
        for _ in range(3):
            raw = await self._call(self._redis.hget(self._clients_key, client_id))
            if raw is None:
                return False
            client = decoder.decode(raw)
            if client.owner != owner or not client.active:
                return False
            revoked = msgspec.structs.replace(client, revoked_at=time.time())
            done = await self._call(
                self._revoke(
                    keys=[self._clients_key, self._owner_key(owner)],
                    args=[client_id, raw, encoder.encode(revoked)],
                )
            )
            if int(done) == 1:
                return True
        return False

    async def list_by_owner(self, owner: str) -> list[RegisteredClient]:
        ids = await self._call(self._redis.zrange(self._owner_key(owner), 0, -1))
        if not ids:
            return []
        raws = await self._call(self._redis.hmget(self._clients_key, ids))
        found = [decoder.decode(raw) for raw in raws if raw is not None]
        return [client for client in found if client.active]

    @staticmethod
    async def _call(awaitable: Any) -> Any:
        try:
            return await awaitable
        except RedisError as exc:
            raise ClientRegistryUnavailable(f"client registry: {exc}") from exc


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
