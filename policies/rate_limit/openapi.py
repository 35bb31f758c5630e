"""What the rate-limit policy adds to the OpenAPI document."""

from __future__ import annotations

from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIHeader, OpenAPIType, Schema

from contracts.problem import PROBLEM_MEDIA_TYPE, Problem

_RATELIMIT_DESCRIPTION = (
    "Current service limit (draft-ietf-httpapi-ratelimit-headers-10): the plan name, "
    "r = whole units that may be spent now, t = seconds until one more unit is "
    'available (0 when none is used). Example: "default";r=42;t=1. Absent when the '
    "limiter could not decide and the gateway admitted the call anyway."
)
_POLICY_DESCRIPTION = (
    "The consumer's quota policy (draft-ietf-httpapi-ratelimit-headers-10): plan name, "
    'q = quota units per window, w = window in seconds. Example: "default";q=600;w=60.'
)
_RETRY_AFTER_DESCRIPTION = "Seconds to wait before this call can be admitted (integer, >= 1)."

RATE_LIMIT_HEADERS: list[ResponseHeader] = [
    ResponseHeader(name="RateLimit", description=_RATELIMIT_DESCRIPTION, documentation_only=True),
    ResponseHeader(
        name="RateLimit-Policy", description=_POLICY_DESCRIPTION, documentation_only=True
    ),
]

TOO_MANY_REQUESTS: dict[int, ResponseSpec] = {
    429: ResponseSpec(
        data_container=Problem,
        description=(
            "Quota exceeded (code QUOTA_EXCEEDED, violated_policies names the plan); "
            "carries Retry-After, RateLimit and RateLimit-Policy"
        ),
        media_type=PROBLEM_MEDIA_TYPE,
        generate_examples=False,
    )
}

# ResponseSpec cannot carry headers: the document exporter puts these under
# responses["429"].headers (and the two RateLimit ones on 2xx/4xx as needed).
# Plans are validated so that no wait exceeds 10**9 seconds (see Plan.__post_init__).
MAX_RETRY_AFTER_SECONDS = 1_000_000_000
RETRY_AFTER_HEADER = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.INTEGER, minimum=1, maximum=MAX_RETRY_AFTER_SECONDS),
    description=_RETRY_AFTER_DESCRIPTION,
    required=True,
)
RATE_LIMIT_OPENAPI_HEADERS: dict[str, OpenAPIHeader] = {
    "RateLimit": OpenAPIHeader(
        schema=Schema(
            type=OpenAPIType.STRING,
            max_length=200,
            pattern=r'^"[A-Za-z0-9_.-]{1,64}";r=[0-9]+;t=[0-9]+$',
        ),
        description=_RATELIMIT_DESCRIPTION,
    ),
    "RateLimit-Policy": OpenAPIHeader(
        schema=Schema(
            type=OpenAPIType.STRING,
            max_length=200,
            pattern=r'^"[A-Za-z0-9_.-]{1,64}";q=[0-9]+;w=[0-9]+$',
        ),
        description=_POLICY_DESCRIPTION,
    ),
}
TOO_MANY_REQUESTS_HEADERS: dict[str, OpenAPIHeader] = {
    "Retry-After": RETRY_AFTER_HEADER,
    **RATE_LIMIT_OPENAPI_HEADERS,
}
