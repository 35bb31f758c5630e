"""How the gateway exposes its governance metrics, validated at start-up."""

from __future__ import annotations

import itertools
import math
import re
from typing import Annotated

import msgspec

# 1 ms .. 10 s: gateway overhead lives at the low end, SoR calls and their
# timeouts at the high end.
DEFAULT_LATENCY_BUCKETS: tuple[float, ...] = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)
_PATH = re.compile(r"^/[A-Za-z0-9._~/-]{0,200}$")
_SCOPE = re.compile(r"^[a-z][a-z_]{0,31}:(read|write)$")
_HOST = re.compile(r"^[A-Za-z0-9.:\[\]-]{1,255}$")


class MetricsConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Prometheus metrics at ``path`` on the API port and/or on a separate listener."""

    # False: the middleware passes requests through, hooks record nothing and
    # the routes should not be mounted.
    enabled: bool = True
    # Where the Prometheus text is served on the API port.
    path: str = "/metrics"
    # Scope a caller needs to read /metrics and the governance report on the API
    # port; None makes them public (only sensible on a private network).
    required_scope: str | None = "ops:read"
    # Also serve GET /metrics, without auth, on this address (a port reachable only
    # by the scraper). None: no separate listener; 0 picks a free port (tests).
    listen_port: Annotated[int, msgspec.Meta(ge=0, le=65535)] | None = None
    listen_host: str = "127.0.0.1"
    # Distinct consumers (client ids) labelled per process; later ones are counted
    # as "other", so a flood of new clients cannot explode the series count.
    max_consumers: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 50
    # Distinct tenants labelled per process; later ones are counted as "_other", which
    # only the global view (ops:admin) shows.
    max_tenants: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 100
    # Upper bounds (seconds) of the gateway, SoR-call and SoR-wait histograms.
    latency_buckets: Annotated[
        tuple[float, ...], msgspec.Meta(min_length=1, max_length=40)
    ] = DEFAULT_LATENCY_BUCKETS

    def __post_init__(self) -> None:
        if not _PATH.match(self.path) or "//" in self.path:
            raise ValueError(f"metrics.path must be an absolute URL path (got {self.path!r})")
        if self.required_scope is not None and not _SCOPE.match(self.required_scope):
            raise ValueError(
                "metrics.required_scope must look like 'ops:read' "
                f"(got {self.required_scope!r})"
            )
        if self.listen_port is not None and not 0 <= self.listen_port <= 65535:
            raise ValueError(f"metrics.listen_port must be in [0, 65535] (got {self.listen_port})")
        if not _HOST.match(self.listen_host):
            raise ValueError(
                f"metrics.listen_host is not a host name or address: {self.listen_host!r}"
            )
        if not 1 <= self.max_consumers <= 10_000:
            raise ValueError(
                f"metrics.max_consumers must be in [1, 10000] (got {self.max_consumers})"
            )
        if not 1 <= self.max_tenants <= 10_000:
            raise ValueError(f"metrics.max_tenants must be in [1, 10000] (got {self.max_tenants})")
        buckets = self.latency_buckets
        if not 1 <= len(buckets) <= 40:
            raise ValueError("metrics.latency_buckets must hold 1 to 40 bounds")
        if any(not math.isfinite(b) or b <= 0 for b in buckets):
            raise ValueError("metrics.latency_buckets must be finite and > 0 (+Inf is implied)")
        if any(b >= c for b, c in itertools.pairwise(buckets)):
            raise ValueError("metrics.latency_buckets must be strictly increasing")
