"""Domain errors carry no HTTP status: the gateway's one table gives it, and the
one problem builder writes the body the policies write too."""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar, get

from contracts.problem import PROBLEM_TYPE_BASE
from domains.errors import (
    BadRequest,
    Conflict,
    DependencyError,
    DependencyRejected,
    DependencyTimeout,
    DependencyUnavailable,
    FieldIssue,
    GatewayError,
    NotConfigured,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationFailed,
)
from gateway.app import create_app
from gateway.problems import EXCEPTION_HANDLERS, STATUS
from gateway.settings import ServerSettings, embedded_settings
from policies.asgi import Receive, Scope, Send, send_problem
from policies.problems import set_problem_type_base
from policies.tracing import TracingMiddleware

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = {"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"}


class _VendorOutage(DependencyUnavailable):
    """An adapter's own refinement of a taxonomy error."""


CASES: list[tuple[GatewayError, int, str]] = [
    (BadRequest("bad cursor"), 400, "validation"),
    (ValidationFailed("bad lines", errors=(FieldIssue("lines[0]", "no such product"),)), 422,
     "validation"),
    (NotFound("no order"), 404, "not-found"),
    (Conflict("exists", existing_id="cus_01JDQ2C0000000000000000000"), 409, "conflict"),
    (PreconditionFailed("stale"), 412, "precondition"),
    (PreconditionRequired("no If-Match"), 428, "precondition"),
    (NotConfigured("no tax engine"), 501, "not-configured"),
    (DependencyRejected("bad data", system="sap_s4hana", vendor_code="V1"), 502,
     "dependency-rejected"),
    (DependencyUnavailable("down", system="stripe"), 503, "dependency-unavailable"),
    (_VendorOutage("down", system="stripe"), 503, "dependency-unavailable"),
    (DependencyTimeout("slow", system="avalara"), 504, "dependency-timeout"),
    (DependencyError("odd", system="netsuite"), 500, "dependency"),
]


def test_errors_know_no_status() -> None:
    assert not hasattr(GatewayError("x"), "status")
    assert all(not hasattr(cls, "status") for cls in STATUS)


@pytest.mark.parametrize(("error", "status", "kind"), CASES, ids=lambda c: type(c).__name__)
async def test_each_error_answers_its_status_as_a_problem(
    error: GatewayError, status: int, kind: str
) -> None:
    @get("/boom", sync_to_thread=False)
    def boom() -> None:
        raise error

    app = TracingMiddleware(Litestar([boom], exception_handlers=EXCEPTION_HANDLERS))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
    ) as client:
        response = await client.get("/boom", headers=TRACEPARENT)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    assert problem["type"] == f"http://127.0.0.1:8080/problems/{kind}"
    assert (problem["code"], problem["title"]) == (error.code, error.title)
    assert problem["instance"] == "/boom"
    assert problem["trace_id"] == TRACE
    assert problem.get("system", "") == error.system
    assert problem.get("retryable", False) is error.retryable
    assert problem.get("existing_id", "") == error.existing_id
    assert [e["field"] for e in problem.get("errors", [])] == [i.field for i in error.errors]


async def test_a_policy_problem_is_built_the_same_way() -> None:
    async def refuse(scope: Scope, receive: Receive, send: Send) -> None:
        await send_problem(
            scope, send, status=409, code="CONFLICT", title="Conflict", kind="conflict"
        )

    @get("/boom", sync_to_thread=False)
    def boom() -> None:
        raise Conflict("exists")

    policy = TracingMiddleware(refuse)
    handler = TracingMiddleware(Litestar([boom], exception_handlers=EXCEPTION_HANDLERS))
    bodies = []
    for app in (policy, handler):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
        ) as client:
            response = await client.get("/boom", headers=TRACEPARENT)
        bodies.append({k: v for k, v in response.json().items() if k != "detail"})
    assert bodies[0] == bodies[1]


async def test_problem_types_name_the_gateways_own_pages() -> None:
    """A problem's ``type`` is the gateway's public address + /problems/<kind>, and
    dereferencing it on the gateway leads to the portal page that explains it."""
    settings = embedded_settings(
        server=ServerSettings(public_url="https://api.example.com")
    )
    app = create_app(settings)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://api.example.com"
        ) as client:
            refused = await client.get("/v1/products")  # no token
            kind_uri = refused.json()["type"]
            assert kind_uri == "https://api.example.com/problems/unauthorized"
            page = await client.get(kind_uri, follow_redirects=True)
        assert page.status_code == 200
        assert str(page.url).endswith("/portal/problems/unauthorized")
        assert "text/html" in page.headers["content-type"]
    finally:
        set_problem_type_base(PROBLEM_TYPE_BASE)


def test_the_default_base_is_where_the_gateway_listens() -> None:
    assert ServerSettings().problem_type_base() == "http://127.0.0.1:8080/problems/"
    assert ServerSettings(host="0.0.0.0", port=9000).problem_type_base() == (
        "http://0.0.0.0:9000/problems/"
    )
    assert ServerSettings(public_url="https://q2c.example.com/").problem_type_base() == (
        "https://q2c.example.com/problems/"
    )
    configured = ServerSettings(problem_base_url="https://docs.example.com/errors/")
    assert configured.problem_type_base() == "https://docs.example.com/errors/"
