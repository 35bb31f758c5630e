from __future__ import annotations

import msgspec
import pytest

from policies.idempotency.config import IdempotencyConfig


def test_defaults_follow_the_draft_and_stripe() -> None:
    config = IdempotencyConfig()
    assert config.enabled
    assert config.methods == ("POST", "PATCH")
    assert config.lease_seconds is None  # computed per operation from the systems it calls
    assert config.retention_seconds == 86_400
    assert config.max_body_bytes == 1024 * 1024
    assert {"content-type", "location", "etag"} <= set(config.replay_headers)
    assert set(config.release_statuses) == {400, 401, 403, 404, 408, 409, 429, 503, 504}
    assert not {422, 500, 502} & set(config.release_statuses)


def test_loads_from_toml_shaped_data() -> None:
    config = msgspec.convert(
        {"methods": ["POST"], "retention_seconds": 3600, "release_statuses": [400, 503]},
        IdempotencyConfig,
    )
    assert config.methods == ("POST",)
    assert config.release_statuses == (400, 503)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"retention_seconds": 59}, "retention_seconds"),
        ({"retention_seconds": 7 * 86_400 + 1}, "retention_seconds"),
        ({"lease_seconds": 0}, "lease_seconds"),
        ({"max_body_bytes": 0}, "max_body_bytes"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_field_constraints_name_the_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=field):
        msgspec.convert(data, IdempotencyConfig)


def test_seven_days_of_retention_is_allowed() -> None:
    assert IdempotencyConfig(retention_seconds=7 * 86_400).retention_seconds == 604_800


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"methods": ()}, "methods"),
        ({"methods": ("GET",)}, "methods"),
        ({"methods": ("post",)}, "methods"),
        ({"lease_seconds": 120, "retention_seconds": 120}, "lease_seconds"),
        ({"replay_headers": ("Content-Type",)}, "replay_headers"),
        ({"replay_headers": ("set-cookie",)}, "replay_headers"),
        ({"replay_headers": ("ratelimit",)}, "replay_headers"),
        ({"replay_headers": ("x-ratelimit-remaining",)}, "replay_headers"),
        ({"replay_headers": ("content-length",)}, "replay_headers"),
        ({"release_statuses": (201,)}, "release_statuses"),
        ({"release_statuses": (600,)}, "release_statuses"),
    ],
)
def test_cross_field_checks_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=f"idempotency.{field}"):
        IdempotencyConfig(**kwargs)  # type: ignore[arg-type]
