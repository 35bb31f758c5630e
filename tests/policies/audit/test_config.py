from __future__ import annotations

import msgspec
import pytest

from policies.audit.config import AuditConfig


def test_defaults() -> None:
    config = AuditConfig()
    assert config.enabled
    assert config.methods == ("POST", "PUT", "PATCH", "DELETE")
    assert config.max_entries is None
    assert config.max_scan == 5_000
    assert config.max_entries_for("redis") == 100_000
    assert config.max_entries_for("memory") == 10_000


def test_configured_retention_applies_to_both_backends() -> None:
    config = msgspec.convert({"max_entries": 2_000, "methods": ["POST"]}, AuditConfig)
    assert config.max_entries_for("redis") == 2_000
    assert config.max_entries_for("memory") == 2_000
    assert config.methods == ("POST",)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"max_entries": 99}, "max_entries"),
        ({"max_scan": 199}, "max_scan"),
        ({"max_scan": 1_000_001}, "max_scan"),
        ({"enabled": "yes"}, "enabled"),
        ({"retention": 5}, "retention"),
    ],
)
def test_field_constraints_name_the_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=field):
        msgspec.convert(data, AuditConfig)


@pytest.mark.parametrize(
    ("methods", "message"),
    [([], "audit.methods must name"), (["GET"], "audit.methods: 'GET'"), (["post"], "'post'")],
)
def test_methods_are_checked(methods: list[str], message: str) -> None:
    with pytest.raises((ValueError, msgspec.ValidationError), match=message):
        msgspec.convert({"methods": methods}, AuditConfig)
