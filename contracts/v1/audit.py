"""Audit trail entries: who wrote what, when, with which outcome (GET /v1/ops/audit)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from contracts.v1.common import Cursor, ExternalReference, Timestamp

AuditOutcome = Literal["succeeded", "rejected", "failed"]

AuditEntryId = Annotated[
    str,
    msgspec.Meta(
        max_length=64,
        description="Opaque id the audit store gave the entry; ids sort by recording time",
        examples=["1767139200000-0"],
    ),
]
TenantName = Annotated[str, msgspec.Meta(max_length=64, description="Tenant of the caller")]
ClientId = Annotated[str, msgspec.Meta(max_length=200, description="Client id of the caller")]
OperationName = Annotated[
    str, msgspec.Meta(max_length=100, description="operationId, or the job's action name")
]
HttpMethod = Annotated[str, msgspec.Meta(max_length=16, examples=["POST"])]
RouteTemplate = Annotated[
    str,
    msgspec.Meta(
        max_length=500,
        description="Route template (never the raw path)",
        examples=["/v1/orders/{order_id}"],
    ),
]
ResourceId = Annotated[
    str, msgspec.Meta(max_length=64, description="Canonical id of the resource written")
]
TraceId = Annotated[str, msgspec.Meta(max_length=64, description="W3C trace id of the call")]
IdempotencyKey = Annotated[str, msgspec.Meta(max_length=255)]


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One write through the gateway; request and response bodies are never kept."""

    id: AuditEntryId
    at: Timestamp
    tenant: TenantName
    consumer: ClientId
    operation: OperationName
    method: HttpMethod
    route: RouteTemplate
    resource_id: ResourceId | None = None
    system_refs: Annotated[
        list[ExternalReference],
        msgspec.Meta(max_length=20, description="System-of-record records touched"),
    ] = []
    outcome: AuditOutcome
    status: Annotated[int, msgspec.Meta(ge=100, le=599)]
    trace_id: TraceId = ""
    idempotency_key: IdempotencyKey | None = None
    replayed: bool = False


class AuditPage(msgspec.Struct, frozen=True, kw_only=True):
    data: Annotated[list[AuditEntry], msgspec.Meta(max_length=200)]
    next_cursor: Cursor | None = None
