"""The policy over HTTP: headers while deprecated, 410 after the sunset, observers."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, cast

import httpx
import pytest
from litestar.middleware import DefineMiddleware

from policies.versioning.config import Deprecation, VersioningConfig
from policies.versioning.middleware import VersioningMiddleware, version_of
from tests.policies.versioning.support import CALLS, CONSUMER_HEADER, FakeClock, build_app

V1_NOTICE = "https://developer.q2c.dev/deprecations/v1"
CREATE_NOTICE = "https://developer.q2c.dev/deprecations/create-order"
SUNSET_POLICY = "https://developer.q2c.dev/sunset-policy"

# v1 as a whole: deprecated 2025-12-31, gone after 2026-12-31 23:59:59.
V1 = Deprecation(
    version="v1",
    deprecated_at=datetime(2025, 12, 31, tzinfo=UTC),
    sunset=datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC),
    link=V1_NOTICE,
    replacement="the /v2 API",
)
# createOrder (in v1) on its own, later schedule: it overrides the version entry.
CREATE_ORDER = Deprecation(
    operation="createOrder",
    deprecated_at=datetime(2026, 3, 1, tzinfo=UTC),
    sunset=datetime(2027, 6, 30, tzinfo=UTC),
    link=CREATE_NOTICE,
    sunset_link=SUNSET_POLICY,
    replacement="POST /v2/orders",
)
CONFIG = VersioningConfig(deprecations=[V1, CREATE_ORDER])

# RFC 9745 §2.1: Deprecation = sf-date, "@" and an integer.
SF_DATE = re.compile(r"^@-?[0-9]{1,15}$")
# RFC 9110 §5.6.7 IMF-fixdate, the form RFC 8594 requires senders to use.
IMF_FIXDATE = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$"
)
DEPRECATION_HEADERS = {"deprecation", "sunset", "link"}

Calls = list[tuple[str, str]]


class Harness:
    def __init__(self, client: httpx.AsyncClient, clock: FakeClock) -> None:
        self.client = client
        self.clock = clock
        self.deprecated: Calls = []
        self.retired: Calls = []


@pytest.fixture
async def make() -> AsyncIterator[Callable[..., Harness]]:
    clients: list[httpx.AsyncClient] = []

    def build(config: VersioningConfig = CONFIG, **kwargs: Any) -> Harness:
        clock = FakeClock()
        harness = Harness(cast("httpx.AsyncClient", None), clock)
        kwargs.setdefault(
            "on_deprecated_call", lambda op, who: harness.deprecated.append((op, who))
        )
        kwargs.setdefault("on_retired_call", lambda op, who: harness.retired.append((op, who)))
        middleware = DefineMiddleware(
            cast("Any", VersioningMiddleware), config=config, clock=clock, **kwargs
        )
        transport = httpx.ASGITransport(app=cast("Any", build_app(middleware)))
        harness.client = httpx.AsyncClient(transport=transport, base_url="http://gateway.test")
        clients.append(harness.client)
        return harness

    CALLS.clear()
    yield build
    for client in clients:
        await client.aclose()


ALICE = {CONSUMER_HEADER.decode(): "acme/alice"}


def lifecycle_headers(response: httpx.Response) -> dict[str, list[str]]:
    return {
        name: response.headers.get_list(name)
        for name in DEPRECATION_HEADERS
        if name in response.headers
    }


async def test_before_the_deprecation_nothing_changes(make: Callable[..., Harness]) -> None:
    h = make()
    h.clock.set("2025-12-30T23:59:59")
    response = await h.client.get("/v1/orders", headers=ALICE)
    assert response.status_code == 200
    assert lifecycle_headers(response) == {}
    assert h.deprecated == []


async def test_deprecated_responses_carry_the_three_fields_exactly(
    make: Callable[..., Harness],
) -> None:
    h = make()
    h.clock.set("2025-12-31T00:00:00")  # the instant itself counts as deprecated
    response = await h.client.get("/v1/orders", headers=ALICE)
    assert response.status_code == 200
    assert response.json() == {"data": []}
    assert response.headers.get_list("deprecation") == ["@1767139200"]
    assert response.headers.get_list("sunset") == ["Thu, 31 Dec 2026 23:59:59 GMT"]
    assert response.headers.get_list("link") == [f'<{V1_NOTICE}>; rel="deprecation"']


async def test_header_values_follow_the_rfc_grammars(make: Callable[..., Harness]) -> None:
    offset = Deprecation(
        operation="listOrders",
        # Offsets and sub-seconds in the config still give whole-second GMT values.
        deprecated_at=datetime.fromisoformat("2026-01-01T01:30:00.75+01:30"),
        sunset=datetime.fromisoformat("2026-07-01T09:15:00-07:00"),
        link=V1_NOTICE,
    )
    h = make(VersioningConfig(deprecations=[offset]))
    h.clock.set("2026-02-01T00:00:00")
    response = await h.client.get("/v1/orders")
    deprecation = response.headers["deprecation"]
    sunset = response.headers["sunset"]
    assert SF_DATE.match(deprecation)
    assert deprecation == "@1767225600"  # 2026-01-01T00:00:00Z
    assert IMF_FIXDATE.match(sunset)
    assert sunset == "Wed, 01 Jul 2026 16:15:00 GMT"
    assert parsedate_to_datetime(sunset) == offset.sunset
    assert datetime.fromtimestamp(int(deprecation[1:]), UTC) <= parsedate_to_datetime(sunset)


async def test_operation_entry_overrides_its_version(make: Callable[..., Harness]) -> None:
    h = make()
    h.clock.set("2026-01-15T00:00:00")  # v1 deprecated, createOrder's own date not reached
    listed = await h.client.get("/v1/orders")
    created = await h.client.post("/v1/orders")
    assert listed.headers["deprecation"] == "@1767139200"
    assert created.status_code == 201
    assert lifecycle_headers(created) == {}

    h.clock.set("2026-03-01T00:00:00")
    created = await h.client.post("/v1/orders")
    assert created.headers["deprecation"] == "@1772323200"
    assert created.headers["sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
    assert created.headers.get_list("link") == [
        f'<{CREATE_NOTICE}>; rel="deprecation"',
        f'<{SUNSET_POLICY}>; rel="sunset"',
    ]

    h.clock.set("2027-01-01T00:00:00")  # v1 retired, createOrder still only deprecated
    assert (await h.client.get("/v1/orders")).status_code == 410
    created = await h.client.post("/v1/orders")
    assert created.status_code == 201
    assert created.headers["deprecation"] == "@1772323200"


async def test_after_the_sunset_answers_410_without_calling_the_handler(
    make: Callable[..., Harness],
) -> None:
    h = make()
    h.clock.set("2027-06-30T00:00:00")  # the sunset instant itself is gone
    response = await h.client.post("/v1/orders", headers=ALICE, json={"lines": []})
    assert response.status_code == 410
    assert response.headers["content-type"] == "application/problem+json"
    assert CALLS["createOrder"] == 0
    body = response.json()
    assert body["type"] == "http://127.0.0.1:8080/problems/gone"
    assert body["status"] == 410
    assert body["code"] == "API_SUNSET"
    assert body["title"] == "Operation retired"
    assert body["instance"] == "/v1/orders"
    assert body["detail"] == (
        f"Operation createOrder was retired on 2027-06-30; use POST /v2/orders, see {CREATE_NOTICE}"
    )
    assert body.get("retryable", False) is False
    # The lifecycle fields still tell the client why and since when.
    assert response.headers["deprecation"] == "@1772323200"
    assert response.headers["sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
    assert f'<{CREATE_NOTICE}>; rel="deprecation"' in response.headers.get_list("link")
    assert h.retired == [("createOrder", "alice")]
    assert h.deprecated == []


async def test_version_wide_sunset_detail_names_the_version_and_time(
    make: Callable[..., Harness],
) -> None:
    h = make()
    h.clock.set("2026-12-31T23:59:58")
    assert (await h.client.get("/v1/orders")).status_code == 200
    h.clock.set("2026-12-31T23:59:59")
    response = await h.client.get("/v1/orders/ord_1")
    assert response.status_code == 410
    assert response.json()["detail"] == (
        f"API version v1 was retired on 2026-12-31 23:59:59 UTC; use the /v2 API, see {V1_NOTICE}"
    )
    assert CALLS["getOrder"] == 0
    assert CALLS["listOrders"] == 1


async def test_deprecated_without_sunset_keeps_working(make: Callable[..., Harness]) -> None:
    forever = Deprecation(
        version="v1", deprecated_at=datetime(2025, 1, 1, tzinfo=UTC), link=V1_NOTICE
    )
    h = make(VersioningConfig(deprecations=[forever]))
    h.clock.set("2999-01-01T00:00:00")
    response = await h.client.get("/v1/orders")
    assert response.status_code == 200
    assert response.headers["deprecation"] == "@1735689600"
    assert "sunset" not in response.headers


async def test_error_responses_from_the_handler_carry_the_fields_too(
    make: Callable[..., Harness],
) -> None:
    h = make()
    h.clock.set("2026-06-01T00:00:00")
    response = await h.client.get("/v1/orders/ord_404", headers=ALICE)
    assert response.status_code == 404
    assert response.headers["deprecation"] == "@1767139200"
    assert h.deprecated == [("getOrder", "alice")]


async def test_observer_gets_operation_and_consumer(make: Callable[..., Harness]) -> None:
    h = make()
    h.clock.set("2026-06-01T00:00:00")
    await h.client.get("/v1/orders", headers=ALICE)
    await h.client.get("/v1/orders", headers={CONSUMER_HEADER.decode(): "globex/bob"})
    await h.client.get("/v1/orders")
    await h.client.post("/v1/orders", headers=ALICE)
    await h.client.post("/v2/orders", headers=ALICE)
    await h.client.get("/health", headers=ALICE)
    assert h.deprecated == [
        ("listOrders", "alice"),
        ("listOrders", "bob"),
        ("listOrders", "anonymous"),
        ("createOrder", "alice"),
    ]
    assert h.retired == []


async def test_handlers_without_an_operation_id_are_named_by_route(
    make: Callable[..., Harness],
) -> None:
    h = make()
    h.clock.set("2026-06-01T00:00:00")
    response = await h.client.get("/v1/prices")
    assert response.headers["deprecation"] == "@1767139200"
    assert h.deprecated == [("/v1/prices", "anonymous")]


async def test_routes_not_deprecated_are_untouched(make: Callable[..., Harness]) -> None:
    h = make()
    for moment in ("2025-06-01T00:00:00", "2026-06-01T00:00:00", "2030-01-01T00:00:00"):
        h.clock.set(moment)
        v2 = await h.client.post("/v2/orders", headers=ALICE)
        plain = await h.client.get("/health", headers=ALICE)
        assert (v2.status_code, plain.status_code) == (201, 200)
        assert lifecycle_headers(v2) == {}
        assert lifecycle_headers(plain) == {}
    assert CALLS["createOrderV2"] == 3
    assert h.deprecated == []
    assert h.retired == []


async def test_empty_config_changes_nothing(make: Callable[..., Harness]) -> None:
    h = make(VersioningConfig())
    h.clock.set("2030-01-01T00:00:00")
    response = await h.client.post("/v1/orders")
    assert response.status_code == 201
    assert lifecycle_headers(response) == {}


async def test_a_failing_observer_does_not_fail_the_call(
    make: Callable[..., Harness], caplog: pytest.LogCaptureFixture
) -> None:
    def broken(operation: str, consumer: str) -> None:
        raise RuntimeError("metrics backend down")

    h = make(on_deprecated_call=broken)
    h.clock.set("2026-06-01T00:00:00")
    with caplog.at_level(logging.ERROR, logger="q2c.policies.versioning"):
        response = await h.client.get("/v1/orders")
    assert response.status_code == 200
    assert "versioning observer failed for listOrders" in caplog.text


async def test_decisions_are_cached_per_handler() -> None:
    clock = FakeClock("2026-06-01T00:00:00")
    seen: Calls = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    class Handler:
        def __init__(self, operation_id: object, *paths: str) -> None:
            self.operation_id = operation_id
            self.paths = set(paths)

    middleware = VersioningMiddleware(
        app, config=CONFIG, clock=clock, on_deprecated_call=lambda *a: seen.append(a)
    )
    single = Handler("listOrders", "/orders")
    mixed = Handler(None, "/v1/legacy", "/v2/legacy")  # one handler, two versions
    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def call(handler: Handler, path: str) -> None:
        scope = {"type": "http", "path": path, "headers": [], "route_handler": handler}
        await middleware(scope, cast("Any", None), send)

    await call(single, "/v1/orders")
    await call(mixed, "/v1/legacy")
    await call(mixed, "/v2/legacy")
    assert single in middleware._by_handler
    assert mixed not in middleware._by_handler  # its version varies by path
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert [dict(m["headers"]).get(b"deprecation") for m in starts] == [
        b"@1767139200",
        b"@1767139200",
        None,
    ]
    # Without a path template the version names the operation (bounded metric labels).
    assert seen == [("listOrders", "anonymous"), ("API version v1", "anonymous")]


async def test_non_http_scopes_pass_through() -> None:
    reached: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["type"])

    middleware = VersioningMiddleware(app, config=CONFIG, clock=FakeClock("2030-01-01T00:00:00"))
    await middleware({"type": "lifespan"}, cast("Any", None), cast("Any", None))
    await middleware(
        {"type": "websocket", "path": "/v1/stream", "route_handler": object()},
        cast("Any", None),
        cast("Any", None),
    )
    assert reached == ["lifespan", "websocket"]


@pytest.mark.parametrize(
    ("path", "version"),
    [
        ("/v1/orders", "v1"),
        ("/v12", "v12"),
        ("/v2/", "v2"),
        ("/", None),
        ("", None),
        ("/health", None),
        ("/v/orders", None),
        ("/vx1/orders", None),
        ("/api/v1/orders", None),
        ("/v\u00b2/orders", None),
    ],
)
def test_version_is_the_first_path_segment(path: str, version: str | None) -> None:
    assert version_of(path) == version
