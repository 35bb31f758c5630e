from __future__ import annotations

import msgspec
import pytest

from policies.rate_limit.config import Plan, RateLimitConfig


def test_defaults_are_valid_and_as_documented() -> None:
    config = RateLimitConfig()
    assert config.enabled is True
    assert config.default_plan == "default"
    assert config.ip_plan == "anonymous"
    assert config.failure_mode == "open"
    assert config.trust_forwarded_for is False
    assert config.plans["default"] == Plan(quota=600, window_seconds=60, burst=100)
    assert config.plans["gold"] == Plan(quota=6000, window_seconds=60, burst=1000)
    assert config.plans["anonymous"].capacity == 60  # burst defaults to the quota


def test_emission_interval_rounds_up_so_a_plan_is_never_looser() -> None:
    assert Plan(quota=600, window_seconds=60).interval_us == 100_000
    assert Plan(quota=7, window_seconds=60).interval_us == 8_571_429


def test_decodes_from_toml_shaped_data() -> None:
    config = msgspec.convert(
        {
            "plans": {
                "basic": {"quota": 10, "window_seconds": 1},
                "anonymous": {"quota": 5, "window_seconds": 60},
            },
            "default_plan": "basic",
            "failure_mode": "closed",
        },
        RateLimitConfig,
    )
    assert config.plans["basic"].capacity == 10
    assert config.failure_mode == "closed"


@pytest.mark.parametrize(
    ("plan", "field"),
    [
        ({"quota": 0, "window_seconds": 60}, "quota"),
        ({"quota": 10, "window_seconds": 0}, "window_seconds"),
        ({"quota": 10, "window_seconds": 60, "burst": 0}, "burst"),
        ({"quota": 10, "window_seconds": 60, "per": "minute"}, "per"),
    ],
)
def test_bad_plan_fields_fail_on_decode_naming_the_field(
    plan: dict[str, object], field: str
) -> None:
    data = {"plans": {"default": plan, "anonymous": {"quota": 1, "window_seconds": 1}}}
    with pytest.raises(msgspec.ValidationError, match=field):
        msgspec.convert(data, RateLimitConfig)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"quota": 0, "window_seconds": 60}, "quota"),
        ({"quota": 10, "window_seconds": 0}, "window_seconds"),
        ({"quota": 10, "window_seconds": 60, "burst": 0}, "burst"),
        ({"quota": 10_000_000, "window_seconds": 1}, "quota"),
        ({"quota": 1, "window_seconds": 366 * 86400, "burst": 1_000_000}, "burst"),
    ],
)
def test_bad_plan_built_in_code_fails(kwargs: dict[str, int], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        Plan(**kwargs)


def test_default_plan_must_exist() -> None:
    with pytest.raises(ValueError, match="default_plan"):
        RateLimitConfig(default_plan="platinum")


def test_ip_plan_must_exist() -> None:
    with pytest.raises(ValueError, match="ip_plan"):
        RateLimitConfig(ip_plan="nobody")


def test_plan_names_must_be_header_and_key_safe() -> None:
    plans = {**RateLimitConfig().plans, 'evil"name': Plan(quota=1, window_seconds=1)}
    with pytest.raises(ValueError, match=r"rate_limit\.plans"):
        RateLimitConfig(plans=plans)


def test_failure_mode_and_unknown_fields_are_rejected_on_decode() -> None:
    with pytest.raises(msgspec.ValidationError, match="failure_mode"):
        msgspec.convert({"failure_mode": "maybe"}, RateLimitConfig)
    with pytest.raises(msgspec.ValidationError, match="key_prefix"):
        msgspec.convert({"key_prefix": "x:"}, RateLimitConfig)
    with pytest.raises(msgspec.ValidationError, match="default_plan"):
        msgspec.convert({"default_plan": "missing"}, RateLimitConfig)
