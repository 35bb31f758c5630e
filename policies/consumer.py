"""The authenticated caller, as every later policy and the domain see it."""

from __future__ import annotations

import msgspec

from policies.asgi import Scope, state

ANONYMOUS_PLAN = "anonymous"


class Consumer(msgspec.Struct, frozen=True, kw_only=True):
    client_id: str
    tenant: str
    plan: str = "default"
    scopes: frozenset[str] = frozenset()

    @property
    def key(self) -> str:
        """Stable partition key for per-consumer state (rate limits, idempotency)."""
        return f"{self.tenant}/{self.client_id}"


def set_consumer(scope: Scope, consumer: Consumer) -> None:
    state(scope)["consumer"] = consumer


def get_consumer(scope: Scope) -> Consumer | None:
    consumer = state(scope).get("consumer")
    return consumer if isinstance(consumer, Consumer) else None
