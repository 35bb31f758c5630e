"""RFC 9457 problem details, the one error body every gateway response uses."""

from __future__ import annotations

from typing import Annotated

import msgspec

PROBLEM_MEDIA_TYPE = "application/problem+json"
# Where problem ``type`` URIs point unless the gateway is configured otherwise: the
# embedded default's own pages (``/problems/<kind>`` redirects to the portal).
PROBLEM_TYPE_BASE = "http://127.0.0.1:8080/problems/"
MAX_POLICY_NAME = 64  # rate-limit plan names (policies/rate_limit/config.py)


class FieldError(msgspec.Struct, frozen=True, kw_only=True):
    """One invalid input: where (a JSON-path-like pointer) and why."""

    field: Annotated[str, msgspec.Meta(max_length=500)]
    message: Annotated[str, msgspec.Meta(max_length=2000)]
    code: Annotated[str, msgspec.Meta(max_length=100)] = "invalid"


class Problem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """``application/problem+json`` with the gateway's extension members."""

    type: Annotated[str, msgspec.Meta(max_length=500)]
    title: Annotated[str, msgspec.Meta(max_length=200)]
    status: Annotated[int, msgspec.Meta(ge=400, le=599)]
    code: Annotated[
        str,
        msgspec.Meta(
            pattern=r"^[A-Z][A-Z0-9_]*$",
            max_length=100,
            description="Stable machine-readable error code",
        ),
    ]
    detail: Annotated[str, msgspec.Meta(max_length=4000)] = ""
    instance: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    trace_id: Annotated[str, msgspec.Meta(max_length=64)] = ""
    errors: Annotated[list[FieldError], msgspec.Meta(max_length=200)] = []
    system: Annotated[
        str, msgspec.Meta(max_length=50, description="System of record involved, if any")
    ] = ""
    retryable: bool = False
    existing_id: Annotated[
        str, msgspec.Meta(max_length=64, description="Id of the record a conflict refers to")
    ] = ""
    violated_policies: Annotated[
        list[Annotated[str, msgspec.Meta(max_length=MAX_POLICY_NAME)]],
        msgspec.Meta(max_length=20, description="Rate-limit plans the call exceeded"),
    ] = []
