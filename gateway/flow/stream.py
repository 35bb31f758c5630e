"""Canonical events as CloudEvents, appended to a Redis Stream per tenant.

The events table is the durable, ordered source (``GET /v1/events?after=``); the
stream is the delivery channel for consumers (at-least-once: a re-run step appends
the same event id again, and consumers de-duplicate by it).
"""

from __future__ import annotations

from collections import defaultdict

import msgspec
import redis.asyncio as aioredis

from contracts.events import CloudEvent
from domains.quote_to_cash.ports import CanonicalEvent

_ENCODER = msgspec.json.Encoder()


def cloud_event(event: CanonicalEvent, source: str = "/q2c") -> CloudEvent:
    return CloudEvent(
        id=event.id,
        source=f"{source}/tenants/{event.tenant}/transactions",
        type=event.type,
        subject=event.subject,
        time=event.time,
        transactionid=event.transaction_id,
        tenant=event.tenant,
        traceparent=event.traceparent,
        data=event.data,
    )


class RedisEventStream:
    """``XADD {prefix}events:{tenant}`` with the structured CloudEvent as one field;
    the stream is capped (approximately) at ``max_length`` entries."""

    def __init__(self, client: aioredis.Redis, prefix: str, max_length: int = 100_000) -> None:
        self._client = client
        self._prefix = prefix
        self._max_length = max_length

    def key(self, tenant: str) -> str:
        return f"{self._prefix}events:{tenant}"

    async def publish(self, events: list[CanonicalEvent]) -> None:
        if not events:
            return
        async with self._client.pipeline(transaction=False) as pipe:
            for event in events:
                pipe.xadd(
                    self.key(event.tenant),
                    {
                        "id": event.id,
                        "type": event.type,
                        "event": _ENCODER.encode(cloud_event(event)),
                    },
                    maxlen=self._max_length,
                    approximate=True,
                )
            await pipe.execute()


class MemoryEventStream:
    """The embedded default without Redis: per-tenant lists in this process."""

    def __init__(self) -> None:
        self.streams: dict[str, list[CloudEvent]] = defaultdict(list)

    async def publish(self, events: list[CanonicalEvent]) -> None:
        for event in events:
            self.streams[event.tenant].append(cloud_event(event))
