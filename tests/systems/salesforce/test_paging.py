"""The adapter's lists page at any depth against the sandbox, which refuses SOQL OFFSET
past 2,000 rows exactly like Salesforce."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from domains.customer.ports import CustomerQuery
from domains.errors import BadRequest
from domains.pricing.ports import PriceQuery
from domains.quote.ports import QuoteQuery
from sandboxes.salesforce.app import SalesforceSandbox
from tests.support.salesforce import seed_accounts
from tests.systems.salesforce.support import Wired, wired

DEEP = 2_150  # past SOQL's 2,000-row OFFSET cap


@pytest.fixture
async def empty_org() -> AsyncIterator[Wired]:
    async with wired(SalesforceSandbox(seed=False)) as org:
        yield org


@pytest.fixture
async def demo_org() -> AsyncIterator[Wired]:
    async with wired(SalesforceSandbox()) as org:
        yield org


def offsets(soql: list[str]) -> list[int]:
    return [int(m[1]) for q in soql for m in re.finditer(r"OFFSET (\d+)", q)]


async def test_a_customer_list_walks_past_2000_records_by_position(empty_org: Wired) -> None:
    ids = await seed_accounts(empty_org.direct, DEEP, prefix="Deep")
    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        page = await empty_org.adapter.list_customers(CustomerQuery(), 0, 200, after=after)
        seen.extend(record.system_id for record in page.items)
        pages += 1
        if not page.has_more:
            assert page.next_position is None
            break
        after = page.next_position
    assert seen == ids  # every record once, in Id order
    assert pages == -(-DEEP // 200)
    assert offsets(empty_org.transport.soql()) == []  # never an OFFSET


async def test_an_offset_cursor_from_before_positions_still_reaches_deep_pages(
    empty_org: Wired,
) -> None:
    ids = await seed_accounts(empty_org.direct, DEEP, prefix="Offset")
    page = await empty_org.adapter.list_customers(CustomerQuery(), 2_100, 25)
    assert [record.system_id for record in page.items] == ids[2_100:2_125]
    assert page.has_more is True
    assert max(offsets(empty_org.transport.soql())) < 2_000
    last = await empty_org.adapter.list_customers(CustomerQuery(), DEEP - 3, 25)
    assert [record.system_id for record in last.items] == ids[-3:]
    assert last.has_more is False
    beyond = await empty_org.adapter.list_customers(CustomerQuery(), DEEP + 10, 25)
    assert beyond.items == []
    assert beyond.has_more is False


async def test_positions_resume_behind_any_item_of_a_filtered_list(empty_org: Wired) -> None:
    await seed_accounts(empty_org.direct, 40, prefix="Alpha")
    betas = await seed_accounts(empty_org.direct, 40, prefix="Beta")
    query = CustomerQuery(name="Beta")
    first = await empty_org.adapter.list_customers(query, 0, 10)
    assert [r.system_id for r in first.items] == betas[:10]
    assert first.positions == tuple(betas[:10])
    # A caller that kept only 4 of the 10 resumes right behind the 4th.
    behind_fourth = await empty_org.adapter.list_customers(
        query, 0, 10, after=first.positions[3]
    )
    assert [r.system_id for r in behind_fourth.items] == betas[4:14]
    # after and offset combine: 5 further on from the position.
    skipped = await empty_org.adapter.list_customers(query, 5, 3, after=first.positions[3])
    assert [r.system_id for r in skipped.items] == betas[9:12]


@pytest.mark.parametrize(
    "position",
    [
        "0Q0Q20000000001AAA",  # a quote's position, given to the customer list
        "not-an-id",
        "001' OR Name != '",
        "001Q2000000001",  # 14 characters
    ],
)
async def test_a_position_that_is_not_this_lists_is_refused(
    demo_org: Wired, position: str
) -> None:
    with pytest.raises(BadRequest) as refused:
        await demo_org.adapter.list_customers(CustomerQuery(), 0, 10, after=position)
    assert refused.value.code == "INVALID_CURSOR"
    assert demo_org.transport.soql() == []


async def test_quotes_and_prices_page_by_position_too(demo_org: Wired) -> None:
    everything = await demo_org.adapter.list_quotes(QuoteQuery(), 0, 200)
    assert not everything.has_more
    walked = []
    after = None
    while True:
        page = await demo_org.adapter.list_quotes(QuoteQuery(), 0, 2, after=after)
        walked.extend(page.items)
        after = page.next_position
        if after is None:
            break
    assert walked == everything.items
    assert all(quote.lines for quote in walked)
    single = await demo_org.adapter.get_quote(walked[0].system_id)
    assert single == walked[0]  # lists carry the same lines a read does

    prices = await demo_org.adapter.list_prices(PriceQuery(currency="EUR"), 0, 200)
    second_half = await demo_org.adapter.list_prices(
        PriceQuery(currency="EUR"), 0, 200, after=prices.positions[4]
    )
    assert second_half.items == prices.items[5:]


async def test_quote_lines_of_a_page_cost_two_queries_not_two_per_quote(demo_org: Wired) -> None:
    page = await demo_org.adapter.list_quotes(QuoteQuery(), 0, 200)
    assert len(page.items) > 2
    assert len(demo_org.transport.soql()) == 3  # quotes, their lines, the lines' products
