"""Deprecation and sunset lifecycle of operations and API versions.

Deprecated operations send ``Deprecation`` (RFC 9745), ``Sunset`` (RFC 8594)
and ``Link: <...>; rel="deprecation"``; after the sunset they answer 410
``API_SUNSET`` with a problem saying where to migrate. The OpenAPI document
marks them ``deprecated: true`` and documents the headers.
"""

from policies.versioning.config import Deprecation, VersioningConfig
from policies.versioning.middleware import SUNSET_CODE, CallObserver, Clock, VersioningMiddleware
from policies.versioning.openapi import deprecated_operation_ids, document_deprecations

__all__ = [
    "SUNSET_CODE",
    "CallObserver",
    "Clock",
    "Deprecation",
    "VersioningConfig",
    "VersioningMiddleware",
    "deprecated_operation_ids",
    "document_deprecations",
]
