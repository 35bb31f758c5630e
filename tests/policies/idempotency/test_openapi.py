from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar import Litestar, post
from litestar.params import JSONBody

from policies.idempotency.key import KEY_VALUE_PATTERN, parse_idempotency_key
from policies.idempotency.openapi import (
    IDEMPOTENCY_RESPONSES,
    IDEMPOTENT_REPLAYED_HEADER,
    idempotency_key_parameter,
)


def test_routes_document_the_replay_marker_and_the_problems() -> None:
    @post(
        "/orders",
        operation_id="createOrder",
        response_headers=[IDEMPOTENT_REPLAYED_HEADER],
        responses=IDEMPOTENCY_RESPONSES,
    )
    async def create_order(data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
        return data

    operation = Litestar([create_order]).openapi_schema.to_schema()["paths"]["/orders"]["post"]
    assert "Idempotent-Replayed" in operation["responses"]["201"]["headers"]
    for status in ("400", "409", "422"):
        content = operation["responses"][status]["content"]
        assert list(content) == ["application/problem+json"]


@pytest.mark.parametrize("required", [True, False])
def test_the_parameter_documents_the_key_as_the_policy_parses_it(required: bool) -> None:
    parameter = idempotency_key_parameter(required=required).to_schema()
    assert (parameter["name"], parameter["in"], parameter["required"]) == (
        "Idempotency-Key",
        "header",
        required,
    )
    assert parameter["schema"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 257,
        "pattern": KEY_VALUE_PATTERN,
    }


@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x7F), max_size=40))
@settings(max_examples=400, deadline=None)
def test_documented_pattern_accepts_exactly_the_values_the_server_accepts(value: str) -> None:
    assert (re.fullmatch(KEY_VALUE_PATTERN, value) is not None) == (
        parse_idempotency_key(value) is not None
    ), value


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ('"order-1"', True),
        ("order-1", True),
        ('"a\\"b"', True),
        ('"k";v=1', True),
        ('"has space"', False),
        ('""', False),
        ('"k"x', False),
        ('a"b', False),
        ('"' + "x" * 255 + '"', True),
        ('"' + "x" * 256 + '"', False),
    ],
)
def test_documented_pattern_examples(value: str, accepted: bool) -> None:
    assert (re.fullmatch(KEY_VALUE_PATTERN, value) is not None) is accepted
    assert (parse_idempotency_key(value) is not None) is accepted
