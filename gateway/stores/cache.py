"""Read-through caches over the durable crosswalk and record owners.

The hot path reads the crosswalk on every call (the canonical id of each record
listed, the system ids behind a canonical id, who owns a page of records). Those
reads are answered from this process's memory, then from Redis (shared by every
gateway process), and only then from the database, which fills both. Writes go to
the database first and then correct the caches.

What each layer may hold, and why that is safe:
- system id -> canonical id, and an owner once claimed, never change: kept in
  memory until the bound is reached, in Redis for a day.
- a canonical id's system ids and annotations only grow: kept in memory for a few
  seconds (another process may have added one), in Redis until a write on that id
  invalidates them. A write leaves a short-lived marker next to the entry, and a
  fill is refused while the marker exists, so a reader that read the database just
  before the write cannot put the old value back.
- "this record has no owner" is cached in Redis, briefly, and a claim overwrites
  it. Without Redis (the embedded default: one process, the only writer) it is
  cached in memory as briefly, where this process's own claims correct it.

Redis is a cache here: an error is a miss, and after one Redis is left alone for a
few seconds, so a paused or restarting server costs one timeout rather than one per
request. Losing Redis loses nothing but warm entries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from domains.crosswalk import Crosswalk
from domains.ids import KINDS_BY_PREFIX, Kind
from domains.tenancy import CrosswalkFactory, RecordOwners

logger = logging.getLogger(__name__)
_KIND_OF_PREFIX: dict[str, str] = dict(KINDS_BY_PREFIX)

MEMORY_ENTRIES = 50_000
MEMORY_GROWING_SECONDS = 5.0  # system ids and annotations, in this process
REDIS_FIXED_SECONDS = 86_400  # mappings and owners that never change
REDIS_GROWING_SECONDS = 3_600  # system ids and annotations
NO_OWNER_SECONDS = 30
STALE_MARKER_SECONDS = 15  # longer than the slowest database read that could race
REDIS_PAUSE_SECONDS = 5.0

# Fill a hash unless a writer marked it stale since the reader looked (same slot).
_FILL = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""
# KEYS: entry, marker, entry, marker... (all in one slot)
_INVALIDATE = """
for i = 1, #KEYS, 2 do
  redis.call('SET', KEYS[i + 1], '1', 'EX', ARGV[1])
  redis.call('DEL', KEYS[i])
end
return 1
"""


class RedisCache:
    """The Redis side of the caches: every error is a miss, then a pause."""

    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.prefix = f"{prefix}xc:"
        self._clock = clock
        self._paused_until = 0.0
        self._fill = client.register_script(_FILL)
        self._invalidate = client.register_script(_INVALIDATE)
        self.round_trips = 0  # for measurements

    @property
    def available(self) -> bool:
        return self._clock() >= self._paused_until

    async def run(self, call: Callable[[], Any]) -> Any:
        """``call()``'s result, or None when Redis failed (then Redis is paused)."""
        if not self.available:
            return None
        self.round_trips += 1
        try:
            return await call()
        except (RedisError, OSError) as exc:
            self._paused_until = self._clock() + REDIS_PAUSE_SECONDS
            logger.warning("cache: Redis failed (%s); reading the database for %ss",
                           type(exc).__name__, REDIS_PAUSE_SECONDS)
            return None

    async def get(self, key: str) -> str | None:
        value = await self.run(lambda: self.client.get(key))
        return None if value is None else str(value)

    async def set(self, key: str, value: str, seconds: int, *, only_new: bool = False) -> None:
        await self.run(lambda: self.client.set(key, value, ex=seconds, nx=only_new))

    async def hash(self, key: str) -> dict[str, str] | None:
        values = await self.run(lambda: self.client.hgetall(key))
        return {str(k): str(v) for k, v in values.items()} if values else None

    async def fill(self, key: str, marker: str, values: dict[str, str]) -> None:
        flat: list[str] = [str(REDIS_GROWING_SECONDS)]
        for name, value in values.items():
            flat += [name, value]
        await self.run(lambda: self._fill(keys=[key, marker], args=flat))

    async def invalidate(self, *entries: tuple[str, str]) -> None:
        """Drop entries (each ``(key, marker)``, all of one slot) and mark them stale."""
        keys = [name for entry in entries for name in entry]
        await self.run(lambda: self._invalidate(keys=keys, args=[STALE_MARKER_SECONDS]))

    async def get_many(self, keys: list[str]) -> list[str | None] | None:
        async def pipeline() -> list[Any]:
            # GETs in a pipeline, not MGET: the keys live in different cluster slots.
            async with self.client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.get(key)
                return list(await pipe.execute())

        values = await self.run(pipeline)
        if values is None:
            return None
        return [None if v is None else str(v) for v in values]

    async def set_many(self, values: list[tuple[str, str, int, bool]]) -> None:
        """(key, value, seconds, only_new) each, in one round trip."""

        async def pipeline() -> None:
            async with self.client.pipeline(transaction=False) as pipe:
                for key, value, seconds, only_new in values:
                    pipe.set(key, value, ex=seconds, nx=only_new)
                await pipe.execute()

        if values:
            await self.run(pipeline)


