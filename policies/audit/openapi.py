"""What the audit policy adds to the OpenAPI document.

The policy adds one operation, ``listAuditEntries`` (``audit_routes``), which
documents itself with ``AUDIT_RESPONSES``; recording writes adds nothing to
other operations' contracts.
"""

from __future__ import annotations

from litestar.openapi.datastructures import ResponseSpec

from contracts.problem import PROBLEM_MEDIA_TYPE, Problem

AUDIT_RESPONSES: dict[int, ResponseSpec] = {
    status: ResponseSpec(
        data_container=Problem,
        description=description,
        media_type=PROBLEM_MEDIA_TYPE,
        generate_examples=False,
    )
    for status, description in (
        (400, "Invalid filter, time range, cursor or limit"),
        (503, "The audit store is unavailable; retry later"),
    )
}
