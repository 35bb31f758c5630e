"""What the versioning policy adds to the OpenAPI document.

Deprecation is configuration, not code, so it is applied to the generated
document rather than declared on the routes: call ``document_deprecations``
on ``app.openapi_schema`` before the document is first served or exported
(Litestar caches the rendered JSON on first use).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from litestar.openapi.spec import (
    ExternalDocumentation,
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    Schema,
)

from contracts.problem import PROBLEM_MEDIA_TYPE
from policies.versioning.config import Deprecation, VersioningConfig
from policies.versioning.lifecycle import deprecation_value, link_value, retired_on, sunset_value
from policies.versioning.middleware import SUNSET_CODE, version_of

PROBLEM_COMPONENT = "Problem"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

_SF_DATE = r"^@-?[0-9]{1,15}$"
_HTTP_DATE = (
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
    r"[0-9]{2}:[0-9]{2}:[0-9]{2} GMT$"
)


def deprecation_headers(entry: Deprecation) -> dict[str, OpenAPIHeader]:
    """The response headers a deprecated operation sends, with this entry's values."""
    since = entry.deprecated_at.isoformat()
    headers = {
        "Deprecation": OpenAPIHeader(
            schema=Schema(type=OpenAPIType.STRING, pattern=_SF_DATE, max_length=17),
            description=(
                "RFC 9745: this operation is deprecated since the given instant, an sf-date "
                f"(@ and seconds since the epoch; here {since}). Sent from that instant on."
            ),
            example=deprecation_value(entry.deprecated_at),
        )
    }
    if entry.sunset is not None:
        headers["Sunset"] = OpenAPIHeader(
            schema=Schema(type=OpenAPIType.STRING, pattern=_HTTP_DATE, max_length=29),
            description=(
                "RFC 8594: the HTTP-date from which this operation stops working; from then "
                f"on it answers 410 with a problem of code {SUNSET_CODE}."
            ),
            example=sunset_value(entry.sunset),
        )
    relations = 'rel="deprecation" (RFC 9745 §3) to the deprecation notice'
    example = link_value(entry.link, "deprecation")
    if entry.sunset_link is not None:
        relations += ' and rel="sunset" (RFC 8594 §4) to the sunset policy'
        example += ", " + link_value(entry.sunset_link, "sunset")
    headers["Link"] = OpenAPIHeader(
        schema=Schema(type=OpenAPIType.STRING, max_length=4200),
        description=f"RFC 8288 links: {relations}.",
        example=example,
    )
    return headers


def gone_response(entry: Deprecation, problem: Reference) -> OpenAPIResponse:
    """The 410 an operation answers after its sunset."""
    instead = f" Use {entry.replacement} instead." if entry.replacement else ""
    sunset = retired_on(entry.sunset) if entry.sunset is not None else "its sunset"
    return OpenAPIResponse(
        description=(
            f"Retired on {sunset} (code {SUNSET_CODE}); the detail says where to migrate.{instead}"
        ),
        content={PROBLEM_MEDIA_TYPE: OpenAPIMediaType(schema=problem)},
        headers=dict(deprecation_headers(entry)),
    )


def document_deprecations(schema: OpenAPI, config: VersioningConfig) -> None:
    """Mark deprecated operations in a generated document, in place.

    Each gets ``deprecated: true``, a note and external docs pointing at the
    notice, the Deprecation/Sunset/Link headers on its 2xx responses and, when
    it has a sunset, a 410 problem response. Raises ValueError when the config
    names an operation or version the document does not have (a typo would
    otherwise deprecate nothing).
    """
    by_operation = {e.operation: e for e in config.deprecations if e.operation is not None}
    by_version = {e.version: e for e in config.deprecations if e.version is not None}
    seen_operations: set[str] = set()
    seen_versions: set[str] = set()
    problem: Reference | None = None
    for path, item in (schema.paths or {}).items():
        version = version_of(path)
        for method in _METHODS:
            operation: Operation | None = getattr(item, method)
            if operation is None:
                continue
            entry = None
            if operation.operation_id is not None:
                entry = by_operation.get(operation.operation_id)
            if entry is not None:
                seen_operations.add(str(entry.operation))
            elif version is not None and version in by_version:
                entry = by_version[version]
                seen_versions.add(version)
            if entry is None:
                continue
            if entry.sunset is not None and problem is None:
                problem = _problem_reference(schema)
            _mark(operation, entry, problem)
    _check_all_found(config, seen_operations, seen_versions)


def deprecated_operation_ids(
    config: VersioningConfig, operation_ids_by_path: Mapping[str, Iterable[str]]
) -> set[str]:
    """Of the given operations (path -> its operationIds), those the config deprecates."""
    operations = {e.operation for e in config.deprecations if e.operation is not None}
    versions = {e.version for e in config.deprecations if e.version is not None}
    result: set[str] = set()
    for path, operation_ids in operation_ids_by_path.items():
        whole_version = version_of(path) in versions
        result.update(op for op in operation_ids if whole_version or op in operations)
    return result


def _mark(operation: Operation, entry: Deprecation, problem: Reference | None) -> None:
    operation.deprecated = True
    note = f"Deprecated since {retired_on(entry.deprecated_at)}"
    if entry.sunset is not None:
        note += f"; answers 410 {SUNSET_CODE} from {retired_on(entry.sunset)}"
    if entry.replacement:
        note += f"; use {entry.replacement} instead"
    note += f". See {entry.link}."
    if not operation.description:
        operation.description = note
    elif note not in operation.description:  # applying twice must not repeat it
        operation.description = f"{operation.description}\n\n{note}"
    if operation.external_docs is None:
        operation.external_docs = ExternalDocumentation(
            url=entry.link, description="Deprecation notice"
        )
    responses = operation.responses if operation.responses is not None else {}
    operation.responses = responses
    for status, response in responses.items():
        if status.startswith("2") and isinstance(response, OpenAPIResponse):
            response.headers = {**(response.headers or {}), **deprecation_headers(entry)}
    if entry.sunset is not None and problem is not None:
        existing = responses.get("410")
        if isinstance(existing, OpenAPIResponse):
            existing.headers = {**(existing.headers or {}), **deprecation_headers(entry)}
        else:
            responses["410"] = gone_response(entry, problem)


def _problem_reference(schema: OpenAPI) -> Reference:
    components = schema.components
    if PROBLEM_COMPONENT not in components.schemas:
        raise ValueError(
            f"the OpenAPI document has no {PROBLEM_COMPONENT!r} schema component for the 410 "
            "response; document at least one problem response on a route"
        )
    return Reference(ref=f"#/components/schemas/{PROBLEM_COMPONENT}")


def _check_all_found(config: VersioningConfig, operations: set[str], versions: set[str]) -> None:
    for index, entry in enumerate(config.deprecations):
        where = f"versioning.deprecations[{index}]"
        if entry.operation is not None and entry.operation not in operations:
            raise ValueError(
                f"{where}.operation {entry.operation!r} is not an operationId of the API"
            )
        if entry.version is not None and entry.version not in versions:
            raise ValueError(f"{where}.version {entry.version!r} has no operations in the API")
