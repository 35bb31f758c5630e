"""Keys from the identity provider's JWKS: cached, refreshed, and refetched on an unknown kid.

Every fetch, for whatever reason, is at most one per ``refetch_interval``, and
concurrent misses share one in-flight fetch, so made-up kids cannot turn the
gateway into a load generator against the issuer.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import msgspec

from policies.auth.keys import VerificationKey, key_from_jwk

log = logging.getLogger("q2c.auth")
MAX_JWKS_BYTES = 512 * 1024


class JwksKeySource:
    def __init__(
        self,
        url: str,
        client: httpx.AsyncClient,
        *,
        issuer: str,
        algorithms: Iterable[str],
        refetch_interval: float = 60,
        cache_seconds: float = 300,
        timeout: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._client = client
        self._issuer = issuer
        self._algorithms = frozenset(algorithms)
        self._refetch_interval = refetch_interval
        self._cache_seconds = cache_seconds
        self._timeout = timeout
        self._monotonic = monotonic
        self._keys: dict[str | None, VerificationKey] = {}
        self._loaded_at = -math.inf
        self._attempted_at = -math.inf
        self._inflight: asyncio.Future[None] | None = None
        self.fetches = 0  # fetch attempts, for tests and diagnostics
        self.loaded = False  # a key set was fetched successfully at least once

    def cached(self, kid: str | None) -> VerificationKey | None:
        """The key for ``kid`` if it is known and the set is fresh; never does I/O."""
        if self._monotonic() - self._loaded_at >= self._cache_seconds:
            return None
        return self._keys.get(kid)

    async def get(self, kid: str | None) -> VerificationKey | None:
        """The key for ``kid``, refetching the set when it is stale or the kid is unknown."""
        key = self.cached(kid)
        if key is not None:
            return key
        if self._inflight is not None or self._may_fetch():
            await self.refresh()
        # A stale set whose refresh failed still verifies: availability over freshness.
        return self._keys.get(kid)

    def _may_fetch(self) -> bool:
        return self._monotonic() - self._attempted_at >= self._refetch_interval

    async def refresh(self) -> None:
        """Fetch the key set now, joining a fetch that is already running."""
        if self._inflight is None:
            self._attempted_at = self._monotonic()
            self.fetches += 1
            task = asyncio.ensure_future(self._fetch())
            self._inflight = task
            task.add_done_callback(self._fetched)
        # shield: one caller giving up must not cancel the fetch the others wait for.
        await asyncio.shield(self._inflight)

    def _fetched(self, _task: asyncio.Future[None]) -> None:
        self._inflight = None

    async def _fetch(self) -> None:
        try:
            response = await self._client.get(
                self.url, headers={"accept": "application/json"}, timeout=self._timeout
            )
            if response.status_code != 200:
                raise ValueError(f"HTTP {response.status_code}")
            if len(response.content) > MAX_JWKS_BYTES:
                raise ValueError("key set larger than 512 KiB")
            document = msgspec.json.decode(response.content)
            keys = document.get("keys") if isinstance(document, dict) else None
            if not isinstance(keys, list):
                raise ValueError("no 'keys' array")
        except (httpx.HTTPError, msgspec.DecodeError, ValueError) as exc:
            log.warning("JWKS fetch from %s failed: %s", self.url, exc)
            return
        except Exception:  # never let one bad fetch break every waiting request
            log.exception("JWKS fetch from %s failed unexpectedly", self.url)
            return
        self._keys = self._parse(keys)
        self._loaded_at = self._monotonic()
        self.loaded = True

    def _parse(self, keys: list[Any]) -> dict[str | None, VerificationKey]:
        parsed: dict[str | None, VerificationKey] = {}
        keyless = 0
        for entry in keys:
            if not isinstance(entry, dict):
                continue
            try:
                key = key_from_jwk(entry, issuer=self._issuer, allowed=self._algorithms)
            except ValueError as exc:
                log.info("JWKS %s: skipping key %r: %s", self.url, entry.get("kid"), exc)
                continue
            keyless += key.kid is None
            parsed[key.kid] = key
        if keyless > 1:
            parsed.pop(None)  # ambiguous: tokens without kid cannot pick one
        return parsed
