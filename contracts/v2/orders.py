"""v2 orders: v1's order plus where fulfilment stands.

Fulfilment is what finance asks about at month end (ordered but not delivered
means not yet billable); v1 clients never see the new member.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from contracts.v1 import orders as v1
from contracts.v1.common import MAX_PAGE_SIZE, Cursor

FulfillmentStatus = Literal["unfulfilled", "partially_fulfilled", "fulfilled"]


# Named apart from v1's Order so both versions' schemas keep stable component names.
class OrderV2(v1.Order, frozen=True, kw_only=True):
    fulfillment_status: FulfillmentStatus = "unfulfilled"


class OrderPageV2(msgspec.Struct, frozen=True, kw_only=True):
    data: Annotated[list[OrderV2], msgspec.Meta(max_length=MAX_PAGE_SIZE)]
    next_cursor: Cursor | None = None

