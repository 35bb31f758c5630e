"""Property-based contract tests of every operation against the published schema.

Positive and negative data for each operation, then the stateful phase, which
follows the document's OpenAPI links (customer -> order -> invoice -> payment)
with real ids from earlier responses. Over the ASGI app with the embedded
sandboxes, authenticated with every scope, with a fixed seed so a failure
reproduces. `make test` runs a bounded number of examples; `make contract-long`
(Q2C_CONTRACT_EXAMPLES, Q2C_STATEFUL_STEPS) runs many more.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Response
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core import NOT_SET
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    ensure_resource_availability,
    missing_required_header,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from gateway.app import create_app
from gateway.flow.settings import FlowSettings
from gateway.stores.sql.config import HOME_ENV
from gateway.wiring import build_runtime
from policies.auth.scopes import ALL_SCOPES
from policies.rate_limit.config import Plan
from tests.support.settings import gateway_settings

EXAMPLES = int(os.environ.get("Q2C_CONTRACT_EXAMPLES", "5"))
STATEFUL_EXAMPLES = int(os.environ.get("Q2C_STATEFUL_EXAMPLES", "8"))
STATEFUL_STEPS = int(os.environ.get("Q2C_STATEFUL_STEPS", "10"))

# Room for every generated call: the checks are about the contract, not the limiter
# (RateLimit headers are still sent and checked; the token endpoint keeps its IP plan).
# The transaction routes are documented, so they are served: the gateway only
# records and enqueues here (no worker in this process).
_settings = gateway_settings(flow=FlowSettings(embedded_worker=False))
_settings = msgspec.structs.replace(
    _settings,
    rate_limit=msgspec.structs.replace(
        _settings.rate_limit,
        plans={
            **_settings.rate_limit.plans,
            "contract": Plan(quota=1_000_000, window_seconds=60, burst=1_000_000),
        },
    ),
)
gateway = create_app(_settings)
_issuer = gateway.runtime.issuer
assert _issuer is not None, "the embedded default has the built-in issuer"
_issuer.load()
TOKEN = _issuer.mint("sandbox-client", sorted(ALL_SCOPES), "sandbox", 6 * 3600, plan="contract")
# The stateful scenarios each get a home of their own (fresh stores); the issuer key
# stays this one, or TOKEN would be signed by a key their gateway does not know.
assert _settings.auth.builtin_issuer is not None
_scenario_settings = msgspec.structs.replace(
    _settings,
    auth=msgspec.structs.replace(
        _settings.auth,
        builtin_issuer=msgspec.structs.replace(
            _settings.auth.builtin_issuer, key_file=str(_issuer.key_file)
        ),
    ),
)

CONFIG = SchemathesisConfig.from_dict(
    {
        "headers": {"Authorization": f"Bearer {TOKEN}"},
        "checks": {
            # Valid data may still break a business rule (an unknown product is a 404,
            # a duplicate customer a 409, a quote not yet accepted a 422) or miss a
            # precondition (412/428); what it must never be is a 400 or a 5xx bug.
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "404", "409", "412", "422", "428", "429"],
            },
            # A body over the size limit is refused before it is read.
            "negative_data_rejection": {
                "expected-statuses": [
                    "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428",
                    "429", "5xx",
                ],
            },
            # A PATCH without If-Match is 428 Precondition Required (RFC 6585).
            "missing_required_header": {
                "expected-statuses": ["400", "401", "403", "422", "428"],
            },
        },
    }
)
schema = schemathesis.openapi.from_asgi("/schema/openapi.json", gateway, config=CONFIG)


@pytest.fixture(scope="module", autouse=True)
def _close_the_database() -> Iterator[None]:
    """The module's gateway is built at import; its database connections close at the end."""
    yield
    asyncio.run(gateway.runtime.database.dispose())

