"""How the gateway takes, records and passes on traces, validated at start-up."""

from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec

Sampler = Literal["parent_based_ratio", "always_on", "always_off"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

_HEADER_NAME = re.compile(r"[a-z0-9-]{1,64}")
_SERVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# Credentials in the URL would end up in logs and error messages; collectors
# take them from OTEL_EXPORTER_OTLP_HEADERS instead.
_OTLP_ENDPOINT = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+(/[^\s?#@]*)?")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_SAMPLERS = ("parent_based_ratio", "always_on", "always_off")


class TracingConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Trace and request ids, OpenTelemetry spans and the per-request access log."""

    # Trust an incoming traceparent, tracestate and baggage (True behind your own
    # edge; False makes every request a new trace root and drops them).
    accept_incoming: bool = True
    request_id_header: str = "x-request-id"
    # A longer tracestate is dropped whole (the spec's recommended minimum is 512).
    max_tracestate_length: Annotated[int, msgspec.Meta(ge=0, le=8192)] = 512
    # Pass the caller's W3C baggage on to systems of record. It is the caller's
    # data; turn this off when SoRs outside your trust boundary must not see it.
    propagate_baggage: bool = True
    max_baggage_length: Annotated[int, msgspec.Meta(ge=0, le=8192)] = 8192
    # OpenTelemetry resource attribute service.name.
    service_name: str = "q2c-gateway"
    # parent_based_ratio: a caller's sampled flag is honoured, `ratio` of new
    # traces are sampled. always_on / always_off ignore the caller.
    sampler: Sampler = "parent_based_ratio"
    # Share of new (root) traces recorded. Each recorded request costs tens of
    # microseconds in the OpenTelemetry SDK, so the default stays low.
    ratio: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] = 0.05
    # OTLP/HTTP traces endpoint (protobuf), e.g. http://collector:4318/v1/traces;
    # a bare host:port gets /v1/traces. None: no export beyond the ring.
    otlp_endpoint: str | None = None
    # Finished spans kept in memory for GET /v1/ops/traces; 0 keeps none.
    ring_size: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = 2000
    # One JSON line per request on the "q2c.access" logger.
    log_requests: bool = True
    # Level configure_logging() sets for the gateway's loggers.
    log_level: LogLevel = "INFO"

    def __post_init__(self) -> None:
        # Meta constraints only run on decode; a config built in code is checked here.
        if not _HEADER_NAME.fullmatch(self.request_id_header):
            raise ValueError("tracing.request_id_header must be a lower-case header name")
        if not 0 <= self.max_tracestate_length <= 8192:
            raise ValueError("tracing.max_tracestate_length must be in [0, 8192]")
        if not 0 <= self.max_baggage_length <= 8192:
            raise ValueError("tracing.max_baggage_length must be in [0, 8192]")
        if not _SERVICE_NAME.fullmatch(self.service_name):
            raise ValueError(
                "tracing.service_name must be 1-128 letters, digits, '.', '_' or '-'"
            )
        if self.sampler not in _SAMPLERS:
            raise ValueError(f"tracing.sampler must be one of {', '.join(_SAMPLERS)}")
        if isinstance(self.ratio, bool) or not 0.0 <= self.ratio <= 1.0:
            raise ValueError(f"tracing.ratio must be in [0, 1] (got {self.ratio!r})")
        if self.otlp_endpoint is not None and not _OTLP_ENDPOINT.fullmatch(self.otlp_endpoint):
            raise ValueError(
                "tracing.otlp_endpoint must be an http(s) URL without credentials or query, "
                "e.g. http://collector:4318/v1/traces"
            )
        if not 0 <= self.ring_size <= 100_000:
            raise ValueError("tracing.ring_size must be in [0, 100000]")
        if self.log_level not in _LOG_LEVELS:
            raise ValueError(f"tracing.log_level must be one of {', '.join(_LOG_LEVELS)}")

    @property
    def otlp_traces_url(self) -> str | None:
        """The endpoint the exporter posts to (a base URL gets the standard /v1/traces)."""
        if self.otlp_endpoint is None:
            return None
        scheme_end = self.otlp_endpoint.index("://") + 3
        if "/" not in self.otlp_endpoint[scheme_end:].rstrip("/"):
            return self.otlp_endpoint.rstrip("/") + "/v1/traces"
        return self.otlp_endpoint
