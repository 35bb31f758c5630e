"""Property-based contract tests of every operation against the published schema.

Positive and negative data for each operation, over the ASGI app with the
embedded sandboxes, with a fixed seed so a failure reproduces.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.app import create_app

schema = schemathesis.openapi.from_asgi("/schema/openapi.json", create_app())

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_contract(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)
