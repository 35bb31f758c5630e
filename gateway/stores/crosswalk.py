"""Crosswalk and record-owner backends.

Each tenant has its own crosswalk namespace (``{p}t:{tenant}:``); identity
claims and record owners are global because the systems of record are shared.
Redis layout (cluster-safe: no operation needs two keys in one slot):
- ``{p}xw:id:{canonical}``      hash  system -> system id
- ``{p}xw:rev:{kind}:{system}:{system id}``  string -> canonical id (claimed with SET NX)
- ``{p}xw:note:{canonical}``    hash  annotations
- ``{p}xw:identity:{key}``      string -> canonical id, short TTL: guards concurrent creates
- ``{p}owner:{kind}:{system}:{system id}``  string -> owning tenant (SET NX)
The reverse key is the source of truth for "who owns this system id"; the
forward hash is written after it and healed on every ``ensure``.
"""

from __future__ import annotations

import time

import redis.asyncio as aioredis
from redis.typing import EncodableT, FieldT

from domains.crosswalk import CrosswalkConflict
from domains.ids import Kind, kind_of, new_id

IDENTITY_CLAIM_SECONDS = 600


class MemoryCrosswalk:
    def __init__(self) -> None:
        self._forward: dict[str, dict[str, str]] = {}
        self._reverse: dict[tuple[str, str, str], str] = {}
        self._notes: dict[str, dict[str, str]] = {}
        self._identity: dict[str, str] = {}

    async def ensure(self, kind: Kind, system: str, system_id: str) -> str:
        key = (kind, system, system_id)
        canonical = self._reverse.get(key)
        if canonical is None:
            canonical = self._reverse[key] = new_id(kind)
        self._forward.setdefault(canonical, {})[system] = system_id
        return canonical

    async def canonical_id(self, kind: Kind, system: str, system_id: str) -> str | None:
        return self._reverse.get((kind, system, system_id))

    async def link(self, canonical_id: str, system: str, system_id: str) -> None:
        key = (_kind(canonical_id), system, system_id)
        existing = self._reverse.setdefault(key, canonical_id)
        if existing != canonical_id:
            raise CrosswalkConflict(existing)
        self._forward.setdefault(canonical_id, {})[system] = system_id

    async def system_ids(self, canonical_id: str) -> dict[str, str]:
        return dict(self._forward.get(canonical_id, {}))

    async def annotate(self, canonical_id: str, values: dict[str, str]) -> None:
        self._notes.setdefault(canonical_id, {}).update(values)

    async def annotations(self, canonical_id: str) -> dict[str, str]:
        return dict(self._notes.get(canonical_id, {}))

    async def claim_identity(self, keys: list[str], canonical_id: str) -> str | None:
        for key in keys:
            holder = self._identity.get(key)
            if holder is not None and holder != canonical_id:
                return holder
        for key in keys:
            self._identity[key] = canonical_id
        return None

    async def release_identity(self, keys: list[str], canonical_id: str) -> None:
        for key in keys:
            if self._identity.get(key) == canonical_id:
                del self._identity[key]


# Delete a key only while it still holds our value (releasing our own claim).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


# Mappings are only ever added to, so a process may remember them briefly: a
# canonical id's systems are re-read after this long (another process may have
# linked a new system meanwhile); a system id's canonical id never changes.
_CACHE_SECONDS = 5.0
_CACHE_ENTRIES = 50_000


