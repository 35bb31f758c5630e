"""TracingConfig: defaults that keep tracing cheap, and start-up errors that name the field."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from policies.tracing import TracingConfig


def test_defaults_sample_few_traces_and_keep_a_ring_and_an_access_log() -> None:
    config = TracingConfig()
    assert config.service_name == "q2c-gateway"
    assert config.sampler == "parent_based_ratio"
    assert config.ratio == 0.05
    assert config.otlp_endpoint is None
    assert config.otlp_traces_url is None
    assert config.ring_size == 2000
    assert config.log_requests is True
    assert config.log_level == "INFO"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"ratio": 1.5}, "tracing.ratio"),
        ({"ratio": -0.1}, "tracing.ratio"),
        ({"sampler": "sometimes"}, "tracing.sampler"),
        ({"otlp_endpoint": "ftp://collector:4318"}, "tracing.otlp_endpoint"),
        ({"otlp_endpoint": "http://user:pw@collector:4318"}, "tracing.otlp_endpoint"),
        ({"otlp_endpoint": "http://collector:4318/v1/traces?key=x"}, "tracing.otlp_endpoint"),
        ({"otlp_endpoint": "collector:4318"}, "tracing.otlp_endpoint"),
        ({"ring_size": -1}, "tracing.ring_size"),
        ({"log_level": "LOUD"}, "tracing.log_level"),
        ({"service_name": ""}, "tracing.service_name"),
        ({"service_name": "q2c gateway"}, "tracing.service_name"),
        ({"request_id_header": "X-Request-Id"}, "tracing.request_id_header"),
        ({"max_tracestate_length": 10_000}, "tracing.max_tracestate_length"),
    ],
)
def test_invalid_values_fail_at_start_up_naming_the_field(
    fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        TracingConfig(**fields)


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"ratio": 2}, "ratio"),
        ({"sampler": "ratio"}, "sampler"),
        ({"ring_size": 1_000_000}, "ring_size"),
        ({"sample_everything": True}, "sample_everything"),
    ],
)
def test_decoding_a_settings_document_names_the_field(document: dict[str, Any], path: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=path):
        msgspec.convert(document, TracingConfig)


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        ("http://collector:4318", "http://collector:4318/v1/traces"),
        ("http://collector:4318/", "http://collector:4318/v1/traces"),
        ("https://otel.example.com/v1/traces", "https://otel.example.com/v1/traces"),
        ("http://[::1]:4318/otlp/v1/traces", "http://[::1]:4318/otlp/v1/traces"),
    ],
)
def test_a_base_otlp_endpoint_gets_the_standard_traces_path(endpoint: str, url: str) -> None:
    assert TracingConfig(otlp_endpoint=endpoint).otlp_traces_url == url


def test_a_full_settings_document_decodes() -> None:
    config = msgspec.convert(
        {
            "service_name": "q2c-gateway-eu",
            "sampler": "always_on",
            "ratio": 1,
            "otlp_endpoint": "http://collector:4318",
            "ring_size": 0,
            "log_requests": False,
            "log_level": "WARNING",
        },
        TracingConfig,
    )
    assert config.sampler == "always_on"
    assert config.ring_size == 0
    assert config.log_level == "WARNING"
