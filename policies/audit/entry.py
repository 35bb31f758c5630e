"""Building audit entries that always fit the wire schema, and recording them safely.

Entries are decoded with their constraints when read back, so an over-long
field would make an entry unreadable: everything is cut to its bound here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from contracts.v1.audit import AuditEntry, AuditOutcome
from contracts.v1.common import ExternalReference
from policies.audit.store import AuditStore

logger = logging.getLogger(__name__)

MAX_SYSTEM_REFS = 20

ErrorHook = Callable[[Exception], None]


def utc_timestamp(moment: datetime | None = None) -> str:
    """RFC 3339 UTC with milliseconds, e.g. ``2026-11-27T04:13:23.120Z``."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def outcome_of(status: int) -> AuditOutcome:
    if status >= 500:
        return "failed"
    if status >= 400:
        return "rejected"
    return "succeeded"


def make_entry(
    *,
    tenant: str,
    consumer: str,
    operation: str,
    status: int,
    method: str = "",
    route: str = "",
    resource_id: str | None = None,
    system_refs: Iterable[ExternalReference] = (),
    trace_id: str = "",
    idempotency_key: str | None = None,
    replayed: bool = False,
    at: datetime | None = None,
) -> AuditEntry:
    """An entry to append (its id is given by the store)."""
    status = min(max(status, 100), 599)
    return AuditEntry(
        id="",
        at=utc_timestamp(at),
        tenant=tenant[:64],
        consumer=consumer[:200],
        operation=operation[:100],
        method=method[:16],
        route=route[:500],
        resource_id=resource_id[:64] if resource_id else None,
        system_refs=list(system_refs)[:MAX_SYSTEM_REFS],
        outcome=outcome_of(status),
        status=status,
        trace_id=trace_id[:64],
        idempotency_key=idempotency_key[:255] if idempotency_key else None,
        replayed=replayed,
    )


async def record(
    store: AuditStore, entry: AuditEntry, *, on_error: ErrorHook | None = None
) -> str | None:
    """Append ``entry`` for a writer outside HTTP (ops actions, flow replays).

    The audit trail must never undo or fail the action it describes, so a store
    failure is logged and reported to ``on_error`` and None is returned.
    """
    try:
        return await store.append(entry)
    except Exception as exc:
        logger.warning(
            "audit entry not recorded: %s %s (trace %s)",
            entry.operation, entry.resource_id or "-", entry.trace_id or "-", exc_info=True,
        )
        if on_error is not None:
            try:
                on_error(exc)
            except Exception:
                logger.exception("audit on_error hook failed")
        return None
