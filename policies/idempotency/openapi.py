"""What the idempotency policy adds to the OpenAPI document.

The route's policy (``governed(idempotency="required" | "optional")``) is the one
declaration: the composition root documents the header on those operations with
``idempotency_key_parameter`` (appended last, as a handler parameter would be),
and the handler declares nothing, since the policy alone reads the header. Add
``response_headers=[IDEMPOTENT_REPLAYED_HEADER, ...]`` and
``responses={**IDEMPOTENCY_RESPONSES, ...}`` on the route.
"""

from __future__ import annotations

from litestar.datastructures import ResponseHeader
from litestar.enums import ParamType
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIHeader, OpenAPIType, Parameter, Schema

from contracts.problem import PROBLEM_MEDIA_TYPE, Problem
from policies.idempotency.key import KEY_VALUE_PATTERN, MAX_KEY_LENGTH

HEADER_NAME = "Idempotency-Key"
# The field value is an sf-string: the key (1-255 visible ASCII characters)
# between double quotes, so the value itself may be two characters longer.
MAX_VALUE_LENGTH = MAX_KEY_LENGTH + 2
HEADER_DESCRIPTION = (
    "Unique key for this operation (draft-ietf-httpapi-idempotency-key-header), a quoted "
    'string such as "8e03978e-40d5-43e8-bc93-6894a57f9324" of 1-255 visible ASCII '
    "characters (an unquoted value is accepted too). A retry with the same key and the same "
    "request replays the first response with Idempotent-Replayed: true; keys are kept 24 h "
    "and are private to the calling client."
)


def idempotency_key_parameter(*, required: bool = True) -> Parameter:
    """The header as an OpenAPI Parameter: the composition root appends it to the
    operations whose route policy reads the key."""
    return Parameter(
        name=HEADER_NAME,
        param_in=ParamType.HEADER,
        required=required,
        description=HEADER_DESCRIPTION,
        schema=Schema(
            type=OpenAPIType.STRING,
            min_length=1,
            max_length=MAX_VALUE_LENGTH,
            pattern=KEY_VALUE_PATTERN,
        ),
        example='"8e03978e-40d5-43e8-bc93-6894a57f9324"',
    )


IDEMPOTENT_REPLAYED_HEADER = ResponseHeader(
    name="Idempotent-Replayed",
    description="true when this is the stored response to an earlier request with the same "
    "Idempotency-Key; absent on the first execution.",
    documentation_only=True,
)

IDEMPOTENT_REPLAYED_OPENAPI_HEADER = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.STRING, enum=["true"]),
    description=IDEMPOTENT_REPLAYED_HEADER.description,
)

IDEMPOTENCY_RESPONSES: dict[int, ResponseSpec] = {
    status: ResponseSpec(
        data_container=Problem,
        description=description,
        media_type=PROBLEM_MEDIA_TYPE,
        generate_examples=False,
    )
    for status, description in (
        (400, "Idempotency-Key missing or malformed (or another invalid input)"),
        (409, "A request with this Idempotency-Key is still in progress; retry after "
              "Retry-After seconds"),
        (422, "Idempotency-Key reused with a different request (or business rules failed)"),
    )
}
