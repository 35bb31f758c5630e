"""What each problem ``type`` the gateway emits means, why it happens and how to fix it.

Problem bodies carry ``type`` = the gateway's problem base + kind (kind with
hyphens; ``policies.problems.problem_type``), by default ``{public_url}/problems/<kind>``;
``/problems/<kind>`` redirects to the portal's page for the kind at
``/portal/problems/<kind>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from policies.problems import problem_type


@dataclass(frozen=True)
class ProblemType:
    kind: str  # the last segment of the type URI
    title: str
    statuses: tuple[int, ...]
    codes: tuple[str, ...]
    meaning: str
    causes: tuple[str, ...]
    fixes: tuple[str, ...]
    retryable: bool = False
    example: dict[str, Any] = field(default_factory=dict)
    # For kinds where only some codes are worth retrying: replaces the yes/no answer.
    retry_advice: str = ""

    @property
    def type_uri(self) -> str:
        return problem_type(self.kind)


def _example(kind: str, title: str, status: int, code: str, detail: str,
             instance: str = "/v1/orders", **extra: Any) -> dict[str, Any]:
    return {
        "type": problem_type(kind),
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
        "instance": instance,
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        **extra,
    }


PROBLEM_TYPES: tuple[ProblemType, ...] = (
    ProblemType(
        "validation", "The request is malformed or invalid", (400, 413, 422),
        ("VALIDATION_FAILED", "MALFORMED_BODY", "INVALID_PARAMETER", "BAD_REQUEST",
         "REQUEST_BODY_TOO_LARGE"),
        "The gateway refused the request before any system of record saw it: the body or a "
        "parameter does not match the operation's schema. Nothing was changed.",
        ("A required member is missing or has the wrong type.",
         "A member the schema does not know (bodies reject unknown members).",
         "A value outside its bounds or pattern: ids, ISO 3166 countries, ISO 4217 "
         "currencies, decimal strings for money.",
         "A body that is not valid JSON, or larger than the operation allows."),
        ("Read the errors list: each entry names the field (a JSON-path-like pointer) and "
         "what is wrong with it.",
         "Compare the body with the operation's schema in the reference.",
         "Do not retry unchanged: the same request fails the same way."),
        example=_example(
            "validation", "Validation failed", 422, "VALIDATION_FAILED",
            "The request body has 1 invalid member(s); nothing was changed.",
            "/v1/customers",
            errors=[{"field": "$.country", "message": "Expected `str` matching regex "
                     "'^[A-Z]{2}$'", "code": "invalid"}],
        ),
    ),
    ProblemType(
        "unauthorized", "Authentication failed", (401,),
        ("TOKEN_MISSING", "TOKEN_INVALID", "TOKEN_EXPIRED"),
        "The call carried no access token, or one the gateway cannot accept. The "
        "WWW-Authenticate header says which.",
        ("No Authorization header, or not the Bearer scheme.",
         "The token expired (exp), is not valid yet (nbf), was issued for another audience "
         "or issuer, or its signature does not verify.",
         "The client was revoked: tokens it already holds run until they expire, new ones "
         "are refused at the token endpoint."),
        ("Get a fresh token from the token endpoint (client credentials) and send it as "
         "'Authorization: Bearer <token>'.",
         "Renew tokens shortly before expires_in runs out instead of after a 401."),
        example=_example("unauthorized", "Access token expired", 401, "TOKEN_EXPIRED",
                         "The access token has expired."),
    ),
    ProblemType(
        "forbidden", "The token lacks a scope", (403,), ("INSUFFICIENT_SCOPE",),
        "The token is valid but does not carry every scope the operation needs.",
        ("The client asked the token endpoint for fewer scopes than the operation needs.",
         "The client is not allowed the scope at all."),
        ("Check the operation's scopes in the catalog and request them with the token "
         "(scope=orders:write ...).",
         "If the client may not have the scope, ask the owning team for it."),
        example=_example("forbidden", "Insufficient scope", 403, "INSUFFICIENT_SCOPE",
                         "This operation needs scope(s) orders:write, which the access token "
                         "does not grant."),
    ),
    ProblemType(
        "not-found", "No such resource", (404,), ("NOT_FOUND",),
        "The resource does not exist for your tenant. Another tenant's record is a 404 "
        "too, never a 403, so ids reveal nothing.",
        ("A mistyped or made-up id.", "A record of another tenant.",
         "A path the API does not have."),
        ("Take ids from list or create responses, not from other tenants or systems.",
         "Check the path and version against the reference."),
        example=_example("not-found", "Not found", 404, "NOT_FOUND",
                         "No order ord_01JDQ2C0000000000000000000.",
                         "/v1/orders/ord_01JDQ2C0000000000000000000"),
    ),
    ProblemType(
        "method-not-allowed", "Method not allowed", (405,), ("METHOD_NOT_ALLOWED",),
        "The path exists but not with this HTTP method.",
        ("A write to a read-only collection, or DELETE where none is offered.",),
        ("Use one of the methods the reference lists for the path.",),
        example=_example("method-not-allowed", "Method Not Allowed", 405,
                         "METHOD_NOT_ALLOWED", "Method Not Allowed", "/v1/products"),
    ),
    ProblemType(
        "not-acceptable", "No acceptable representation", (406,), ("NOT_ACCEPTABLE",),
        "The Accept header asks for a media type the operation cannot produce.",
        ("An Accept header without application/json (or application/problem+json).",),
        ("Send 'Accept: application/json', or leave Accept out.",),
        example=_example("not-acceptable", "Not Acceptable", 406, "NOT_ACCEPTABLE",
                         "Not Acceptable", "/v1/products"),
    ),
    ProblemType(
        "conflict", "The request conflicts with existing data", (409,),
        ("CONFLICT", "QUOTE_ALREADY_ORDERED", "SUBMISSION_IN_PROGRESS"),
        "The change would duplicate or contradict a record that already exists; the "
        "existing_id member names it where there is one.",
        ("Creating a customer that identity matching finds already mastered (same tax id, "
         "or same normalised name and country).",
         "An order for a quote that already has one (QUOTE_ALREADY_ORDERED, under any "
         "Idempotency-Key).",
         "SUBMISSION_IN_PROGRESS: another request is creating the same order, invoice or "
         "payment in its system of record right now."),
        ("Use the record named in existing_id instead of creating another.",
         "Read the current state and decide; retrying the same request conflicts again.",
         "On SUBMISSION_IN_PROGRESS, retry after Retry-After seconds with the same key."),
        example=_example("conflict", "Conflict", 409, "CONFLICT",
                         "This customer is already mastered as cus_01JDQ2C0000000000000000000.",
                         "/v1/customers",
                         existing_id="cus_01JDQ2C0000000000000000000"),
    ),
    ProblemType(
        "gone", "The operation is retired", (410,), ("API_SUNSET",),
        "The operation (or API version) passed its sunset date and no longer runs. "
        "Before the sunset its responses carried Deprecation, Sunset and a "
        "Link rel=\"deprecation\" header.",
        ("A client still calling a deprecated operation after its Sunset date.",),
        ("Move to the replacement named in the detail; the deprecations page has the "
         "migration notes.",
         "Watch for the Deprecation header in responses to catch the next one early."),
        example=_example("gone", "Operation retired", 410, "API_SUNSET",
                         "Operation listOrders was retired on 2027-06-30; use GET /v2/orders."),
    ),
    ProblemType(
        "precondition", "A precondition is missing or failed", (412, 428),
        ("PRECONDITION_FAILED", "PRECONDITION_REQUIRED"),
        "Updates are conditional: PATCH needs an If-Match with the ETag of the "
        "representation you changed (428 without one), and is refused with 412 when "
        "someone changed the record since you read it.",
        ("PATCH without If-Match.", "An ETag from an older read (a lost update prevented).",),
        ("GET the resource, take its ETag header, send it as If-Match.",
         "On 412, read again, re-apply your change to the new state, and retry."),
        example=_example("precondition", "Precondition failed", 412, "PRECONDITION_FAILED",
                         "The customer changed since the ETag you sent.",
                         "/v1/customers/cus_01JDQ2C0000000000000000000"),
    ),
    ProblemType(
        "payload-too-large", "The request body is too large", (413,), ("PAYLOAD_TOO_LARGE",),
        "The body is larger than the operation accepts.",
        ("Too many lines in one request, or a body that is not what the operation expects.",),
        ("Split the work into smaller requests within the schema's maxItems.",),
        example=_example("payload-too-large", "Request Entity Too Large", 413,
                         "PAYLOAD_TOO_LARGE", "Request Entity Too Large"),
    ),
    ProblemType(
        "request-timeout", "The request body did not arrive in time", (408,),
        ("REQUEST_BODY_TIMEOUT",),
        "The client announced a body (Content-Length) and stopped sending before all of it "
        "arrived; the gateway stopped waiting and closed the connection. Nothing was done.",
        ("A client or proxy that sends a Content-Length larger than the body it sends.",
         "A network path that stalls mid-upload.",
         "A client that opens the request and writes the body much later."),
        ("Send the whole body right after the headers, with a Content-Length that matches it "
         "(or chunked encoding).",
         "Retry: nothing was executed, and an Idempotency-Key is not held by a request "
         "whose body never arrived."),
        retryable=True,
        example=_example("request-timeout", "Request body timeout", 408,
                         "REQUEST_BODY_TIMEOUT", "The request body did not arrive within 5 s."),
    ),
    ProblemType(
        "unsupported-media-type", "Unsupported media type", (415,),
        ("UNSUPPORTED_MEDIA_TYPE",),
        "The body's Content-Type is not one the operation reads.",
        ("A JSON body sent without 'Content-Type: application/json'.",
         "A form sent to a JSON operation (only the token endpoint takes forms)."),
        ("Send 'Content-Type: application/json' with JSON bodies.",),
        example=_example("unsupported-media-type", "Unsupported Media Type", 415,
                         "UNSUPPORTED_MEDIA_TYPE", "Unsupported Media Type"),
    ),
    ProblemType(
        "idempotency", "Idempotency-Key missing, reused or in flight", (400, 409, 422),
        ("IDEMPOTENCY_KEY_MISSING", "IDEMPOTENCY_KEY_INVALID", "IDEMPOTENCY_KEY_MISMATCH",
         "IDEMPOTENCY_REQUEST_IN_FLIGHT"),
        "Creating orders, invoices and payments needs an Idempotency-Key so a retry can "
        "never create a second one. A retry with the same key and body replays the first "
        "answer (Idempotent-Replayed: true).",
        ("400: no Idempotency-Key, or one that is not a quoted string of visible ASCII.",
         "422: the key was used before with a different body.",
         "409: the first request with this key is still running."),
        ("Send a new key (a UUID) for each new request and the same key when you retry it.",
         "On 409, wait and retry with the same key; you then get the first request's answer.",
         "On 422, you reused a key by mistake: use a new one."),
        example=_example("idempotency", "Idempotency-Key reused with a different request",
                         422, "IDEMPOTENCY_KEY_MISMATCH",
                         "This Idempotency-Key was first used with another method, path, "
                         "query or body; use a new key for a new request."),
        retry_advice="Only the 409 is worth retrying, with the same key and body; the 400 "
        "and 422 fail the same way until the request changes.",
    ),
    ProblemType(
        "quota-exceeded", "Rate limit reached", (429,), ("QUOTA_EXCEEDED",),
        "Your plan's quota is used up for now. Rejected calls do not consume quota. "
        "RateLimit and RateLimit-Policy headers on every response show where you stand.",
        ("Bursts above the plan's burst size.", "Sustained traffic above quota per window.",
         "Many unauthenticated calls from one address (the per-IP plan)."),
        ("Wait the Retry-After seconds, then retry.",
         "Pace calls using the RateLimit header's remaining units (r) and reset (t).",
         "Ask the owning team for a larger plan if your integration needs one."),
        retryable=True,
        example=_example("quota-exceeded", "Quota exceeded", 429, "QUOTA_EXCEEDED",
                         "Plan 'default' allows 600 units per 60 s (burst 100); this call "
                         "costs 1. Retry after 1 s.",
                         retryable=True, violated_policies=["default"]),
    ),
    ProblemType(
        "rate-limiter-unavailable", "The rate limiter cannot decide", (503,),
        ("RATE_LIMITER_UNAVAILABLE",),
        "The gateway is configured to fail closed and its rate-limit store is unreachable.",
        ("A gateway-side outage of the shared rate-limit store.",),
        ("Retry after a short pause with backoff; the problem is not in your request.",),
        retryable=True,
        example=_example("rate-limiter-unavailable", "Rate limiter unavailable", 503,
                         "RATE_LIMITER_UNAVAILABLE",
                         "The rate limiter cannot decide right now; retry shortly.",
                         retryable=True),
    ),
    ProblemType(
        "dependency", "A system of record failed", (502, 503, 504), ("DEPENDENCY_ERROR",),
        "A system of record behind the API failed; the system member names it. The more "
        "specific kinds below say how.",
        ("An outage, a timeout or a refusal in the CRM, ERP, billing or tax system.",),
        ("Follow the specific kind's advice; retry only when retryable is true.",),
        example=_example("dependency", "System of record failed", 502, "DEPENDENCY_ERROR",
                         "The system of record failed.", system="sap_s4hana"),
    ),
    ProblemType(
        "dependency-unavailable", "A system of record is unavailable", (503,),
        ("DEPENDENCY_UNAVAILABLE", "IDEMPOTENCY_STORE_UNAVAILABLE", "STORE_UNAVAILABLE",
         "SUBMISSION_OUTCOME_PENDING"),
        "The system of record (named in system), the identity provider or a gateway store "
        "could not be reached, or its circuit breaker is open after repeated failures.",
        ("An outage or maintenance window of the system of record.",
         "Network trouble between the gateway and the system.",
         "STORE_UNAVAILABLE: the gateway's own database is down or restarting.",
         "SUBMISSION_OUTCOME_PENDING: an earlier attempt of this create timed out and the "
         "system may still be committing it; the gateway looks it up again after "
         "Retry-After seconds instead of creating a second one."),
        ("Retry with exponential backoff; reuse your Idempotency-Key on writes so a retry "
         "cannot duplicate anything.",
         "If it lasts, check the status page of the owning team."),
        retryable=True,
        example=_example("dependency-unavailable", "System of record unavailable", 503,
                         "DEPENDENCY_UNAVAILABLE", "sap_s4hana did not answer.",
                         system="sap_s4hana", retryable=True),
    ),
    ProblemType(
        "dependency-timeout", "A system of record timed out", (504,),
        ("DEPENDENCY_TIMEOUT", "REQUEST_DEADLINE_EXCEEDED"),
        "The system of record did not answer within the gateway's timeout. A write may or "
        "may not have happened there; the gateway checks before it repeats a write.",
        ("A slow or overloaded system of record.",),
        ("Retry with the same Idempotency-Key: the gateway finds a write that did happen "
         "instead of repeating it.",),
        retryable=True,
        example=_example("dependency-timeout", "System of record timed out", 504,
                         "DEPENDENCY_TIMEOUT", "netsuite did not answer within 10 s.",
                         system="netsuite", retryable=True),
    ),
    ProblemType(
        "dependency-rejected", "A system of record rejected the data", (502,),
        ("DEPENDENCY_REJECTED",),
        "The system of record refused the request for reasons of data quality or mapping: "
        "the data passed the gateway's checks but not the system's. The detail carries the "
        "vendor's code.",
        ("Master data the system of record does not know (a product not released in the "
         "sales area, a tax code).",
         "A required field the system of record added since the mapping was written."),
        ("Do not retry unchanged. Correct the data, or raise it with the owning team "
         "quoting the trace_id: mapping drift is theirs to fix.",),
        example=_example("dependency-rejected", "System of record rejected the request", 502,
                         "DEPENDENCY_REJECTED",
                         "sap_s4hana rejected the sales order (vendor code V1/320).",
                         system="sap_s4hana"),
    ),
    ProblemType(
        "not-configured", "No system of record is configured", (501,), ("NOT_CONFIGURED",),
        "This deployment has no system of record for the domain the operation needs.",
        ("Calling an API that this installation does not offer (for example invoices "
         "without a billing system).",),
        ("Check the catalog for the APIs this installation offers.",),
        example=_example("not-configured", "Not configured", 501, "NOT_CONFIGURED",
                         "No system of record owns invoices in this deployment.",
                         "/v1/invoices"),
    ),
    ProblemType(
        "internal", "Internal error", (500,), ("INTERNAL_ERROR",),
        "The gateway failed unexpectedly. The failure is logged with the trace id.",
        ("A defect in the gateway.",),
        ("Retry once; if it persists, report it to the API platform team quoting the "
         "trace_id.",),
        retryable=True,
        example=_example("internal", "Internal error", 500, "INTERNAL_ERROR",
                         "The gateway failed unexpectedly; quote the trace id when reporting "
                         "this.", retryable=True),
    ),
    ProblemType(
        "http", "Other HTTP error", (400, 404, 414, 431), ("HTTP_ERROR",),
        "An HTTP-level error without a more specific kind, raised by the web server layer.",
        ("An unusual request the router refuses (a too-long URI or header).",),
        ("Read the status code and detail; correct the request.",),
        example=_example("http", "Request-URI Too Long", 414, "HTTP_ERROR",
                         "Request-URI Too Long"),
    ),
)

BY_KIND: dict[str, ProblemType] = {problem.kind: problem for problem in PROBLEM_TYPES}
