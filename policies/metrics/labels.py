"""Bounded label values for a request, taken from the matched route, never the raw path."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from policies.route import RoutePolicy

_VERSION = re.compile(r"^/(v\d{1,3})(?=/|$)")
UNVERSIONED = "none"
UNMATCHED = "unmatched"


class RouteLabels(NamedTuple):
    api: str
    version: str
    operation: str


UNMATCHED_LABELS = RouteLabels(api=UNMATCHED, version=UNVERSIONED, operation=UNMATCHED)


def route_labels(handler: Any, path_template: str) -> RouteLabels:
    """api, version and operation of a matched route (cached by the caller).

    ``path_template`` is the route's template (``/v1/quotes/{quote_id}``), which
    is bounded by the route table, unlike the request path.
    """
    match = _VERSION.match(path_template)
    version = match.group(1) if match else UNVERSIONED
    rest = path_template[match.end():] if match else path_template
    resolve_tags = getattr(handler, "resolve_tags", None)
    tags: list[str] = list(resolve_tags()) if callable(resolve_tags) else []
    if tags:
        api = tags[0]
    else:
        first = next((part for part in rest.split("/") if part), "")
        api = "root" if not first or first.startswith("{") else first
    return RouteLabels(api=api, version=version, operation=_operation(handler))


def _operation(handler: Any) -> str:
    policy: RoutePolicy | None = (getattr(handler, "opt", None) or {}).get("policy")
    if policy and policy.get("operation"):
        return str(policy["operation"])
    # A callable operation_id builds the schema id from the path; the handler
    # name is stabler and just as bounded.
    operation_id = getattr(handler, "operation_id", None)
    if isinstance(operation_id, str) and operation_id:
        return operation_id
    try:
        return str(handler.handler_name)
    except Exception:  # an ASGI mount or a handler without a function
        return type(handler).__name__
