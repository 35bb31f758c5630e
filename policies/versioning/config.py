"""Which operations and API versions are deprecated, and when they go away."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

import msgspec

# An operationId as the route handlers declare it (e.g. "createOrder").
OPERATION_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$"
# The first path segment of a versioned API (/v1/...).
VERSION_PATTERN = r"^v[0-9]{1,3}$"
_OPERATION = re.compile(OPERATION_PATTERN)
_VERSION = re.compile(VERSION_PATTERN)
# The link goes out verbatim inside <...> in a Link header field, so only
# visible ASCII that cannot close the reference or start a parameter.
_LINK_UNSAFE = re.compile(r'[^\x21-\x7e]|[<>"\\]')

# Offset date-times only (TOML `2026-12-31T00:00:00Z`): a local date or time
# would retire an operation at a different instant on every server.
Instant = Annotated[datetime, msgspec.Meta(tz=True)]
Url = Annotated[str, msgspec.Meta(min_length=8, max_length=2000)]


class Deprecation(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One deprecated operation (by operationId) or a whole API version.

    Entries are checked by ``VersioningConfig``, which knows their position and
    so can name the offending field.
    """

    # The operationId to deprecate (e.g. "listPrices"); set this or `version`.
    operation: Annotated[str, msgspec.Meta(pattern=OPERATION_PATTERN)] | None = None
    # A whole API version, the first path segment (e.g. "v1"); an operation
    # entry for one of its operations takes precedence.
    version: Annotated[str, msgspec.Meta(pattern=VERSION_PATTERN)] | None = None
    # From this instant responses carry Deprecation, Sunset and Link (RFC 9745).
    deprecated_at: Instant
    # From this instant the operation answers 410 API_SUNSET without running;
    # None keeps it deprecated but working. Never earlier than deprecated_at.
    sunset: Instant | None = None
    # Human-readable deprecation notice, sent as Link rel="deprecation".
    link: Url
    # Where the sunset policy is documented, sent as Link rel="sunset" (RFC 8594 §4).
    sunset_link: Url | None = None
    # What to use instead (e.g. "POST /v2/orders"), named in the 410 problem.
    replacement: Annotated[str, msgspec.Meta(max_length=200)] = ""

    @property
    def subject(self) -> str:
        """What is deprecated, in words for problem details and documentation."""
        if self.operation is not None:
            return f"Operation {self.operation}"
        return f"API version {self.version}"


class VersioningConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The deprecation and sunset lifecycle of operations and API versions."""

    deprecations: Annotated[list[Deprecation], msgspec.Meta(max_length=1000)] = []

    def __post_init__(self) -> None:
        operations: dict[str, int] = {}
        versions: dict[str, int] = {}
        for index, entry in enumerate(self.deprecations):
            where = f"versioning.deprecations[{index}]"
            _check_entry(entry, where)
            if entry.operation is not None:
                seen, key = operations, entry.operation
            else:
                seen, key = versions, str(entry.version)
            if key in seen:
                field = "operation" if entry.operation is not None else "version"
                raise ValueError(
                    f"{where}.{field} {key!r} is already deprecated by "
                    f"versioning.deprecations[{seen[key]}]"
                )
            seen[key] = index


def _check_entry(entry: Deprecation, where: str) -> None:
    # Meta constraints only run on decode; entries built in code are checked here.
    if (entry.operation is None) == (entry.version is None):
        raise ValueError(f"{where}: set exactly one of operation or version")
    if entry.operation is not None and not _OPERATION.match(entry.operation):
        raise ValueError(f"{where}.operation {entry.operation!r} must match {OPERATION_PATTERN}")
    if entry.version is not None and not _VERSION.match(entry.version):
        raise ValueError(f"{where}.version {entry.version!r} must match {VERSION_PATTERN}")
    if entry.deprecated_at.utcoffset() is None:
        raise ValueError(f"{where}.deprecated_at needs a UTC offset (e.g. 2026-12-31T00:00:00Z)")
    if entry.sunset is not None:
        if entry.sunset.utcoffset() is None:
            raise ValueError(f"{where}.sunset needs a UTC offset (e.g. 2027-06-30T00:00:00Z)")
        if entry.sunset < entry.deprecated_at:
            raise ValueError(
                f"{where}.sunset {entry.sunset.isoformat()} must not be earlier than "
                f"deprecated_at {entry.deprecated_at.isoformat()} (RFC 9745 §4)"
            )
    _check_url(entry.link, f"{where}.link")
    if entry.sunset_link is not None:
        _check_url(entry.sunset_link, f"{where}.sunset_link")
    if len(entry.replacement) > 200 or not entry.replacement.isprintable():
        raise ValueError(f"{where}.replacement must be at most 200 printable characters")


def _check_url(value: str, where: str) -> None:
    try:
        parts = urlsplit(value)
        absolute = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed IPv6 literal
        absolute = False
    if not absolute:
        raise ValueError(f"{where} {value!r} must be an absolute http(s) URL")
    if len(value) > 2000 or _LINK_UNSAFE.search(value):
        raise ValueError(
            f'{where} must be at most 2000 characters of visible ASCII without <, >, ", \\ '
            "(percent-encode anything else)"
        )
