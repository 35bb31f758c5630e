"""The authenticated caller, as every later policy and the domain see it."""

from __future__ import annotations

import msgspec

# The client id, plan and metrics label of a caller no token identifies (public
# routes, auth switched off).
ANONYMOUS = "anonymous"
# The tenant of a caller without a consumer (auth switched off in the configuration).
DEFAULT_TENANT = "default"


class Consumer(msgspec.Struct, frozen=True, kw_only=True):
    client_id: str
    tenant: str
    plan: str = "default"
    scopes: frozenset[str] = frozenset()

    @property
    def key(self) -> str:
        """Stable partition key for per-consumer state (rate limits, idempotency)."""
        return f"{self.tenant}/{self.client_id}"
