"""The shared upstream call policy: bounded retries, timeouts, breaker, propagation."""

from __future__ import annotations

import httpx
import pytest

from domains.errors import DependencyRejected, DependencyTimeout, DependencyUnavailable
from gateway.http_transport import UpstreamTransport
from systems.upstream import Upstream, UpstreamConfig
from tests.support.servers import free_port

FAST = UpstreamConfig(
    max_retries=2, backoff_seconds=0.001, breaker_failures=3, breaker_open_seconds=60
)


def _translate(response: httpx.Response) -> DependencyRejected:
    return DependencyRejected(f"rejected {response.status_code}", system="erp")


def _upstream(
    handler: httpx.MockTransport,
    config: UpstreamConfig = FAST,
    observed: list[tuple[str, str]] | None = None,
) -> Upstream:
    def observe(system: str, operation: str, seconds: float, outcome: str) -> None:
        if observed is not None:
            observed.append((operation, outcome))

    return Upstream(
        system="erp",
        http=httpx.AsyncClient(transport=handler),
        base_url="http://erp.test",
        config=config,
        translate=_translate,
        headers=lambda: {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"},
        observe=observe,
    )


async def test_safe_calls_retry_transient_statuses_then_succeed() -> None:
    calls: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503 if len(calls) < 3 else 200, json={})

    observed: list[tuple[str, str]] = []
    upstream = _upstream(httpx.MockTransport(handle), observed=observed)
    response = await upstream.request("GET", "/x", operation="read", retry_safe=True)
    assert response.status_code == 200
    assert len(calls) == 3
    assert calls[0].headers["traceparent"].startswith("00-aaaa")
    assert observed == [("read", "http_5xx"), ("read", "http_5xx"), ("read", "ok")]


async def test_unsafe_calls_are_not_retried_after_reaching_the_system() -> None:
    calls = 0

    def handle(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503, json={})

    with pytest.raises(DependencyRejected):
        await _upstream(httpx.MockTransport(handle)).request(
            "POST", "/x", operation="create", retry_safe=False
        )
    assert calls == 1


async def test_refused_connection_is_retried_even_for_unsafe_calls() -> None:
    calls = 0

    def handle(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(201, json={})

    response = await _upstream(httpx.MockTransport(handle)).request(
        "POST", "/x", operation="create", retry_safe=False
    )
    assert response.status_code == 201
    assert calls == 2


async def test_timeouts_become_dependency_timeout_after_bounded_retries() -> None:
    calls = 0

    def handle(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(DependencyTimeout) as info:
        await _upstream(httpx.MockTransport(handle)).request(
            "GET", "/x", operation="read", retry_safe=True
        )
    assert calls == 3
    assert info.value.system == "erp"
    assert info.value.code == "DEPENDENCY_TIMEOUT"


async def test_breaker_opens_after_consecutive_failures() -> None:
    calls = 0

    def handle(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("down", request=request)

    upstream = _upstream(
        httpx.MockTransport(handle),
        UpstreamConfig(max_retries=0, breaker_failures=2, backoff_seconds=0.001),
    )
    for _ in range(2):
        with pytest.raises(DependencyUnavailable):
            await upstream.request("GET", "/x", operation="read", retry_safe=True)
    before = calls
    with pytest.raises(DependencyUnavailable) as info:
        await upstream.request("GET", "/x", operation="read", retry_safe=True)
    assert info.value.code == "DEPENDENCY_CIRCUIT_OPEN"
    assert calls == before  # the open breaker did not call the system


def test_config_validation_names_the_field() -> None:
    with pytest.raises(ValueError, match="timeout_seconds"):
        UpstreamConfig(timeout_seconds=0)
    with pytest.raises(ValueError, match="max_retries"):
        UpstreamConfig(max_retries=11)


async def test_aiohttp_transport_reports_a_refused_connection_as_connect_error() -> None:
    port = free_port()  # nothing listens there
    async with httpx.AsyncClient(transport=UpstreamTransport()) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/", timeout=2)
