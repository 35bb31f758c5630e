from __future__ import annotations

import pytest

from domains.errors import BadRequest
from domains.paging import Page, encode_cursor, fingerprint, next_cursor, page_request


def test_cursor_round_trip_keeps_offset() -> None:
    first = page_request(None, 10, "customers", "DE")
    assert first.offset == 0
    cursor = next_cursor(first, Page(items=[1] * 10, has_more=True))
    assert cursor is not None
    assert all(c.isalnum() or c in "-_" for c in cursor)
    second = page_request(cursor, 10, "customers", "DE")
    assert second.offset == 10


def test_last_page_has_no_cursor() -> None:
    request = page_request(None, 10, "x")
    assert next_cursor(request, Page(items=[1], has_more=False)) is None


def test_cursor_from_other_filters_is_refused() -> None:
    cursor = encode_cursor(10, fingerprint("customers", "DE"))
    with pytest.raises(BadRequest) as info:
        page_request(cursor, 10, "customers", "FR")
    assert info.value.code == "INVALID_CURSOR"


@pytest.mark.parametrize("garbage", ["zzz", "AAAA", "eyJvIjotMSwiZiI6IngifQ"])
def test_garbage_cursor_is_a_bad_request(garbage: str) -> None:
    with pytest.raises(BadRequest):
        page_request(garbage, 10, "customers")