def positive_data_acceptance_but_unknown_secrets(
    ctx: CheckContext, response: Response, case: schemathesis.Case
) -> bool | None:
    """positive_data_acceptance with four documented exceptions, where schema-valid data
    cannot be valid by construction: a cursor is opaque (one the API never issued is a
    400 INVALID_CURSOR), client credentials are secret (unknown ones are RFC 6749's 401
    invalid_client), so are the inbound events' signatures (401), and a time range must
    not end before it starts (JSON Schema cannot relate two parameters; the audit trail
    answers 400 naming `since`)."""
    code = _error_code(response)
    query = case.query or {}
    if (
        response.status_code == 400
        and case.operation.path == "/v1/ops/audit"
        and query.get("since") is not None
        and query.get("until") is not None
        and "since must not be later than until" in response.text
    ):
        return None
    if response.status_code == 400 and "cursor" in (case.query or {}) and code == "INVALID_CURSOR":
        return None
    if response.status_code == 401 and case.operation.path == "/oauth/token" and (
        code == "invalid_client"
    ):
        return None
    if response.status_code == 401 and case.operation.path.startswith("/v1/events/inbound/"):
        return None  # a signature is an HMAC of the body with a secret: never generated
    return positive_data_acceptance(ctx, response, case)


def negative_data_rejection_but_null_as_absent(
    ctx: CheckContext, response: Response, case: schemathesis.Case
) -> bool | None:
    """negative_data_rejection, except one documented leniency: Litestar reads a query
    parameter whose value is the string "null" as absent, so `?country=null` lists
    without that filter instead of answering 400. (Repeated and undeclared parameters
    are refused at the edge; policies/input.) Any other schema-violating request that
    is accepted still fails."""
    query = case.query or {}
    if response.status_code < 400 and any(
        value is None or value == "null" for value in query.values()
    ):
        return None
    return negative_data_rejection(ctx, response, case)


