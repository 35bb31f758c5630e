"""HTTP semantics the framework leaves to us (RFC 9110): one canonical path per
resource, HEAD for every GET, OPTIONS and 405 with every allowed method, and
conditional GETs (If-None-Match -> 304)."""

from policies.http.conditional import none_match
from policies.http.middleware import AllowedMethods, HttpMiddleware

__all__ = ["AllowedMethods", "HttpMiddleware", "none_match"]
