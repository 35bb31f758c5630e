"""Audit trail: every governed write recorded append-only, queryable and exportable.

Who (tenant, consumer), what (operation, route template, canonical id, system
ids touched), when, outcome, trace id and idempotency key; never bodies. Kept in
a Redis Stream with bounded retention, or an in-process ring in the embedded
default; read at GET /v1/ops/audit and exported as JSON lines.
"""

from contracts.v1.audit import AuditEntry, AuditPage
from policies.audit.config import AuditConfig
from policies.audit.entry import make_entry, outcome_of, record, utc_timestamp
from policies.audit.export import export_jsonl
from policies.audit.memory import MemoryAuditStore
from policies.audit.middleware import AuditMiddleware
from policies.audit.routes import audit_routes
from policies.audit.store import AuditStore, AuditStoreError, InvalidCursor

__all__ = [
    "AuditConfig",
    "AuditEntry",
    "AuditMiddleware",
    "AuditPage",
    "AuditStore",
    "AuditStoreError",
    "InvalidCursor",
    "MemoryAuditStore",
    "audit_routes",
    "export_jsonl",
    "make_entry",
    "outcome_of",
    "record",
    "utc_timestamp",
]