class RedisCrosswalk:
    def __init__(self, client: aioredis.Redis, prefix: str = "q2c:") -> None:
        self._redis = client
        self._p = prefix
        self._release = client.register_script(_RELEASE)
        self._ids: dict[str, tuple[float, dict[str, str]]] = {}
        self._canonical: dict[str, str] = {}

    def _remember(self, rev: str, canonical: str) -> None:
        if len(self._canonical) >= _CACHE_ENTRIES:
            self._canonical.clear()
        self._canonical[rev] = canonical

    def _rev(self, kind: str, system: str, system_id: str) -> str:
        return f"{self._p}xw:rev:{kind}:{system}:{system_id}"

    async def ensure(self, kind: Kind, system: str, system_id: str) -> str:
        rev = self._rev(kind, system, system_id)
        known = self._canonical.get(rev)
        if known is not None:
            return known
        canonical = _text(await self._redis.get(rev))
        if canonical is None:
            candidate = new_id(kind)
            if await self._redis.set(rev, candidate, nx=True):
                canonical = candidate
            else:
                canonical = _text(await self._redis.get(rev))
                assert canonical is not None
        await self._redis.hset(f"{self._p}xw:id:{canonical}", system, system_id)
        self._remember(rev, canonical)
        return canonical

    async def canonical_id(self, kind: Kind, system: str, system_id: str) -> str | None:
        rev = self._rev(kind, system, system_id)
        known = self._canonical.get(rev)
        if known is not None:
            return known
        canonical = _text(await self._redis.get(rev))
        if canonical is not None:
            self._remember(rev, canonical)
        return canonical

    async def link(self, canonical_id: str, system: str, system_id: str) -> None:
        rev = self._rev(_kind(canonical_id), system, system_id)
        if not await self._redis.set(rev, canonical_id, nx=True):
            existing = _text(await self._redis.get(rev))
            if existing != canonical_id:
                raise CrosswalkConflict(str(existing))
        await self._redis.hset(f"{self._p}xw:id:{canonical_id}", system, system_id)
        self._remember(rev, canonical_id)
        cached = self._ids.get(canonical_id)
        if cached is not None:
            cached[1][system] = system_id

    async def system_ids(self, canonical_id: str) -> dict[str, str]:
        now = time.monotonic()
        cached = self._ids.get(canonical_id)
        if cached is not None and cached[0] > now:
            return dict(cached[1])
        ids = _texts(await self._redis.hgetall(f"{self._p}xw:id:{canonical_id}"))
        if ids:  # unknown ids are never cached: a record created elsewhere shows at once
            if len(self._ids) >= _CACHE_ENTRIES:
                self._ids.clear()
            self._ids[canonical_id] = (now + _CACHE_SECONDS, ids)
        return dict(ids)

    async def annotate(self, canonical_id: str, values: dict[str, str]) -> None:
        if values:
            mapping: dict[FieldT, EncodableT] = dict(values.items())
            await self._redis.hset(f"{self._p}xw:note:{canonical_id}", mapping=mapping)

    async def annotations(self, canonical_id: str) -> dict[str, str]:
        return _texts(await self._redis.hgetall(f"{self._p}xw:note:{canonical_id}"))

    async def claim_identity(self, keys: list[str], canonical_id: str) -> str | None:
        taken: list[str] = []
        for key in keys:
            full = f"{self._p}xw:identity:{key}"
            if await self._redis.set(full, canonical_id, nx=True, ex=IDENTITY_CLAIM_SECONDS):
                taken.append(key)
                continue
            holder = _text(await self._redis.get(full))
            if holder is None or holder == canonical_id:
                continue
            await self.release_identity(taken, canonical_id)
            return holder
        return None

    async def release_identity(self, keys: list[str], canonical_id: str) -> None:
        for key in keys:
            await self._release(keys=[f"{self._p}xw:identity:{key}"], args=[canonical_id])


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _texts(values: dict[bytes | str, bytes | str]) -> dict[str, str]:
    return {str(_text(k)): str(_text(v)) for k, v in values.items()}


def _kind(canonical_id: str) -> Kind:
    kind = kind_of(canonical_id)
    if kind is None:
        raise ValueError(f"not a canonical id: {canonical_id!r}")
    return kind


class MemoryCrosswalks:
    """One in-memory crosswalk per tenant (the embedded, single-process default)."""

    def __init__(self) -> None:
        self._by_tenant: dict[str, MemoryCrosswalk] = {}

    def __call__(self, tenant: str) -> MemoryCrosswalk:
        crosswalk = self._by_tenant.get(tenant)
        if crosswalk is None:
            crosswalk = self._by_tenant[tenant] = MemoryCrosswalk()
        return crosswalk


class RedisCrosswalks:
    def __init__(self, client: aioredis.Redis, prefix: str = "q2c:") -> None:
        self._redis = client
        self._prefix = prefix
        self._by_tenant: dict[str, RedisCrosswalk] = {}

    def __call__(self, tenant: str) -> RedisCrosswalk:
        crosswalk = self._by_tenant.get(tenant)
        if crosswalk is None:
            namespace = f"{self._prefix}t:{tenant}:" if tenant else self._prefix
            crosswalk = self._by_tenant[tenant] = RedisCrosswalk(self._redis, namespace)
        return crosswalk


class MemoryRecordOwners:
    def __init__(self) -> None:
        self._owners: dict[tuple[str, str, str], str] = {}

    async def claim(self, kind: Kind, system: str, system_id: str, tenant: str) -> str:
        return self._owners.setdefault((kind, system, system_id), tenant)

    async def owners(self, kind: Kind, system: str, system_ids: list[str]) -> dict[str, str]:
        found = {i: self._owners.get((kind, system, i)) for i in system_ids}
        return {i: owner for i, owner in found.items() if owner is not None}


class RedisRecordOwners:
    def __init__(self, client: aioredis.Redis, prefix: str = "q2c:") -> None:
        self._redis = client
        self._p = prefix

    def _key(self, kind: str, system: str, system_id: str) -> str:
        return f"{self._p}owner:{kind}:{system}:{system_id}"

    async def claim(self, kind: Kind, system: str, system_id: str, tenant: str) -> str:
        key = self._key(kind, system, system_id)
        if await self._redis.set(key, tenant, nx=True):
            return tenant
        return _text(await self._redis.get(key)) or tenant

    async def owners(self, kind: Kind, system: str, system_ids: list[str]) -> dict[str, str]:
        if not system_ids:
            return {}
        # A pipeline of GETs rather than MGET: the keys live in different cluster slots.
        async with self._redis.pipeline(transaction=False) as pipe:
            for system_id in system_ids:
                pipe.get(self._key(kind, system, system_id))
            values = await pipe.execute()
        return {i: str(_text(v)) for i, v in zip(system_ids, values, strict=True) if v}
