from __future__ import annotations

from typing import Annotated, Any

import pytest
from litestar import Litestar, post
from litestar.params import HeaderParameter, JSONBody

from policies.idempotency.openapi import (
    HEADER_DESCRIPTION,
    IDEMPOTENCY_RESPONSES,
    IDEMPOTENT_REPLAYED_HEADER,
    MAX_VALUE_LENGTH,
    idempotency_key_parameter,
)

HEADER = HeaderParameter(
    name="Idempotency-Key",
    min_length=1,
    max_length=MAX_VALUE_LENGTH,
    description=HEADER_DESCRIPTION,
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
def test_the_parameter_reads_as_a_handler_header_parameter_would(required: bool) -> None:
    # What Litestar documents for the same header declared on a handler: documents
    # generated either way are identical.
    if required:

        @post("/orders", operation_id="createOrder")
        async def handler(idempotency_key: Annotated[str, HEADER]) -> None:
            return None

    else:

        @post("/orders", operation_id="createOrder")
        async def handler(idempotency_key: Annotated[str | None, HEADER] = None) -> None:
            return None

    document = Litestar([handler]).openapi_schema.to_schema()
    (declared,) = document["paths"]["/orders"]["post"]["parameters"]
    parameter = idempotency_key_parameter(required=required).to_schema()
    assert parameter == declared
    assert (parameter["name"], parameter["in"], parameter["required"]) == (
        "Idempotency-Key",
        "header",
        required,
    )
    assert parameter["schema"]["maxLength"] == 257
