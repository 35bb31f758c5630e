"""The one builder of RFC 9457 problem bodies, for the policies and the gateway's
exception handlers alike: instance and trace id always come from the request."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import msgspec

from contracts.problem import PROBLEM_TYPE_BASE, FieldError, Problem
from policies.context import request_context

if TYPE_CHECKING:
    from policies.asgi import Scope

_encoder = msgspec.json.Encoder()


def problem_type(kind: str) -> str:
    return PROBLEM_TYPE_BASE + kind.replace("_", "-")


def problem_json(
    scope: Scope,
    *,
    status: int,
    code: str,
    title: str,
    kind: str | None = None,
    detail: str = "",
    errors: Sequence[FieldError] = (),
    system: str = "",
    retryable: bool = False,
    existing_id: str = "",
    violated_policies: Sequence[str] = (),
) -> bytes:
    """The encoded problem for this request; ``kind`` names its type (default: the code)."""
    problem = Problem(
        type=problem_type(kind or code.lower()),
        title=title,
        status=status,
        code=code,
        detail=detail[:4000],
        instance=(scope.get("root_path", "") + scope.get("path", ""))[:2000],
        trace_id=request_context(scope).trace_id,
        errors=list(errors),
        system=system,
        retryable=retryable,
        existing_id=existing_id,
        violated_policies=list(violated_policies),
    )
    return _encoder.encode(problem)
