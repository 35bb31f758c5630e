"""The upstream call policy (bounded retries, timeouts, breaker, propagation), as one
contract suite over every transport: aiohttp and httpx against a real local HTTP
server, and httpx against httpx.MockTransport."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

import pytest

from domains.errors import DependencyRejected, DependencyTimeout, DependencyUnavailable
from systems.transport import UpstreamResponse, UpstreamTransport
from systems.upstream import CircuitBreaker, Upstream, UpstreamConfig
from tests.support.scripted_upstream import TRANSPORTS, ScriptedSystem, Step, reach, scripted_server

FAST = UpstreamConfig(
    timeout_seconds=0.5, max_retries=2, backoff_seconds=0.001, breaker_failures=5
)
TRACEPARENT = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"
UNAVAILABLE = Step(503, body=b"down")


def _translate(response: UpstreamResponse) -> DependencyRejected:
    return DependencyRejected(f"rejected {response.status_code}", system="erp")


@dataclass
class Harness:
    """An Upstream over one transport to the scripted system, and what it observed."""

    system: ScriptedSystem
    transport: UpstreamTransport
    base_url: str
    observed: list[tuple[str, str]] = field(default_factory=list)

    def upstream(self, config: UpstreamConfig = FAST) -> Upstream:
        def observe(system: str, operation: str, seconds: float, outcome: str) -> None:
            assert seconds >= 0
            self.observed.append((operation, outcome))

        def instrument(
            system: str, operation: str, method: str, url: str
        ) -> AbstractContextManager[dict[str, str]]:
            return nullcontext({"x-attempt-of": f"{system}/{operation} {method} {url}"})

        return Upstream(
            system="erp",
            transport=self.transport,
            base_url=self.base_url,
            config=config,
            translate=_translate,
            headers=lambda: {"traceparent": TRACEPARENT},
            observe=observe,
            instrument=instrument,
        )


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[ScriptedSystem, str]]:
    with scripted_server() as value:
        yield value


@pytest.fixture(params=TRANSPORTS)
async def sor(
    request: pytest.FixtureRequest, server: tuple[ScriptedSystem, str]
) -> AsyncIterator[Harness]:
    system, url = server
    system.reset()
    async with reach(request.param, system, url) as (transport, base_url):
        yield Harness(system, transport, base_url)


@pytest.fixture(params=TRANSPORTS)
async def refusing(
    request: pytest.FixtureRequest, server: tuple[ScriptedSystem, str]
) -> AsyncIterator[Harness]:
    system, url = server
    system.reset()
    async with reach(request.param, system, url, refusing=True) as (transport, base_url):
        yield Harness(system, transport, base_url)


# --------------------------------------------------------------------- retries


async def test_a_safe_call_is_retried_on_transient_statuses_then_succeeds(sor: Harness) -> None:
    sor.system.will(UNAVAILABLE, Step(502), Step(200, body=b'{"id": 7}'))
    response = await sor.upstream().request("GET", "/x", operation="read", retry_safe=True)
    assert response.status_code == 200
    assert response.json() == {"id": 7}
    assert len(sor.system.seen) == 3
    first = sor.system.seen[0]
    assert first.headers["traceparent"] == TRACEPARENT
    assert first.headers["x-attempt-of"] == f"erp/read GET {sor.base_url}/x"
    assert sor.observed == [("read", "http_5xx"), ("read", "http_5xx"), ("read", "ok")]


async def test_retries_are_bounded_by_max_retries(sor: Harness) -> None:
    sor.system.will(*[UNAVAILABLE] * 5)
    with pytest.raises(DependencyRejected, match="rejected 503"):
        await sor.upstream().request("GET", "/x", operation="read", retry_safe=True)
    assert len(sor.system.seen) == 1 + FAST.max_retries


async def test_retry_after_is_honoured_on_a_safe_call(sor: Harness) -> None:
    sor.system.will(Step(503, headers=(("Retry-After", "1"),)), Step(200))
    started = time.monotonic()
    response = await sor.upstream().request("GET", "/x", operation="read", retry_safe=True)
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.95
    assert len(sor.system.seen) == 2


async def test_a_retry_after_beyond_the_cap_fails_now_instead_of_waiting(sor: Harness) -> None:
    sor.system.will(Step(503, headers=(("Retry-After", "120"),)), Step(200))
    started = time.monotonic()
    with pytest.raises(DependencyRejected, match="rejected 503"):
        await sor.upstream().request("GET", "/x", operation="read", retry_safe=True)
    assert time.monotonic() - started < 2
    assert len(sor.system.seen) == 1


async def test_an_unsafe_call_is_not_retried_after_reaching_the_system(sor: Harness) -> None:
    sor.system.will(Step(503, headers=(("Retry-After", "0"),)), Step(201))
    with pytest.raises(DependencyRejected, match="rejected 503"):
        await sor.upstream().request("POST", "/x", operation="create", retry_safe=False)
    assert len(sor.system.seen) == 1


@pytest.mark.parametrize("status", [400, 401, 404, 409, 422, 500])
async def test_client_errors_and_500_are_not_retried(sor: Harness, status: int) -> None:
    sor.system.will(Step(status), Step(200))
    with pytest.raises(DependencyRejected, match=f"rejected {status}"):
        await sor.upstream().request("GET", "/x", operation="read", retry_safe=True)
    assert len(sor.system.seen) == 1
    assert sor.observed == [("read", f"http_{status // 100}xx")]


async def test_429_is_retried_for_a_safe_call(sor: Harness) -> None:
    sor.system.will(Step(429), Step(200))
    response = await sor.upstream().request("GET", "/x", operation="read", retry_safe=True)
    assert response.status_code == 200
    assert len(sor.system.seen) == 2


async def test_an_accepted_status_is_returned_not_raised(sor: Harness) -> None:
    sor.system.will(Step(404, body=b'{"error": "nope"}'))
    response = await sor.upstream().request(
        "GET", "/x", operation="read", retry_safe=True, accept_statuses=frozenset({404})
    )
    assert response.status_code == 404
    assert sor.observed == [("read", "ok")]


async def test_redirects_are_returned_not_followed(sor: Harness) -> None:
    sor.system.will(Step(302, headers=(("Location", "/elsewhere"),), body=b""))
    response = await sor.upstream().request("GET", "/x", operation="read", retry_safe=True)
    assert response.status_code == 302
    assert response.headers["location"] == "/elsewhere"
    assert len(sor.system.seen) == 1


# -------------------------------------------------------------------- timeouts


async def test_timeouts_become_dependency_timeout_after_bounded_retries(sor: Harness) -> None:
    sor.system.will(*[Step(hang=1.5)] * 3)
    config = UpstreamConfig(timeout_seconds=0.2, max_retries=2, backoff_seconds=0.001)
    with pytest.raises(DependencyTimeout) as info:
        await sor.upstream(config).request("GET", "/x", operation="read", retry_safe=True)
    assert len(sor.system.seen) == 3
    assert info.value.system == "erp"
    assert info.value.code == "DEPENDENCY_TIMEOUT"
    assert sor.observed == [("read", "timeout")] * 3


async def test_a_post_that_timed_out_after_sending_is_not_retried(sor: Harness) -> None:
    sor.system.will(Step(hang=1.5), Step(201))
    config = UpstreamConfig(timeout_seconds=0.2, max_retries=2, backoff_seconds=0.001)
    with pytest.raises(DependencyTimeout):
        await sor.upstream(config).request(
            "POST", "/orders", operation="create", retry_safe=False, json={"n": 1}
        )
    assert [seen.body for seen in sor.system.seen] == [b'{"n":1}']


# ------------------------------------------------------------ refused connections


async def test_a_refused_connection_is_retried_even_for_an_unsafe_call(refusing: Harness) -> None:
    sor = refusing
    with pytest.raises(DependencyUnavailable) as info:
        await sor.upstream().request("POST", "/orders", operation="create", retry_safe=False)
    assert info.value.code == "DEPENDENCY_UNAVAILABLE"
    assert "ConnectError" in info.value.detail
    assert sor.observed == [("create", "unavailable")] * (1 + FAST.max_retries)


# ------------------------------------------------------------------ the breaker


async def test_the_breaker_opens_after_failures_and_lets_one_probe_through(sor: Harness) -> None:
    config = UpstreamConfig(
        max_retries=0, backoff_seconds=0.001, breaker_failures=2, breaker_open_seconds=0.3
    )
    upstream = sor.upstream(config)
    sor.system.will(UNAVAILABLE, UNAVAILABLE)
    for _ in range(2):
        with pytest.raises(DependencyRejected):
            await upstream.request("GET", "/x", operation="read", retry_safe=True)
    with pytest.raises(DependencyUnavailable) as info:
        await upstream.request("GET", "/x", operation="read", retry_safe=True)
    assert info.value.code == "DEPENDENCY_CIRCUIT_OPEN"
    assert len(sor.system.seen) == 2  # the open breaker did not call the system

    await asyncio.sleep(0.35)
    sor.system.will(Step(delay=0.05))  # the probe is still out when the others come
    results = await asyncio.gather(
        *(upstream.request("GET", "/x", operation="read", retry_safe=True) for _ in range(3)),
        return_exceptions=True,
    )
    answered = [r for r in results if isinstance(r, UpstreamResponse)]
    paused = [r for r in results if isinstance(r, DependencyUnavailable)]
    assert len(answered) == 1
    assert len(paused) == 2
    assert len(sor.system.seen) == 3  # exactly one probe
    # the probe succeeded: the breaker is closed again
    await upstream.request("GET", "/x", operation="read", retry_safe=True)
    assert len(sor.system.seen) == 4


async def test_a_failed_probe_opens_the_breaker_again(sor: Harness) -> None:
    config = UpstreamConfig(
        max_retries=2, backoff_seconds=0.001, breaker_failures=1, breaker_open_seconds=0.2
    )
    upstream = sor.upstream(config)
    sor.system.will(UNAVAILABLE, UNAVAILABLE, UNAVAILABLE)
    with pytest.raises(DependencyRejected):
        await upstream.request("GET", "/x", operation="read", retry_safe=True)
    await asyncio.sleep(0.25)
    with pytest.raises(DependencyRejected):  # the probe, which fails
        await upstream.request("GET", "/x", operation="read", retry_safe=True)
    with pytest.raises(DependencyUnavailable, match="paused"):
        await upstream.request("GET", "/x", operation="read", retry_safe=True)
    assert len(sor.system.seen) == 2


async def test_retries_stop_once_the_breaker_opens(sor: Harness) -> None:
    # Before, a call kept retrying a system its own failures had just declared down.
    config = UpstreamConfig(max_retries=2, backoff_seconds=0.001, breaker_failures=2)
    sor.system.will(*[UNAVAILABLE] * 5)
    with pytest.raises(DependencyRejected):
        await sor.upstream(config).request("GET", "/x", operation="read", retry_safe=True)
    assert len(sor.system.seen) == 2


def test_the_breaker_counts_consecutive_failures_only() -> None:
    breaker = CircuitBreaker(failures_to_open=2, open_seconds=60)
    breaker.record(False)
    breaker.record(True)
    breaker.record(False)
    assert breaker.closed
    assert breaker.allow()
    breaker.record(False)
    assert not breaker.closed
    assert not breaker.allow()


# -------------------------------------------------- what is sent and what comes back


async def test_queries_and_bodies_arrive_as_encoded(sor: Harness) -> None:
    upstream = sor.upstream()
    await upstream.request(
        "GET",
        "/sap/A_Product('P 1')?sap-client=100",
        operation="read",
        retry_safe=True,
        params={"$filter": "Product eq 'X+1/2'", "$top": 1, "flag": True, "many": ["a", "b"]},
    )
    await upstream.request(
        "POST", "/form", operation="login", retry_safe=True, data={"grant_type": "x y", "n": None}
    )
    await upstream.request(
        "PATCH", "/json", operation="upsert", retry_safe=True, json={"name": "Zoë", "n": 1.5}
    )
    await upstream.request(
        "PUT",
        "/raw",
        operation="put",
        retry_safe=True,
        content=b'{"raw":true}',
        headers={"Content-Type": "application/vnd.x+json"},
    )
    read, form, json_, raw = sor.system.seen
    assert read.path == "/sap/A_Product('P%201')"
    assert read.query == (
        "sap-client=100&%24filter=Product+eq+%27X%2B1%2F2%27&%24top=1&flag=true&many=a&many=b"
    )
    assert read.body == b""
    assert (form.body, form.headers["content-type"]) == (
        b"grant_type=x+y&n=",
        "application/x-www-form-urlencoded",
    )
    assert (json_.body, json_.headers["content-type"]) == (
        '{"name":"Zoë","n":1.5}'.encode(),
        "application/json",
    )
    assert (raw.body, raw.headers["content-type"]) == (b'{"raw":true}', "application/vnd.x+json")
    assert raw.headers["content-length"] == "12"


async def test_the_answer_reads_like_an_httpx_response(sor: Harness) -> None:
    sor.system.will(
        Step(
            200,
            headers=(
                ("Content-Type", "text/plain; charset=iso-8859-1"),
                ("X-CSRF-Token", "tok"),
                ("Set-Cookie", "SAP_SESSIONID=abc; Path=/; HttpOnly"),
                ("Set-Cookie", "sap-usercontext=sap-client=100; Path=/"),
            ),
            body="Grüße".encode("iso-8859-1"),
        )
    )
    response = await sor.upstream().request("GET", "/x", operation="read", retry_safe=True)
    assert response.headers.get("x-csrf-token") == response.headers["X-Csrf-Token"] == "tok"
    assert response.cookies == {"SAP_SESSIONID": "abc", "sap-usercontext": "sap-client=100"}
    assert response.text == "Grüße"
    assert response.content == "Grüße".encode("iso-8859-1")
