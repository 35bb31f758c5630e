"""NetSuite REST error bodies (``o:errorDetails``) -> the gateway's taxonomy, in one place.

NetSuite answers every failure with an RFC 9457-style problem whose details carry the
vendor code and the part of the request at fault::

    {"type": "...", "title": "Bad Request", "status": 400,
     "o:errorDetails": [{"detail": "...", "o:errorCode": "USER_ERROR",
                         "o:errorPath": "item.items[0].item"}]}
"""

from __future__ import annotations

import msgspec

from domains.errors import DependencyRejected, DependencyUnavailable, FieldIssue, GatewayError
from systems.transport import UpstreamResponse

SYSTEM = "netsuite"

#: The duplicate guard on ``externalId``: another record of the family already holds it.
DUPLICATE_RECORD = "DUP_RCRD"

# Statuses that mean "the integration cannot work right now" rather than "this data is
# wrong": server faults, bad or expired credentials, a role without the permission, and
# the account's concurrency governance once Upstream's retries are spent.
_UNAVAILABLE_STATUSES = frozenset({401, 403, 429})


class _Detail(msgspec.Struct, frozen=True):
    detail: str = ""
    code: str = msgspec.field(default="", name="o:errorCode")
    path: str = msgspec.field(default="", name="o:errorPath")
    query_param: str = msgspec.field(default="", name="o:errorQueryParam")
    header: str = msgspec.field(default="", name="o:errorHeader")
    url: str = msgspec.field(default="", name="o:errorUrl")

    @property
    def where(self) -> str:
        return self.path or self.query_param or self.header or self.url


class _Problem(msgspec.Struct, frozen=True):
    title: str = ""
    status: int = 0
    details: list[_Detail] = msgspec.field(default_factory=list, name="o:errorDetails")


_problem = msgspec.json.Decoder(_Problem)


def vendor_code(error: GatewayError) -> str:
    """The NetSuite ``o:errorCode`` a translated error carries ('' if none)."""
    return error.vendor_code if isinstance(error, DependencyRejected) else ""


def translate(response: UpstreamResponse) -> GatewayError:
    try:
        problem = _problem.decode(response.content)
    except msgspec.DecodeError:
        problem = _Problem(
            status=response.status_code,
            details=[_Detail(detail=response.text[:300], code=f"HTTP_{response.status_code}")],
        )
    first = problem.details[0] if problem.details else _Detail(detail=problem.title)
    code = first.code or f"HTTP_{response.status_code}"
    if response.status_code >= 500 or response.status_code in _UNAVAILABLE_STATUSES:
        return DependencyUnavailable(
            f"NetSuite could not serve the request (HTTP {response.status_code} {code}: "
            f"{first.detail})"[:1000],
            system=SYSTEM,
        )
    issues = tuple(
        FieldIssue(field=d.where, message=d.detail, code=d.code or "invalid")
        for d in problem.details
        if d.detail
    )
    return DependencyRejected(
        f"NetSuite rejected the request: {first.detail}"[:1000],
        system=SYSTEM,
        vendor_code=code,
        vendor_message=first.detail,
        errors=issues,
    )
