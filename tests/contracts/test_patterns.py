"""The contract's text patterns say exactly what the business means: real calendar
dates, one line of text without control characters, quantities above zero."""

from __future__ import annotations

import random
import re
from datetime import date, timedelta

import msgspec
import pytest

from contracts.v1.common import (
    CALENDAR_DATE_PATTERN,
    POSITIVE_QUANTITY_PATTERN,
    SINGLE_LINE_PATTERN,
)
from contracts.v1.customers import CustomerName

DATE = re.compile(CALENDAR_DATE_PATTERN)
QUANTITY = re.compile(POSITIVE_QUANTITY_PATTERN)
SINGLE_LINE = re.compile(SINGLE_LINE_PATTERN)


def is_calendar_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def test_every_day_of_four_centuries_is_a_date_and_its_impossible_neighbours_are_not() -> None:
    day = date(1800, 1, 1)
    while day.year < 2401:
        assert DATE.match(day.isoformat()), day
        day += timedelta(days=1)
    for year in (1800, 1900, 1999, 2000, 2024, 2025, 2100, 2400):
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        assert bool(DATE.match(f"{year}-02-29")) is leap, year
        assert not DATE.match(f"{year}-02-30")
        assert not DATE.match(f"{year}-04-31")
        assert not DATE.match(f"{year}-13-01")
        assert not DATE.match(f"{year}-00-10")
        assert not DATE.match(f"{year}-01-00")


def test_the_date_pattern_agrees_with_the_calendar_on_random_strings() -> None:
    rng = random.Random(13)
    for _ in range(20_000):
        text = (
            f"{rng.randrange(0, 10_000):04d}-{rng.randrange(0, 14):02d}-{rng.randrange(0, 33):02d}"
        )
        assert bool(DATE.match(text)) is is_calendar_date(text), text
    for text in ("0000-00-00", "0000-01-01", "2026-1-01", "2026-01-1", "20260101", " 2026-01-01",
                 "2026-01-01\n", "2026-01-01T00:00:00Z", "+2026-01-01",
                 "\uff12\uff10\uff12\uff16-01-01"):  # full-width digits
        assert not DATE.match(text), text


@pytest.mark.parametrize(
    "text", ["0", "0.0", "0.000", "00", "01", "-1", "1.", ".5", "1.2345", "1e3", "0.0000", " 1"]
)
def test_quantities_that_are_not_above_zero_or_not_decimals_fail(text: str) -> None:
    assert not QUANTITY.match(text)


@pytest.mark.parametrize(
    "text", ["1", "0.001", "0.01", "0.1", "0.010", "0.100", "10", "999999999.999", "12.5"]
)
def test_quantities_above_zero_pass(text: str) -> None:
    assert QUANTITY.match(text)


@pytest.mark.parametrize(
    "char", [*map(chr, range(0x20)), "\x7f", "\x85", "\x9f", "\u2028", "\u2029"]
)
def test_no_control_character_is_single_line_text(char: str) -> None:
    assert not SINGLE_LINE.match(f"a{char}b")
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(f"Name{char}", CustomerName)


@pytest.mark.parametrize("text", ["Müller & Söhne GmbH", "株式会社 東京", "O'Brien (UK) Ltd.", ""])
def test_ordinary_text_is_single_line(text: str) -> None:
    assert SINGLE_LINE.match(text)


def test_a_name_still_needs_a_visible_character() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert("   ", CustomerName)
    assert msgspec.convert(" x ", CustomerName) == " x "


def test_a_long_name_is_checked_quickly() -> None:
    import time

    started = time.perf_counter()
    for text in (" " * 100_000 + "\x00", "a" * 1_000_000):
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert(text, CustomerName)
    assert time.perf_counter() - started < 0.5


def test_no_pattern_lets_a_final_line_feed_through() -> None:
    # Python's ``$`` matches before a final "\n"; JSON Schema's does not. Both must refuse.
    from contracts.v1.common import CalendarDate, DecimalString, LegalEntity, PositiveQuantity
    from contracts.v1.customers import Phone, TaxId, Website

    for target, good in [
        (TaxId, "DE811907980"),
        (Phone, "+49 30 1234"),
        (Website, "northwind.example/about"),
        (LegalEntity, "ACME-UK"),
        (CalendarDate, "2026-12-24"),
        (DecimalString, "12.50"),
        (PositiveQuantity, "2"),
        (CustomerName, "Northwind"),
    ]:
        assert msgspec.convert(good, target) == good
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert(good + "\n", target)
