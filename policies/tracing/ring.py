"""An in-memory ring of finished spans: the embedded default's trace backend.

A span processor rather than an exporter behind SimpleSpanProcessor: keeping a
reference is all it does, so it runs inline at span end without the export
machinery. Spans are turned into views only when someone reads them.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.trace import SpanKind, StatusCode

from policies.tracing.view import (
    MAX_ATTRIBUTE_KEY,
    MAX_ATTRIBUTE_VALUE,
    MAX_ATTRIBUTES,
    SpanKindName,
    SpanStatus,
    SpanView,
    TracePage,
)

_KINDS: dict[SpanKind, SpanKindName] = {
    SpanKind.SERVER: "server",
    SpanKind.CLIENT: "client",
    SpanKind.INTERNAL: "internal",
    SpanKind.PRODUCER: "producer",
    SpanKind.CONSUMER: "consumer",
}
_STATUSES: dict[StatusCode, SpanStatus] = {
    StatusCode.UNSET: "unset",
    StatusCode.OK: "ok",
    StatusCode.ERROR: "error",
}
TENANT_ATTRIBUTE = "q2c.tenant"


class SpanRing(SpanProcessor):
    """The last ``size`` finished spans of this process, oldest evicted first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._spans: deque[tuple[int, ReadableSpan]] = deque(maxlen=size)
        self._seq = 0
        # Spans may end on another thread (a handler's thread pool); readers copy
        # under the lock so iteration never sees the deque change.
        self._lock = threading.Lock()

    def on_end(self, span: ReadableSpan) -> None:
        with self._lock:
            self._seq += 1
            self._spans.append((self._seq, span))

    def __len__(self) -> int:
        return len(self._spans)

    def clear(self) -> None:
        with self._lock:
            self._spans.clear()

    def _newest_first(self) -> Iterator[tuple[int, ReadableSpan]]:
        with self._lock:
            snapshot = list(self._spans)
        return reversed(snapshot)

    def page(
        self,
        *,
        trace_id: str | None = None,
        tenant: str | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> TracePage:
        """Newest first; ``before`` is a previous page's ``next_cursor``; ``tenant``
        keeps only spans recorded for that tenant."""
        wanted = int(trace_id, 16) if trace_id else None
        found: list[SpanView] = []
        last_seq = 0
        more = False
        for seq, span in self._newest_first():
            if before is not None and seq >= before:
                continue
            context = span.context
            if context is None or (wanted is not None and context.trace_id != wanted):
                continue
            if tenant is not None and (span.attributes or {}).get(TENANT_ATTRIBUTE) != tenant:
                continue
            if len(found) == limit:
                more = True
                break
            found.append(span_view(span))
            last_seq = seq
        return TracePage(data=found, next_cursor=str(last_seq) if more else None)


def span_view(span: ReadableSpan) -> SpanView:
    context = span.context
    assert context is not None  # spans in the ring were recorded, so they have one
    start_ns = span.start_time or 0
    end_ns = span.end_time or start_ns
    return SpanView(
        trace_id=f"{context.trace_id:032x}",
        span_id=f"{context.span_id:016x}",
        parent_span_id=f"{span.parent.span_id:016x}" if span.parent else None,
        name=span.name[:200],
        kind=_KINDS.get(span.kind, "internal"),
        start=datetime.fromtimestamp(start_ns / 1e9, UTC),
        duration_ms=round(max(0, end_ns - start_ns) / 1e6, 3),
        status=_STATUSES.get(span.status.status_code, "unset"),
        attributes=_bounded(span.attributes or {}),
    )


def _bounded(attributes: Any) -> dict[str, str]:
    result: dict[str, str] = {}
    for key, value in attributes.items():
        if len(result) == MAX_ATTRIBUTES:
            break
        text = ",".join(map(str, value)) if isinstance(value, tuple | list) else str(value)
        result[str(key)[:MAX_ATTRIBUTE_KEY]] = text[:MAX_ATTRIBUTE_VALUE]
    return result
