"""Idempotency policy settings, validated when the gateway starts."""

from __future__ import annotations

import re
from typing import Annotated

import msgspec

_DAY = 86_400
_HEADER_NAME = re.compile(r"^[a-z0-9!#$%&'*+.^_`|~-]{1,64}$")

# Methods the draft calls non-idempotent (POST, PATCH) plus the two a route may
# still want to protect; GET/HEAD/OPTIONS are safe by definition.
ALLOWED_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})

# Per-request or per-connection fields: replaying them would lie to the caller
# (a stale quota, another caller's cookie, a wrong length, the first trace id).
NEVER_REPLAYED = frozenset({
    "set-cookie",
    "ratelimit",
    "ratelimit-policy",
    "retry-after",
    "content-length",
    "transfer-encoding",
    "connection",
    "idempotent-replayed",
    "x-request-id",
    "x-trace-id",
    "traceparent",
    "tracestate",
})

DEFAULT_REPLAY_HEADERS = (
    "content-type",
    "location",
    "etag",
    "last-modified",
    "content-language",
    # Versioning headers are added inside this policy, so a replay that skips
    # the handler must carry them itself.
    "deprecation",
    "sunset",
    "link",
)

# Outcomes where nothing happened downstream (rejected input, auth, routing,
# conflicts, our own throttling): a retry with the same key should run again.
# Every 5xx is released as well, listed or not: a server error is never replayed.
DEFAULT_RELEASE_STATUSES = (400, 401, 403, 404, 408, 409, 429, 503, 504)


class IdempotencyConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How ``Idempotency-Key`` requests are recorded and replayed."""

    # Off switch for the whole policy; routes still declare their mode.
    enabled: bool = True
    # Request methods the policy applies to on routes whose idempotency is
    # "required" or "optional" (upper-case).
    methods: tuple[str, ...] = ("POST", "PATCH")
    # How long a request may stay in flight before a retry may take its key over;
    # it is also the request's deadline (the handler is cancelled shortly before,
    # answering 504). Unset: computed per operation from the timeouts and retries
    # of the systems of record it calls, the longest it can legitimately take.
    lease_seconds: Annotated[int, msgspec.Meta(ge=1, le=3600)] | None = None
    # How long a completed response is kept for replay (draft and Stripe: at
    # least 24 h).
    retention_seconds: Annotated[int, msgspec.Meta(ge=60, le=7 * _DAY)] = _DAY
    # Largest request body fingerprinted; larger bodies get 413.
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1, le=64 * 1024 * 1024)] = 1024 * 1024
    # Response headers stored with the first response and sent again on replay
    # (lower-case names).
    replay_headers: tuple[str, ...] = DEFAULT_REPLAY_HEADERS
    # Response statuses after which the key is released instead of stored, so
    # a retry executes again.
    release_statuses: tuple[int, ...] = DEFAULT_RELEASE_STATUSES

    def __post_init__(self) -> None:
        if not self.methods:
            raise ValueError("idempotency.methods must name at least one method")
        for method in self.methods:
            if method not in ALLOWED_METHODS:
                raise ValueError(
                    f"idempotency.methods: {method!r} is not one of {sorted(ALLOWED_METHODS)}"
                )
        if self.lease_seconds is not None and self.lease_seconds >= self.retention_seconds:
            raise ValueError("idempotency.lease_seconds must be shorter than retention_seconds")
        for name in self.replay_headers:
            if not _HEADER_NAME.match(name):
                raise ValueError(
                    f"idempotency.replay_headers: {name!r} is not a lower-case header name"
                )
            if name in NEVER_REPLAYED or name.startswith(("ratelimit", "x-ratelimit")):
                raise ValueError(
                    f"idempotency.replay_headers: {name!r} is per request and is never replayed"
                )
        for status in self.release_statuses:
            if not 400 <= status <= 599:  # 5xx are released anyway; listing one is harmless
                raise ValueError(
                    f"idempotency.release_statuses: {status} is not an error status (400-599);"
                    " a success has side effects and must be stored"
                )
