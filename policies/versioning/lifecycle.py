"""A deprecation entry turned into what goes on the wire, built once at start-up."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import format_datetime

from policies.versioning.config import Deprecation

DEPRECATION = b"deprecation"
SUNSET = b"sunset"
LINK = b"link"


def deprecation_value(instant: datetime) -> str:
    """RFC 9745 §2.1: an sf-date, ``@`` and integer seconds since the epoch."""
    return f"@{math.floor(instant.timestamp())}"


def sunset_value(instant: datetime) -> str:
    """RFC 8594 §3: an HTTP-date (IMF-fixdate, always GMT)."""
    return format_datetime(instant.astimezone(UTC), usegmt=True)


def link_value(url: str, rel: str) -> str:
    return f'<{url}>; rel="{rel}"'


def retired_on(instant: datetime) -> str:
    """The sunset in words for a problem detail: the day, plus the time when not midnight."""
    utc = instant.astimezone(UTC).replace(microsecond=0)
    if utc.time() == datetime.min.time():
        return utc.date().isoformat()
    return f"{utc:%Y-%m-%d %H:%M:%S} UTC"


class Lifecycle:
    """One entry's deadlines (whole epoch seconds) and its precomputed header bytes."""

    __slots__ = ("deprecated_at", "detail", "entry", "headers", "sunset_at")

    def __init__(self, entry: Deprecation) -> None:
        self.entry = entry
        # Whole seconds, the resolution of both header fields, so what the
        # headers announce and what the middleware does agree to the second.
        self.deprecated_at = float(math.floor(entry.deprecated_at.timestamp()))
        self.sunset_at = (
            float(math.floor(entry.sunset.timestamp())) if entry.sunset is not None else None
        )
        headers = [(DEPRECATION, deprecation_value(entry.deprecated_at).encode())]
        if entry.sunset is not None:
            headers.append((SUNSET, sunset_value(entry.sunset).encode()))
        headers.append((LINK, link_value(entry.link, "deprecation").encode()))
        if entry.sunset_link is not None:
            headers.append((LINK, link_value(entry.sunset_link, "sunset").encode()))
        self.headers = headers
        self.detail = self._detail(entry)

    @staticmethod
    def _detail(entry: Deprecation) -> str:
        if entry.sunset is None:
            return ""
        instead = f"use {entry.replacement}, " if entry.replacement else ""
        return (
            f"{entry.subject} was retired on {retired_on(entry.sunset)}; {instead}see {entry.link}"
        )
