from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest

from policies.versioning.config import Deprecation, VersioningConfig

DEPRECATED = datetime(2025, 12, 31, tzinfo=UTC)
SUNSET = datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
LINK = "https://developer.q2c.dev/deprecations/v1"


def entry(**overrides: Any) -> Deprecation:
    fields: dict[str, Any] = {
        "operation": "listOrders",
        "deprecated_at": DEPRECATED,
        "sunset": SUNSET,
        "link": LINK,
    }
    fields.update(overrides)
    return Deprecation(**fields)


def config(*entries: Deprecation) -> VersioningConfig:
    return VersioningConfig(deprecations=list(entries))


def test_defaults_deprecate_nothing() -> None:
    assert VersioningConfig().deprecations == []
    plain = entry(sunset=None)
    assert plain.sunset is None
    assert plain.sunset_link is None
    assert plain.replacement == ""


def test_decodes_from_toml_with_offset_date_times() -> None:
    toml = b"""
[[deprecations]]
version = "v1"
deprecated_at = 2025-12-31T00:00:00Z
sunset = 2026-12-31T23:59:59Z
link = "https://developer.q2c.dev/deprecations/v1"

[[deprecations]]
operation = "createOrder"
deprecated_at = 2026-03-01T02:00:00+02:00
link = "https://developer.q2c.dev/deprecations/create-order"
replacement = "POST /v2/orders"
"""
    decoded = msgspec.toml.decode(toml, type=VersioningConfig)
    first, second = decoded.deprecations
    assert first.version == "v1"
    assert first.sunset == SUNSET
    assert second.operation == "createOrder"
    assert second.deprecated_at == datetime(2026, 3, 1, tzinfo=UTC)
    assert second.replacement == "POST /v2/orders"


def test_local_dates_and_times_are_rejected_on_decode() -> None:
    # A local date-time would retire the operation at a different instant per server.
    with pytest.raises(
        msgspec.ValidationError, match=r"timezone.*deprecations\[0\]\.deprecated_at"
    ):
        msgspec.toml.decode(
            b'[[deprecations]]\nversion = "v1"\ndeprecated_at = 2025-12-31T00:00:00\n'
            b'link = "https://q2c.dev/d"\n',
            type=VersioningConfig,
        )
    with pytest.raises(msgspec.ValidationError, match=r"deprecations\[0\]\.deprecated_at"):
        msgspec.toml.decode(
            b'[[deprecations]]\nversion = "v1"\ndeprecated_at = 2025-12-31\n'
            b'link = "https://q2c.dev/d"\n',
            type=VersioningConfig,
        )


def test_naive_datetimes_built_in_code_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"versioning\.deprecations\[0\]\.deprecated_at"):
        config(entry(deprecated_at=datetime(2025, 12, 31), sunset=None))
    with pytest.raises(ValueError, match=r"versioning\.deprecations\[0\]\.sunset needs"):
        config(entry(sunset=datetime(2026, 12, 31)))


def test_sunset_must_not_be_earlier_than_the_deprecation() -> None:
    ok = entry(operation="a")
    with pytest.raises(ValueError, match=r"^versioning\.deprecations\[1\]\.sunset .*earlier"):
        config(ok, entry(operation="b", sunset=DEPRECATED - timedelta(seconds=1)))
    # Equal instants are allowed (RFC 9745 only forbids earlier), across offsets too.
    same = DEPRECATED.astimezone(timezone(timedelta(hours=-5)))
    assert config(entry(sunset=same)).deprecations[0].sunset == DEPRECATED


def test_exactly_one_of_operation_or_version() -> None:
    with pytest.raises(ValueError, match=r"deprecations\[0\]: set exactly one"):
        config(entry(operation=None))
    with pytest.raises(ValueError, match=r"deprecations\[0\]: set exactly one"):
        config(entry(version="v1"))
    assert config(entry(operation=None, version="v1")).deprecations[0].version == "v1"


@pytest.mark.parametrize(
    ("field", "value"),
    [("operation", "list orders"), ("operation", "1st"), ("version", "1"), ("version", "V1")],
)
def test_operation_and_version_syntax(field: str, value: str) -> None:
    overrides = {"operation": None, field: value}
    with pytest.raises(ValueError, match=rf"deprecations\[0\]\.{field} "):
        config(entry(**overrides))


@pytest.mark.parametrize(
    "link",
    [
        "/deprecations/v1",
        "developer.q2c.dev/deprecations",
        "ftp://developer.q2c.dev/deprecations",
        "https:///no-host",
        "http://[::1",
        "https://q2c.dev/a b",
        "https://q2c.dev/a>b",
        'https://q2c.dev/"',
        "https://q2c.dev/\u00e9",
    ],
)
def test_link_must_be_an_absolute_http_url_safe_in_a_link_header(link: str) -> None:
    with pytest.raises(ValueError, match=r"^versioning\.deprecations\[0\]\.link "):
        config(entry(link=link))


def test_sunset_link_is_checked_like_the_link() -> None:
    with pytest.raises(ValueError, match=r"deprecations\[0\]\.sunset_link "):
        config(entry(sunset_link="policy.html"))
    good = config(entry(sunset_link="http://q2c.dev/sunset-policy"))
    assert good.deprecations[0].sunset_link == "http://q2c.dev/sunset-policy"


def test_replacement_is_short_printable_text() -> None:
    with pytest.raises(ValueError, match=r"deprecations\[0\]\.replacement"):
        config(entry(replacement="POST /v2/orders\nX-Injected: 1"))
    with pytest.raises(ValueError, match=r"deprecations\[0\]\.replacement"):
        config(entry(replacement="x" * 201))


def test_an_operation_is_deprecated_once() -> None:
    with pytest.raises(
        ValueError,
        match=r"^versioning\.deprecations\[2\]\.operation 'listOrders' is already deprecated "
        r"by versioning\.deprecations\[0\]",
    ):
        config(entry(), entry(operation=None, version="v1"), entry())


def test_a_version_is_deprecated_once() -> None:
    with pytest.raises(ValueError, match=r"^versioning\.deprecations\[1\]\.version 'v1'"):
        config(entry(operation=None, version="v1"), entry(operation=None, version="v1"))
    # A version and one of its operations may both be listed: the operation wins.
    both = config(entry(operation=None, version="v1"), entry(operation="listOrders"))
    assert len(both.deprecations) == 2


def test_decode_errors_name_the_field() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"deprecations\[0\]\.sunset"):
        msgspec.convert(
            {
                "deprecations": [
                    {
                        "version": "v1",
                        "deprecated_at": "2026-01-01T00:00:00Z",
                        "sunset": "2025-01-01T00:00:00Z",
                        "link": LINK,
                    }
                ]
            },
            VersioningConfig,
        )
    with pytest.raises(msgspec.ValidationError, match="unknown field `sunset_at`"):
        msgspec.convert(
            {
                "deprecations": [
                    {
                        "version": "v1",
                        "deprecated_at": "2026-01-01T00:00:00Z",
                        "link": LINK,
                        "sunset_at": "2027-01-01T00:00:00Z",
                    }
                ]
            },
            VersioningConfig,
        )