class _Bounded(dict[Any, Any]):
    """A dict that forgets everything when full: cheap, and entries refill on demand."""

    def put(self, key: Any, value: Any) -> None:
        if len(self) >= MEMORY_ENTRIES:
            self.clear()
        self[key] = value


def _tenant(tenant: str) -> str:
    return f"{len(tenant)}.{tenant}"  # no tenant name can end where another begins


class CachedCrosswalk:
    def __init__(
        self,
        durable: Crosswalk,
        tenant: str,
        redis: RedisCache | None,
        memory: _Memory,
    ) -> None:
        self._durable = durable
        self._t = _tenant(tenant)
        self._redis = redis
        self._memory = memory
        self._clock = memory.clock

    def _rev(self, kind: str, system: str, system_id: str) -> str:
        return f"{self._t}:{kind}:{system}:{system_id}"

    def _slot(self, canonical_id: str, what: str) -> tuple[str, str]:
        assert self._redis is not None
        base = f"{self._redis.prefix}{{{self._t}:{canonical_id}}}:{what}"
        return base, f"{base}-stale"

    async def _cached_reverse(self, rev: str) -> str | None:
        known: str | None = self._memory.reverse.get(rev)
        if known is None and self._redis is not None:
            known = await self._redis.get(f"{self._redis.prefix}rev:{rev}")
            if known is not None:
                self._memory.reverse.put(rev, known)
        return known

    async def _remember_reverse(self, rev: str, canonical_id: str) -> None:
        self._memory.reverse.put(rev, canonical_id)
        if self._redis is not None:
            await self._redis.set(f"{self._redis.prefix}rev:{rev}", canonical_id,
                                  REDIS_FIXED_SECONDS)

    async def ensure(self, kind: Kind, system: str, system_id: str) -> str:
        rev = self._rev(kind, system, system_id)
        known = await self._cached_reverse(rev)
        if known is not None:
            return known
        canonical_id = await self._durable.ensure(kind, system, system_id)
        await self._remember_reverse(rev, canonical_id)
        return canonical_id

    async def canonical_id(self, kind: Kind, system: str, system_id: str) -> str | None:
        rev = self._rev(kind, system, system_id)
        known = await self._cached_reverse(rev)
        if known is not None:
            return known
        canonical_id = await self._durable.canonical_id(kind, system, system_id)
        if canonical_id is not None:  # "not linked yet" is never cached
            await self._remember_reverse(rev, canonical_id)
        return canonical_id

    async def link(
        self,
        canonical_id: str,
        system: str,
        system_id: str,
        facts: dict[str, str] | None = None,
    ) -> None:
        await self._durable.link(canonical_id, system, system_id, facts)
        self._memory.ids.pop((self._t, canonical_id), None)
        if facts:
            self._memory.notes.pop((self._t, canonical_id), None)
        kind = canonical_id.split("_", 1)[0]
        self._memory.reverse.put(self._rev(_KIND_OF_PREFIX.get(kind, kind), system, system_id),
                                 canonical_id)
        if self._redis is not None:
            stale = [self._slot(canonical_id, "ids")]
            if facts:
                stale.append(self._slot(canonical_id, "notes"))
            await self._redis.invalidate(*stale)

    async def _growing(
        self,
        canonical_id: str,
        what: str,
        memory: _Bounded,
        read: Callable[[str], Any],
    ) -> dict[str, str]:
        now = self._clock()
        cached = memory.get((self._t, canonical_id))
        if cached is not None and cached[0] > now:
            return dict(cached[1])
        values: dict[str, str] | None = None
        if self._redis is not None:
            key, marker = self._slot(canonical_id, what)
            values = await self._redis.hash(key)
            if values is None:
                values = await read(canonical_id)
                if values:
                    await self._redis.fill(key, marker, values)
        else:
            values = await read(canonical_id)
        if values:  # unknown ids are never cached: a record made elsewhere shows at once
            memory.put((self._t, canonical_id), (now + MEMORY_GROWING_SECONDS, values))
        return dict(values or {})

    async def system_ids(self, canonical_id: str) -> dict[str, str]:
        return await self._growing(
            canonical_id, "ids", self._memory.ids, self._durable.system_ids
        )

    async def annotate(self, canonical_id: str, values: dict[str, str]) -> None:
        await self._durable.annotate(canonical_id, values)
        self._memory.notes.pop((self._t, canonical_id), None)
        if self._redis is not None and values:
            await self._redis.invalidate(self._slot(canonical_id, "notes"))

    async def annotations(self, canonical_id: str) -> dict[str, str]:
        return await self._growing(
            canonical_id, "notes", self._memory.notes, self._durable.annotations
        )

    async def claim_identity(self, keys: list[str], canonical_id: str) -> str | None:
        return await self._durable.claim_identity(keys, canonical_id)

    async def release_identity(self, keys: list[str], canonical_id: str) -> None:
        await self._durable.release_identity(keys, canonical_id)