def _error_code(response: Response) -> str | None:
    """A problem's `code`, or an RFC 6749 error's `error`."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    code = body.get("code", body.get("error"))
    return code if isinstance(code, str) else None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection_but_null_as_absent,
    positive_data_acceptance_but_unknown_secrets,
    missing_required_header,
    unsupported_method,
    allow_header_conformance,
]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_contract(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)


class Workflow(schema.as_state_machine()):  # type: ignore[misc]
    """Walks the links: what one response returns, the next request uses.

    Each scenario gets a gateway with fresh sandboxes and stores: with state carried
    over, the links available at a step depend on earlier scenarios, which Hypothesis
    reports as inconsistent data generation."""

    def setup(self) -> None:
        # Fresh stores too: a database file of the scenario's own.
        os.environ[HOME_ENV] = tempfile.mkdtemp(prefix="q2c-workflow-")
        self.runtime = build_runtime(_scenario_settings)
        self.gateway = create_app(_scenario_settings, self.runtime)

    def teardown(self) -> None:
        asyncio.run(self.runtime.database.dispose())
        shutil.rmtree(os.environ[HOME_ENV], ignore_errors=True)

    def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
        return {"app": self.gateway}

    def validate_response(
        self, response: Response, case: schemathesis.Case, **kwargs: object
    ) -> None:
        checks = [*CHECKS, ensure_resource_availability]
        case.validate_response(response, checks=checks, transport_kwargs=kwargs or None)


TestWorkflow = Workflow.TestCase
TestWorkflow.settings = settings(
    max_examples=STATEFUL_EXAMPLES,
    stateful_step_count=STATEFUL_STEPS,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)


def test_the_document_links_the_quote_to_cash_walk() -> None:
    """The stateful phase has something to walk: the links resolve to operations."""
    document = schema.raw_schema
    links = {
        (operation.get("operationId"), name, link.get("operationId"))
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "responses" in operation
        for response in operation["responses"].values()
        for name, link in response.get("links", {}).items()
    }
    walk = {
        ("createCustomer", "GetCustomer", "getCustomer"),
        ("getCustomer", "OrderForCustomer", "createOrder"),
        ("createOrder", "GetOrder", "getOrder"),
        ("getOrder", "InvoiceOrder", "createInvoice"),
        ("createInvoice", "PayInvoice", "createPayment"),
    }
    assert walk <= links


def _follow(source: str, status: str, name: str, response: Response) -> tuple[str, dict[str, Any]]:
    """The target operation of a documented link and the request parts its runtime
    expressions give, evaluated on ``response`` (as schemathesis does when walking)."""
    operation = schema.find_operation_by_id(source)
    link = operation.definition.raw["responses"][status]["links"][name]
    body = json.loads(response.content)

    def value(expression: str) -> Any:
        if expression.startswith("$response.body#"):
            found: Any = body
            for part in expression.split("#", 1)[1].strip("/").split("/"):
                found = found[int(part)] if isinstance(found, list) else found[part]
            return found
        if expression.startswith("$response.header."):
            return response.headers[expression.removeprefix("$response.header.").lower()][0]
        raise AssertionError(f"unexpected expression {expression}")

    parts: dict[str, Any] = {"path_parameters": {}, "query": {}, "headers": {}, "body": {}}
    for target, expression in (link.get("parameters") or {}).items():
        where, parameter = target.split(".", 1)
        key = {"path": "path_parameters", "query": "query", "header": "headers"}[where]
        parts[key][parameter] = value(expression)
    for member, expression in (link.get("requestBody") or {}).items():
        parts["body"][member] = value(expression)
    return link["operationId"], parts


def _call(operation_id: str, parts: dict[str, Any], **extra: Any) -> Response:
    operation = schema.find_operation_by_id(operation_id)
    headers = {"Authorization": f"Bearer {TOKEN}", **parts["headers"], **extra.pop("headers", {})}
    body = {**parts["body"], **extra.pop("body", {})}
    case = operation.Case(
        path_parameters=parts["path_parameters"] or None,
        query={**parts["query"], **extra.pop("query", {})} or None,
        headers=headers,
        body=body if operation.method.upper() in ("POST", "PATCH") else NOT_SET,
    )
    response = case.call()
    case.validate_response(response, checks=CHECKS)
    return response


def test_the_links_carry_a_quote_to_cash_walk() -> None:
    """Following the documented links by hand, from an accepted quote to a payment: every
    expression resolves, every request it builds is accepted, every answer conforms."""
    empty: dict[str, Any] = {"path_parameters": {}, "query": {}, "headers": {}, "body": {}}
    quotes = _call("listQuotes", empty, query={"status": "accepted", "limit": 5})
    target, parts = _follow("listQuotes", "200", "GetFirstQuote", quotes)
    quote = _call(target, parts)
    assert quote.status_code == 200
    target, parts = _follow("getQuote", "200", "OrderFromQuote", quote)
    order = _call(target, parts, headers={"Idempotency-Key": '"walk-order"'})
    assert order.status_code == 201, order.content
    target, parts = _follow("createOrder", "201", "InvoiceOrder", order)
    invoice = _call(target, parts, headers={"Idempotency-Key": '"walk-invoice"'})
    assert invoice.status_code == 201, invoice.content
    target, parts = _follow("createInvoice", "201", "PayInvoice", invoice)
    payment = _call(
        target, parts, headers={"Idempotency-Key": '"walk-payment"'},
        body={"payment_method": "pm_card_visa"},
    )
    assert payment.status_code == 201, payment.content
    target, parts = _follow("createPayment", "201", "GetPayment", payment)
    assert _call(target, parts).status_code == 200


def test_the_links_carry_a_customer_update() -> None:
    empty: dict[str, Any] = {"path_parameters": {}, "query": {}, "headers": {}, "body": {}}
    created = _call(
        "createCustomer", empty, body={"name": "Linkwalk Instruments GmbH", "country": "AT"}
    )
    assert created.status_code == 201, created.content
    target, parts = _follow("createCustomer", "201", "GetCustomer", created)
    fetched = _call(target, parts)
    assert fetched.status_code == 200
    target, parts = _follow("getCustomer", "200", "UpdateCustomer", fetched)
    assert parts["headers"]["If-Match"].startswith('"')
    updated = _call(target, parts, body={"industry": "Instruments"})
    assert updated.status_code == 200, updated.content
