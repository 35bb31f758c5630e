"""What the policies need to know about the matched route, from the Litestar app.

What each operation reads from a request, as its OpenAPI operation documents it: the
input policy refuses query parameters an operation does not declare and
bodies that are not JSON where JSON is taken. Taking both from the app's own
OpenAPI document keeps the check and the documentation one thing: a parameter
is accepted exactly when the document lists it.
"""

from __future__ import annotations

from typing import Any

from policies.asgi import Scope
from policies.input import RouteInput, is_json_media_type


class OperationInputs:
    """``RouteInputs`` for Litestar: looks the matched operation up in
    ``app.openapi_schema`` once per path template and method."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], RouteInput | None] = {}

    def __call__(self, scope: Scope) -> RouteInput | None:
        template = scope.get("path_template")
        if not isinstance(template, str):
            return None
        key = (template, scope["method"])
        try:
            return self._known[key]
        except KeyError:
            pass
        found = self._known[key] = _describe(scope.get("app"), template, scope["method"])
        return found


def _describe(app: Any, template: str, method: str) -> RouteInput | None:
    schema = getattr(app, "openapi_schema", None)
    paths = getattr(schema, "paths", None) or {}
    operation = getattr(paths.get(template), method.lower(), None)
    if operation is None:
        return None
    query: set[str] = set()
    repeatable: set[str] = set()
    for parameter in operation.parameters or ():
        if getattr(parameter, "param_in", None) != "query":
            continue
        query.add(parameter.name)
        if getattr(getattr(parameter, "schema", None), "type", None) == "array":
            repeatable.add(parameter.name)
    content = getattr(operation.request_body, "content", None) or {}
    return RouteInput(
        json_body=any(is_json_media_type(media_type) for media_type in content),
        query=frozenset(query),
        repeatable=frozenset(repeatable),
    )


class RouteMethods:
    """``AllowedMethods`` for Litestar: every method the matched path's routes serve."""

    def __init__(self) -> None:
        self._by_template: dict[str, frozenset[str]] | None = None

    def __call__(self, scope: Scope) -> frozenset[str] | None:
        template = scope.get("path_template")
        if not isinstance(template, str):
            return None
        if self._by_template is None:
            found: dict[str, set[str]] = {}
            for route in getattr(scope.get("app"), "routes", ()):
                methods = getattr(route, "methods", None)
                if methods:
                    found.setdefault(route.path_format, set()).update(methods)
            self._by_template = {path: frozenset(m) for path, m in found.items()}
        return self._by_template.get(template)
