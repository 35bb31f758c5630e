"""How every adapter calls its system of record: one pooled transport, a timeout,
bounded retries, a circuit breaker, and one place where transport failures become
the gateway's dependency errors.

Vendor-specific error bodies are translated by each system's ``errors.py``;
this module only knows HTTP.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import msgspec
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from domains.errors import DependencyError, DependencyTimeout, DependencyUnavailable, GatewayError
from systems.outbound import Params, encode_body, encode_url, retry_after_seconds
from systems.transport import (
    ConnectError,
    TimeBudget,
    TransportError,
    TransportTimeout,
    UpstreamResponse,
    UpstreamTransport,
)

HeaderSource = Callable[[], Mapping[str, str]]
# (system, operation, method, url) -> a context around one attempt that yields the
# headers carrying its client span (traceparent); tracing plugs in here.
CallInstrument = Callable[[str, str, str, str], AbstractContextManager[Mapping[str, str]]]
# (system, operation, seconds, outcome) -> None; outcome is "ok" or an error class.
CallObserver = Callable[[str, str, float, str], None]
ErrorTranslator = Callable[[UpstreamResponse], GatewayError]

_RETRY_STATUSES = frozenset({429, 502, 503, 504})
# The longest pause between attempts, and the longest Retry-After worth waiting for:
# a system that asks for more is answered "unavailable" now rather than held open.
_MAX_PAUSE_SECONDS = 5.0


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

    @property
    def closed(self) -> bool:
        return self.opened_at is None

    def remaining(self) -> float:
        """Seconds until the next probe may go through (0 when closed)."""
        if self.opened_at is None:
            return 0.0
        return max(0.0, self.open_seconds - (time.monotonic() - self.opened_at))

    def allow(self) -> bool:
        if self.opened_at is None:
            return True
        now = time.monotonic()
        if now - self.opened_at >= self.open_seconds:
            self.opened_at = now  # half-open: one probe per pause
            return True
        return False

    def record(self, ok: bool) -> None:
        if ok:
            self.failures, self.opened_at = 0, None
            return
        self.failures += 1
        if self.failures >= self.failures_to_open:
            self.opened_at = time.monotonic()


class _AttemptFailed(Exception):
    """One attempt that may be worth repeating: a transport failure or a transient status."""

    def __init__(
        self,
        outcome: str,
        *,
        never_sent: bool = False,
        response: UpstreamResponse | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(outcome)
        self.outcome = outcome
        self.never_sent = never_sent
        self.response = response
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class _Call:
    method: str
    url: str
    headers: dict[str, str]
    content: bytes | None
    operation: str
    retry_safe: bool
    accept_statuses: frozenset[int]


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
    """One system of record reached through the shared transport."""

    def __init__(
        self,
        *,
        system: str,
        transport: UpstreamTransport,
        base_url: str,
        config: UpstreamConfig,
        translate: ErrorTranslator,
        headers: HeaderSource = _no_headers,
        observe: CallObserver = _no_observer,
        instrument: CallInstrument = _no_instrument,
    ) -> None:
        self.system = system
        self.base_url = base_url.rstrip("/")
        self._transport = transport
        self._config = config
        self._translate = translate
        self._headers = headers
        self._observe = observe
        self._instrument = instrument
        self._budget = TimeBudget(config.timeout_seconds, config.connect_timeout_seconds)
        self._backoff = wait_exponential_jitter(
            multiplier=config.backoff_seconds,
            jitter=config.backoff_seconds,
            max=_MAX_PAUSE_SECONDS,
        )
        self.breaker = CircuitBreaker(config.breaker_failures, config.breaker_open_seconds)

    async def request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        retry_safe: bool,
        accept_statuses: frozenset[int] = frozenset(),
        headers: Mapping[str, str] | None = None,
        params: Params | None = None,
        json: Any = None,
        data: Params | None = None,
        content: bytes | None = None,
    ) -> UpstreamResponse:
        """Send one logical call; returns 2xx/3xx or an accepted status, raises otherwise.

        ``path`` is relative to the base URL (or absolute); ``params`` are added to its
        query; the body is ``content`` (bytes), ``json`` or ``data`` (a form).
        """
        if not self.breaker.allow():
            paused = DependencyUnavailable(
                f"{self.system} is failing; calls are paused for up to "
                f"{self._config.breaker_open_seconds:g}s before the next probe.",
                system=self.system,
                code="DEPENDENCY_CIRCUIT_OPEN",
            )
            paused.retry_after = self.breaker.remaining()
            paused.delivery = "not_sent"
            raise paused
        call_headers = {**self._headers(), **(headers or {})}
        body = encode_body(call_headers, content=content, json=json, data=data)
        base = path if path.startswith(("https://", "http://")) else self.base_url + path
        call = _Call(
            method,
            encode_url(base, params),
            call_headers,
            body,
            operation,
            retry_safe,
            accept_statuses,
        )
        try:
            # Most calls end here, without paying for the retry machinery's set-up.
            return await self._attempt(call)
        except _AttemptFailed as failure:
            first = failure
        try:
            return await self._retry(call, first)
        except _AttemptFailed as last:
            raise self._error(call, last) from last.__cause__

    async def _retry(self, call: _Call, first: _AttemptFailed) -> UpstreamResponse:
        """The attempts after a failed first one, as tenacity decides: at most
        1 + max_retries in all, counting the first."""
        made = [first]

        async def attempt() -> UpstreamResponse:
            if made:
                raise made.pop()  # tenacity's attempt 1 is the one already made
            return await self._attempt(call)

        def may_retry(exc: BaseException) -> bool:
            return isinstance(exc, _AttemptFailed) and self._may_retry(call, exc)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(1 + self._config.max_retries),
            retry=retry_if_exception(may_retry),
            wait=self._pause,
            sleep=asyncio.sleep,
            reraise=True,
        )
        response: UpstreamResponse = await retrying(attempt)
        return response

    def _may_retry(self, call: _Call, failure: _AttemptFailed) -> bool:
        if not self.breaker.closed:
            return False  # the system was declared down (or this was the probe): stop
        if failure.retry_after is not None and failure.retry_after > _MAX_PAUSE_SECONDS:
            return False
        # A request that never left may be sent again even when it is not safe to repeat.
        return call.retry_safe or failure.never_sent

    def _pause(self, state: RetryCallState) -> float:
        """Exponential backoff with jitter, or the system's Retry-After if longer."""
        backoff = self._backoff(state)
        failure = state.outcome.exception() if state.outcome is not None else None
        if isinstance(failure, _AttemptFailed) and failure.retry_after is not None:
            return max(backoff, failure.retry_after)
        return backoff

    async def _attempt(self, call: _Call) -> UpstreamResponse:
        started = time.perf_counter()
        try:
            with self._instrument(self.system, call.operation, call.method, call.url) as span:
                response = await self._transport.send(
                    call.method,
                    call.url,
                    {**call.headers, **span} if span else call.headers,
                    call.content,
                    self._budget,
                )
        except TransportTimeout as exc:
            self._finish(call.operation, started, "timeout", ok=False)
            raise _AttemptFailed("timeout") from exc
        except TransportError as exc:
            self._finish(call.operation, started, "unavailable", ok=False)
            raise _AttemptFailed("unavailable", never_sent=isinstance(exc, ConnectError)) from exc
        status = response.status_code
        if status < 400 or status in call.accept_statuses:
            self._finish(call.operation, started, "ok", ok=True)
            return response
        transient = status in _RETRY_STATUSES
        self._finish(call.operation, started, f"http_{status // 100}xx", ok=not transient)
        if not transient:
            raise self._answered(response)
        retry_after = retry_after_seconds(response.headers.get("retry-after"))
        raise _AttemptFailed("status", response=response, retry_after=retry_after)

    def _answered(self, response: UpstreamResponse) -> GatewayError:
        """The system's own error answer: it has finished with the request."""
        error = self._translate(response)
        if isinstance(error, DependencyError):
            error.delivery = "answered"
            error.sor_status = response.status_code
        return error

    def _error(self, call: _Call, failure: _AttemptFailed) -> GatewayError:
        if failure.response is not None:
            return self._answered(failure.response)
        if failure.outcome == "timeout":
            return DependencyTimeout(
                f"{self.system} did not answer {call.operation} within "
                f"{self._config.timeout_seconds:g}s.",
                system=self.system,
            )
        cause = type(failure.__cause__).__name__
        error = DependencyUnavailable(
            f"{self.system} could not be reached for {call.operation}: {cause}.",
            system=self.system,
        )
        # A call that is not safe to repeat was retried only while nothing had been sent,
        # so its last attempt speaks for all; one that is safe to repeat may be sent again.
        error.delivery = "not_sent" if failure.never_sent else "unknown"
        return error

    def _finish(self, operation: str, started: float, outcome: str, *, ok: bool) -> None:
        self.breaker.record(ok)
        self._observe(self.system, operation, time.perf_counter() - started, outcome)
