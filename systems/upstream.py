"""How every adapter calls its system of record: one pooled client, a timeout,
bounded retries for safe calls, a circuit breaker, and one place where transport
failures become the gateway's dependency errors.

Vendor-specific error bodies are translated by each system's ``errors.py``;
this module only knows HTTP.
"""

from __future__ import annotations

import asyncio
import base64
import random
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec

from domains.errors import DependencyTimeout, DependencyUnavailable, GatewayError

HeaderSource = Callable[[], Mapping[str, str]]
# (system, operation, method, url) -> a context around one attempt that yields the
# headers carrying its client span (traceparent); tracing plugs in here.
CallInstrument = Callable[[str, str, str, str], AbstractContextManager[Mapping[str, str]]]
# (system, operation, seconds, outcome) -> None; outcome is "ok" or an error class.
CallObserver = Callable[[str, str, float, str], None]
ErrorTranslator = Callable[[httpx.Response], GatewayError]

_RETRY_STATUSES = frozenset({429, 502, 503, 504})


class UpstreamConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Timeouts and resilience for one system of record."""

    timeout_seconds: float = 10.0
    connect_timeout_seconds: float = 3.0
    # Retries apply to calls that are safe to repeat (reads, upserts by
    # external id, writes with a vendor idempotency key), never blind POSTs.
    max_retries: int = 2
    backoff_seconds: float = 0.2
    breaker_failures: int = 5
    breaker_open_seconds: float = 30.0

    def __post_init__(self) -> None:
        if not 0 < self.timeout_seconds <= 300:
            raise ValueError("timeout_seconds must be in (0, 300]")
        if not 0 <= self.max_retries <= 10:
            raise ValueError("max_retries must be in [0, 10]")
        if self.breaker_failures < 1:
            raise ValueError("breaker_failures must be at least 1")


@dataclass
class CircuitBreaker:
    """Stops hammering a system that is down; lets one probe through after a pause."""

    failures_to_open: int
    open_seconds: float
    failures: int = 0
    opened_at: float | None = None

    def allow(self) -> bool:
        if self.opened_at is None:
            return True
        if time.monotonic() - self.opened_at >= self.open_seconds:
            self.opened_at = time.monotonic()  # half-open: one probe per pause
            return True
        return False

    def record(self, ok: bool) -> None:
        if ok:
            self.failures, self.opened_at = 0, None
            return
        self.failures += 1
        if self.failures >= self.failures_to_open:
            self.opened_at = time.monotonic()


def _no_headers() -> Mapping[str, str]:
    return {}


def _no_instrument(
    system: str, operation: str, method: str, url: str
) -> AbstractContextManager[Mapping[str, str]]:
    del system, operation, method, url
    return nullcontext({})


def _no_observer(system: str, operation: str, seconds: float, outcome: str) -> None:
    del system, operation, seconds, outcome


class Upstream:
    """One system of record reached through the shared client."""

    def __init__(
        self,
        *,
        system: str,
        http: httpx.AsyncClient,
        base_url: str,
        config: UpstreamConfig,
        translate: ErrorTranslator,
        headers: HeaderSource = _no_headers,
        observe: CallObserver = _no_observer,
        instrument: CallInstrument = _no_instrument,
    ) -> None:
        self.system = system
        self.base_url = base_url.rstrip("/")
        self._http = http
        self._config = config
        self._translate = translate
        self._headers = headers
        self._observe = observe
        self._instrument = instrument
        self._timeout = httpx.Timeout(
            config.timeout_seconds, connect=config.connect_timeout_seconds
        )
        self.breaker = CircuitBreaker(config.breaker_failures, config.breaker_open_seconds)
        self._timeout_ext = self._timeout.as_dict()
        self._base_prefix = self.base_url + "/"
        self._transport = http._transport_for_url(httpx.URL(self._base_prefix))

    async def request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        retry_safe: bool,
        accept_statuses: frozenset[int] = frozenset(),
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one logical call; returns 2xx/3xx or an accepted status, raises otherwise."""
        if not self.breaker.allow():
            raise DependencyUnavailable(
                f"{self.system} is failing; calls are paused for up to "
                f"{self._config.breaker_open_seconds:g}s before the next probe.",
                system=self.system,
                code="DEPENDENCY_CIRCUIT_OPEN",
            )
        url = path if path.startswith("http") else self.base_url + path
        headers = {**self._headers(), **kwargs.pop("headers", {})}
        attempts = 1 + (self._config.max_retries if retry_safe else 0)
        attempt = -1
        while attempt + 1 < attempts:
            attempt += 1
            started = time.perf_counter()
            try:
                with self._instrument(self.system, operation, method, url) as span_headers:
                    response = await self._send(method, url, {**headers, **span_headers}, kwargs)
            except httpx.TimeoutException as exc:
                self._finish(operation, started, "timeout", ok=False)
                if attempt + 1 < attempts:
                    await self._pause(attempt)
                    continue
                raise DependencyTimeout(
                    f"{self.system} did not answer {operation} within "
                    f"{self._config.timeout_seconds:g}s.",
                    system=self.system,
                ) from exc
            except httpx.TransportError as exc:
                self._finish(operation, started, "unavailable", ok=False)
                # A refused connection never reached the system, so even an
                # unsafe call may be tried again.
                never_sent = isinstance(exc, httpx.ConnectError)
                if attempt + 1 < attempts or (never_sent and attempt < self._config.max_retries):
                    await self._pause(attempt)
                    attempts = max(attempts, attempt + 2)
                    continue
                raise DependencyUnavailable(
                    f"{self.system} could not be reached for {operation}: {type(exc).__name__}.",
                    system=self.system,
                ) from exc
            status = response.status_code
            if status < 400 or status in accept_statuses:
                self._finish(operation, started, "ok", ok=True)
                return response
            retryable = status in _RETRY_STATUSES
            self._finish(operation, started, f"http_{status // 100}xx", ok=not retryable)
            if retryable and attempt + 1 < attempts:
                await self._pause(attempt, response.headers.get("retry-after"))
                continue
            raise self._translate(response)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(
        self, method: str, url: str, headers: dict[str, str], kwargs: dict[str, Any]
    ) -> httpx.Response:
        """One HTTP exchange straight through the transport.

        The client's per-request work (merging defaults, cookies, auth, redirect
        handling, matching mounts) is all unused here and was a third of the
        gateway's CPU per call in bench/; the client still owns the transports.
        """
        auth = kwargs.pop("auth", None)
        if isinstance(auth, tuple):  # (user, password), as httpx clients accept it
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            headers = {**headers, "Authorization": f"Basic {token}"}
        request = httpx.Request(
            method, url, headers=headers, extensions={"timeout": self._timeout_ext}, **kwargs
        )
        transport = (
            self._transport
            if url.startswith(self._base_prefix)
            else self._http._transport_for_url(request.url)  # private API: httpx is pinned <0.29
        )
        hooks = self._http.event_hooks  # honoured, as the client would (tests record calls)
        for hook in hooks["request"]:
            await hook(request)
        response = await transport.handle_async_request(request)
        response.request = request
        for hook in hooks["response"]:
            await hook(response)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    def _finish(self, operation: str, started: float, outcome: str, *, ok: bool) -> None:
        self.breaker.record(ok)
        self._observe(self.system, operation, time.perf_counter() - started, outcome)

    async def _pause(self, attempt: int, retry_after: str | None = None) -> None:
        delay = self._config.backoff_seconds * (2**attempt) * (0.5 + random.random())
        if retry_after and retry_after.isdigit():
            delay = max(delay, min(float(retry_after), 5.0))
        await asyncio.sleep(delay)


def upstream_unavailable(system: str, response: httpx.Response, message: str) -> GatewayError:
    """The common shape for a vendor 5xx once its body has been read."""
    return DependencyUnavailable(
        f"{system} failed with HTTP {response.status_code}: {message}"[:1000], system=system
    )
