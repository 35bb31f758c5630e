"""MetricsConfig: defaults, decoding, and errors that name the field."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from policies.metrics import DEFAULT_LATENCY_BUCKETS, MetricsConfig


def test_defaults() -> None:
    config = MetricsConfig()
    assert config.enabled
    assert config.path == "/metrics"
    assert config.required_scope == "ops:read"
    assert config.listen_port is None
    assert config.max_consumers == 50
    assert config.latency_buckets == DEFAULT_LATENCY_BUCKETS
    assert config.latency_buckets[0] == 0.001
    assert config.latency_buckets[-1] == 10.0


def test_decodes_from_toml_shaped_data() -> None:
    config = msgspec.convert(
        {"listen_port": 9464, "max_consumers": 10, "latency_buckets": [0.01, 0.1, 1]},
        MetricsConfig,
    )
    assert (config.listen_port, config.max_consumers) == (9464, 10)
    assert config.latency_buckets == (0.01, 0.1, 1.0)


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(msgspec.ValidationError, match="max_consumer"):
        msgspec.convert({"max_consumer": 5}, MetricsConfig)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"path": "metrics"}, "metrics.path"),
        ({"path": "/a b"}, "metrics.path"),
        ({"path": "//metrics"}, "metrics.path"),
        ({"required_scope": "ops"}, "metrics.required_scope"),
        ({"listen_port": 70000}, "metrics.listen_port"),
        ({"listen_host": "bad host"}, "metrics.listen_host"),
        ({"max_consumers": 0}, "metrics.max_consumers"),
        ({"latency_buckets": ()}, "metrics.latency_buckets"),
        ({"latency_buckets": (0.1, 0.05)}, "metrics.latency_buckets"),
        ({"latency_buckets": (0.1, 0.1)}, "metrics.latency_buckets"),
        ({"latency_buckets": (0.0, 1.0)}, "metrics.latency_buckets"),
        ({"latency_buckets": (1.0, float("inf"))}, "metrics.latency_buckets"),
    ],
)
def test_bad_values_name_the_field(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MetricsConfig(**fields)


def test_public_metrics_are_a_deliberate_choice() -> None:
    assert MetricsConfig(required_scope=None).required_scope is None
