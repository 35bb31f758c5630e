"""The one builder of RFC 9457 problem bodies, for the policies and the gateway's
exception handlers alike: instance and trace id always come from the request.

Problem ``type`` URIs name a page that explains the problem. They are absolute (RFC
9457 recommends it) and point at the gateway's own ``/problems/<kind>`` pages, so the
base is the gateway's public address: one per process, set by the composition root
at start-up with ``set_problem_type_base`` (default: the embedded gateway's address).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import msgspec

from contracts.problem import PROBLEM_TYPE_BASE, FieldError, Problem
from policies.context import request_context

if TYPE_CHECKING:
    from policies.asgi import Scope

_encoder = msgspec.json.Encoder()


_type_base = PROBLEM_TYPE_BASE


def set_problem_type_base(base: str) -> None:
    """Where this process's problem ``type`` URIs point (ends with a slash)."""
    global _type_base
    _type_base = base if base.endswith("/") else base + "/"


def problem_type(kind: str) -> str:
    """The ``type`` URI of a problem kind (``dependency_unavailable`` ->
    ``.../problems/dependency-unavailable``)."""
    return _type_base + kind.replace("_", "-")


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