class _Memory:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.reverse = _Bounded()  # tenant:kind:system:system id -> canonical id
        self.ids = _Bounded()  # (tenant, canonical id) -> (fresh until, system ids)
        self.notes = _Bounded()  # (tenant, canonical id) -> (fresh until, annotations)


class CachedCrosswalks:
    """The crosswalk factory the services use: the durable one behind the caches."""

    def __init__(
        self,
        durable: CrosswalkFactory,
        redis: RedisCache | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._durable = durable
        self._redis = redis
        self._memory = _Memory(clock)
        self._by_tenant: dict[str, CachedCrosswalk] = {}

    def __call__(self, tenant: str) -> CachedCrosswalk:
        crosswalk = self._by_tenant.get(tenant)
        if crosswalk is None:
            crosswalk = CachedCrosswalk(self._durable(tenant), tenant, self._redis, self._memory)
            self._by_tenant[tenant] = crosswalk
        return crosswalk


class CachedRecordOwners:
    def __init__(
        self,
        durable: RecordOwners,
        redis: RedisCache | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._durable = durable
        self._redis = redis
        self._clock = clock
        self._known = _Bounded()  # (kind, system, system id) -> owning tenant
        self._unowned = _Bounded()  # (kind, system, system id) -> "no owner" until

    def _key(self, kind: str, system: str, system_id: str) -> str:
        assert self._redis is not None
        return f"{self._redis.prefix}own:{kind}:{system}:{system_id}"

    async def claim(self, kind: Kind, system: str, system_id: str, tenant: str) -> str:
        owner = await self._durable.claim(kind, system, system_id, tenant)
        self._known.put((kind, system, system_id), owner)
        self._unowned.pop((kind, system, system_id), None)
        if self._redis is not None:  # overwrites a cached "no owner"
            await self._redis.set(self._key(kind, system, system_id), owner, REDIS_FIXED_SECONDS)
        return owner

    async def owners(self, kind: Kind, system: str, system_ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        unknown: list[str] = []
        now = self._clock()
        for system_id in system_ids:
            owner = self._known.get((kind, system, system_id))
            if owner is not None:
                found[system_id] = owner
            elif self._unowned.get((kind, system, system_id), 0.0) <= now:
                unknown.append(system_id)
        if not unknown:
            return found
        if self._redis is not None:
            cached = await self._redis.get_many([self._key(kind, system, i) for i in unknown])
            if cached is not None:
                missing = []
                for system_id, owner in zip(unknown, cached, strict=True):
                    if owner is None:
                        missing.append(system_id)
                    elif owner:  # "" is a cached "no owner"
                        found[system_id] = owner
                        self._known.put((kind, system, system_id), owner)
                unknown = missing
        if not unknown:
            return found
        owned = await self._durable.owners(kind, system, unknown)
        fills: list[tuple[str, str, int, bool]] = []
        for system_id in unknown:
            owner = owned.get(system_id)
            if owner is not None:
                found[system_id] = owner
                self._known.put((kind, system, system_id), owner)
            elif self._redis is None:
                self._unowned.put((kind, system, system_id), now + NO_OWNER_SECONDS)
            if self._redis is not None:
                cache_key = self._key(kind, system, system_id)
                if owner is None:
                    # Only where nothing is cached: a claim made meanwhile wins.
                    fills.append((cache_key, "", NO_OWNER_SECONDS, True))
                else:
                    fills.append((cache_key, owner, REDIS_FIXED_SECONDS, False))
        if self._redis is not None:
            await self._redis.set_many(fills)
        return found
