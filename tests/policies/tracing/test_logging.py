"""One JSON access line per request, with trace, consumer, route, status and latency split."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from policies.context import RequestContext, current_request
from policies.tracing import ACCESS_LOGGER, configure_logging
from tests.policies.tracing.support import (
    PARENT,
    TOKEN,
    TRACE,
    FakeSor,
    build_app,
    client_for,
    tracer_for,
)

FIELDS = {
    "ts",
    "level",
    "trace_id",
    "span_id",
    "request_id",
    "method",
    "route",
    "status",
    "consumer",
    "tenant",
    "gateway_ms",
    "sor_ms",
    "sor_calls",
}


@contextmanager
def restored_logging() -> Iterator[None]:
    """configure_logging changes process-wide loggers; put them back after a test."""
    loggers = [logging.getLogger(name) for name in ("", "httpx", "httpcore")]
    levels = [logger.level for logger in loggers]
    handlers = list(loggers[0].handlers)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
        loggers[0].handlers[:] = handlers


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    with restored_logging():
        configure_logging("INFO", stream=stream)
        yield stream


def _lines(stream: io.StringIO, logger: str = ACCESS_LOGGER) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [record for record in records if record["logger"] == logger]


async def test_one_json_line_per_request_with_the_request_fields(log_stream: io.StringIO) -> None:
    sor = FakeSor(statuses=[503, 200])
    with tracer_for() as tracer:
        async with client_for(build_app(tracer, sor)) as client:
            response = await client.get(
                "/v1/orders/ord_42?api_key=topsecret",
                headers={
                    "x-consumer": "acme/crm-app",
                    "authorization": TOKEN,
                    "traceparent": f"00-{TRACE}-{PARENT}-01",
                    "cookie": "session=cookiesecret",
                },
            )
    assert response.status_code == 200
    [line] = _lines(log_stream)
    assert line.keys() >= FIELDS
    assert line["level"] == "INFO"
    assert line["ts"].endswith("Z")
    assert line["trace_id"] == TRACE
    assert line["request_id"] == response.headers["x-request-id"]
    assert line["method"] == "GET"
    assert line["route"] == "/v1/orders/{order_id}"
    assert line["status"] == 200
    assert line["consumer"] == "crm-app"
    assert line["tenant"] == "acme"
    assert line["sor_calls"] == 2
    assert line["sor_ms"] >= 0
    assert line["gateway_ms"] >= 0
    # The span id the problem bodies and SoR calls use is the one logged.
    [server] = [span for span in tracer.page(trace_id=TRACE).data if span.kind == "server"]
    assert line["span_id"] == server.span_id
    text = log_stream.getvalue()
    for secret in ("eyJ", "Bearer", "topsecret", "api_key", "cookiesecret", "s3cr3t", "ord_42"):
        assert secret not in text


async def test_every_request_logs_once_even_unmatched_and_anonymous(
    log_stream: io.StringIO,
) -> None:
    with tracer_for(sampler="always_off") as tracer:
        async with client_for(build_app(tracer, FakeSor())) as client:
            await client.get("/nowhere/at/all")
            await client.get("/v1/boom", headers={"x-consumer": "acme/crm-app"})
            await client.get("/v1/quotes/quo_1")
    lines = _lines(log_stream)
    assert [(line["route"], line["status"]) for line in lines] == [
        ("unmatched", 404),
        ("/v1/boom", 500),
        ("/v1/quotes/{quote_id}", 404),
    ]
    assert lines[0]["consumer"] == "anonymous"
    assert lines[0]["tenant"] is None
    assert lines[0]["sor_calls"] == 0
    assert lines[0]["sor_ms"] == 0


async def test_no_access_line_when_request_logging_is_off(log_stream: io.StringIO) -> None:
    with tracer_for(log_requests=False) as tracer:
        async with client_for(build_app(tracer, FakeSor())) as client:
            response = await client.get("/v1/quotes/quo_1")
    assert response.status_code == 404
    assert _lines(log_stream) == []


def test_other_records_are_json_with_the_current_trace(log_stream: io.StringIO) -> None:
    context = RequestContext()
    context.trace_id, context.span_id = TRACE, PARENT
    token = current_request.set(context)
    try:
        logging.getLogger("q2c.errors").warning("dependency failure %s", "SAP_DOWN")
    finally:
        current_request.reset(token)
    [line] = _lines(log_stream, "q2c.errors")
    assert line["message"] == "dependency failure SAP_DOWN"
    assert line["level"] == "WARNING"
    assert (line["trace_id"], line["span_id"]) == (TRACE, PARENT)


def test_configure_logging_replaces_its_own_handler_and_sets_the_level() -> None:
    root = logging.getLogger()
    stream = io.StringIO()
    with restored_logging():
        first = configure_logging("WARNING", stream=io.StringIO())
        second = configure_logging("debug", json=False, stream=stream)
        assert first not in root.handlers
        assert second in root.handlers
        assert root.level == logging.DEBUG
        # httpx would log SoR URLs with credentials and query strings at INFO.
        assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
        logging.getLogger(ACCESS_LOGGER).info(
            "request", extra={"q2c_access": {"route": "/v1/x", "status": 200}}
        )
        with pytest.raises(ValueError, match="LOUD"):
            configure_logging("LOUD")
    assert "route=/v1/x status=200" in stream.getvalue()
