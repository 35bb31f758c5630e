"""Signed cursors and pages filled across records the caller may not see."""

from __future__ import annotations

import base64

import pytest

from domains.errors import BadRequest
from domains.paging import MAX_LIMIT, Page, Pager

KEY = b"k" * 32


def test_a_cursor_round_trips_its_position() -> None:
    pager = Pager(KEY)
    first = pager.request("acme", None, 10, "customers", "DE")
    assert first.offset == 0
    cursor = pager.cursor(first, 10)
    assert cursor is not None
    assert all(c.isalnum() or c in "-_" for c in cursor)
    assert pager.request("acme", cursor, 10, "customers", "DE").offset == 10


def test_the_end_of_the_list_has_no_cursor() -> None:
    pager = Pager(KEY)
    assert pager.cursor(pager.request("acme", None, 10, "x"), None) is None


@pytest.mark.parametrize(
    ("tenant", "filters"),
    [
        ("acme", ("customers", "FR")),  # other filters
        ("acme", ("products", "DE")),  # another list
        ("globex", ("customers", "DE")),  # another tenant
    ],
)
def test_a_cursor_is_bound_to_its_tenant_list_and_filters(
    tenant: str, filters: tuple[str, ...]
) -> None:
    pager = Pager(KEY)
    cursor = pager.cursor(pager.request("acme", None, 10, "customers", "DE"), 10)
    with pytest.raises(BadRequest) as info:
        pager.request(tenant, cursor, 10, *filters)
    assert info.value.code == "INVALID_CURSOR"


def test_an_edited_offset_is_refused() -> None:
    pager = Pager(KEY)
    request = pager.request("acme", None, 10, "customers")
    cursor = pager.cursor(request, 10)
    assert cursor is not None
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[4] ^= 0x01  # the offset's last byte: 10 -> 11
    edited = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    with pytest.raises(BadRequest):
        pager.request("acme", edited, 10, "customers")


def test_another_key_does_not_open_the_cursor() -> None:
    request = Pager(KEY).request("acme", None, 10, "customers")
    cursor = Pager(KEY).cursor(request, 10)
    with pytest.raises(BadRequest):
        Pager(b"x" * 32).request("acme", cursor, 10, "customers")


@pytest.mark.parametrize(
    "garbage", ["zzz", "AAAA", "eyJvIjo1MCwiZiI6IjNiYjdjZDAzYTIzNCJ9", "=" * 8, "A" * 28]
)
def test_garbage_and_old_unsigned_cursors_are_a_bad_request(garbage: str) -> None:
    with pytest.raises(BadRequest):
        Pager(KEY).request("acme", garbage, 10, "customers")


class Source:
    """A system of record with ``total`` records; the caller sees those ``visible`` keeps."""

    def __init__(self, total: int, visible: set[int]) -> None:
        self.records = list(range(total))
        self.visible = visible
        self.reads: list[tuple[int, int]] = []

    async def fetch(self, offset: int, count: int) -> Page[int]:
        self.reads.append((offset, count))
        items = self.records[offset : offset + count]
        return Page(items=items, has_more=offset + count < len(self.records))

    async def keep(self, items: list[int]) -> list[int]:
        return [item for item in items if item in self.visible]


async def walk(pager: Pager, source: Source, limit: int) -> list[list[int]]:
    pages: list[list[int]] = []
    cursor = None
    while True:
        request = pager.request("acme", cursor, limit, "list")
        items, next_offset = await pager.collect(request, source.fetch, source.keep)
        pages.append(items)
        cursor = pager.cursor(request, next_offset)
        if cursor is None:
            return pages


async def test_pages_are_full_until_the_last_when_most_records_are_hidden() -> None:
    source = Source(300, visible={5, 77, 78, 150, 299})
    pages = await walk(Pager(KEY), source, limit=1)
    assert pages == [[5], [77], [78], [150], [299]]


async def test_every_visible_record_is_listed_once_in_order() -> None:
    visible = {i for i in range(500) if i % 7 in (0, 3)}
    for limit in (1, 3, 25, MAX_LIMIT):
        source = Source(500, visible)
        pages = await walk(Pager(KEY), source, limit)
        assert [i for page in pages for i in page] == sorted(visible)
        assert all(len(page) == limit for page in pages[:-1])


async def test_the_scan_bound_gives_a_short_page_with_a_cursor_and_the_walk_goes_on() -> None:
    source = Source(1000, visible={10, 900})
    pager = Pager(KEY, max_scan=MAX_LIMIT)
    pages = await walk(pager, source, limit=2)
    assert [i for page in pages for i in page] == [10, 900]
    assert [] in pages  # a page inside the hidden stretch: empty, but with a cursor
    assert all(count <= MAX_LIMIT for _, count in source.reads)
    assert max(len(pages) - 1, 0) >= 1000 // MAX_LIMIT - 1


async def test_an_unfiltered_list_reads_one_batch_per_page() -> None:
    source = Source(100, visible=set(range(100)))
    pager = Pager(KEY)
    request = pager.request("acme", None, 10, "list")
    items, next_offset = await pager.collect(request, source.fetch)
    assert items == list(range(10))
    assert next_offset == 10
    assert source.reads == [(0, 10)]


def test_a_short_key_or_a_scan_below_one_page_is_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        Pager(b"short")
    with pytest.raises(ValueError, match="max_scan"):
        Pager(KEY, max_scan=10)


def test_a_key_source_is_read_once_on_first_use() -> None:
    reads: list[int] = []

    def source() -> bytes:
        reads.append(1)
        return KEY

    pager = Pager(source)
    assert reads == []
    request = pager.request("acme", None, 10, "list")
    assert pager.cursor(request, 10) == Pager(KEY).cursor(request, 10)
    assert pager.key() == KEY
    assert reads == [1]
    with pytest.raises(ValueError, match="16 bytes"):
        Pager(lambda: b"short").key()
