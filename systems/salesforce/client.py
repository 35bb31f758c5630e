"""Salesforce REST: SOQL with paging, sObject reads and writes, composite, on one session."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import msgspec

from systems.salesforce.errors import SalesforceError, from_errors, translate
from systems.salesforce.session import SalesforceAuth, Session
from systems.transport import UpstreamResponse
from systems.upstream import Upstream

JSON = dict[str, Any]


class QueryResult(msgspec.Struct, frozen=True):
    totalSize: int
    done: bool
    records: list[JSON]
    nextRecordsUrl: str | None = None


class SubResult(msgspec.Struct, frozen=True):
    """One subrequest's outcome inside a ``/composite`` answer."""

    httpStatusCode: int
    referenceId: str
    body: Any = None

    def errors(self) -> list[SalesforceError]:
        try:
            return _sub_errors.decode(msgspec.json.encode(self.body))
        except msgspec.DecodeError:
            return [SalesforceError(str(self.body)[:500], f"HTTP_{self.httpStatusCode}")]


class CompositeResult(msgspec.Struct, frozen=True):
    compositeResponse: list[SubResult]


MAX_SUBREQUESTS = 25
_query = msgspec.json.Decoder(QueryResult, float_hook=str)
_record = msgspec.json.Decoder(JSON, float_hook=str)
_composite = msgspec.json.Decoder(CompositeResult, float_hook=str)
_sub_errors = msgspec.json.Decoder(list[SalesforceError])


def _halted(body: Any) -> bool:
    """A subrequest rolled back because another one failed (allOrNone)."""
    return (
        isinstance(body, list)
        and bool(body)
        and all(isinstance(e, dict) and e.get("errorCode") == "PROCESSING_HALTED" for e in body)
    )


def soql_literal(value: str) -> str:
    """Quote a string for SOQL; backslash and quote are the characters that escape."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def soql_like(value: str) -> str:
    """A LIKE pattern literal where the user's own % and _ match literally."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return escaped.replace("%", "\\%").replace("_", "\\_")


class SalesforceClient:
    def __init__(self, upstream: Upstream, auth: SalesforceAuth, api_version: str = "62.0"):
        self._up = upstream
        self.session = Session(upstream, auth)
        self._root = f"/services/data/v{api_version}"

    @property
    def root(self) -> str:
        """The versioned REST root, ``/services/data/vNN.0``."""
        return self._root

    async def _call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        retry_safe: bool,
        accept: frozenset[int] = frozenset(),
        **kwargs: Any,
    ) -> UpstreamResponse:
        token = await self.session.token()
        for attempt in (1, 2):
            response = await self._up.request(
                method,
                path,
                operation=operation,
                retry_safe=retry_safe,
                accept_statuses=accept | {401},
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                **kwargs,
            )
            if response.status_code != 401:
                return response
            if attempt == 2 or not self.session.renewable:
                break
            # INVALID_SESSION_ID: the session timed out or was revoked. Log in again,
            # once; a second refusal means the credentials themselves no longer work.
            token = await self.session.renew(stale=token)
        raise translate(response)

    async def query(self, soql: str, *, operation: str) -> QueryResult:
        response = await self._call(
            "GET",
            f"{self._root}/query",
            operation=operation,
            retry_safe=True,
            params={"q": soql},
        )
        return _query.decode(response.content)

    async def query_all(self, soql: str, *, operation: str) -> list[JSON]:
        result = await self.query(soql, operation=operation)
        records = list(result.records)
        while not result.done and result.nextRecordsUrl:
            response = await self._call(
                "GET", result.nextRecordsUrl, operation=operation, retry_safe=True
            )
            result = _query.decode(response.content)
            records.extend(result.records)
        return records

    async def get(self, sobject: str, record_id: str, fields: tuple[str, ...]) -> JSON | None:
        response = await self._call(
            "GET",
            f"{self._root}/sobjects/{sobject}/{quote(record_id, safe='')}",
            operation=f"{sobject}.get",
            retry_safe=True,
            accept=frozenset({400, 404}),
            params={"fields": ",".join(fields)},
        )
        if response.status_code in (400, 404):
            # 400 MALFORMED_ID and 404 NOT_FOUND both mean "no such record" to a caller.
            return None
        return _record.decode(response.content)

    async def upsert(self, sobject: str, field: str, value: str, body: JSON) -> str:
        """Create or update by external id: safe to retry, never a second record."""
        response = await self._call(
            "PATCH",
            f"{self._root}/sobjects/{sobject}/{field}/{quote(value, safe='')}",
            operation=f"{sobject}.upsert",
            retry_safe=True,
            json=body,
        )
        if response.status_code == 204:  # API versions before 46 answer updates with no body
            found = await self.query(
                f"SELECT Id FROM {sobject} WHERE {field} = {soql_literal(value)} LIMIT 1",
                operation=f"{sobject}.upsert",
            )
            return str(found.records[0]["Id"])
        return str(response.json()["id"])

    async def update(self, sobject: str, record_id: str, body: JSON) -> None:
        await self._call(
            "PATCH",
            f"{self._root}/sobjects/{sobject}/{quote(record_id, safe='')}",
            operation=f"{sobject}.update",
            retry_safe=True,
            json=body,
        )

    async def composite(self, subrequests: list[JSON], *, operation: str) -> list[JSON]:
        """Run ``subrequests`` as one all-or-none transaction (``/composite``, at most
        25); their bodies in order, or the first failure's error, nothing written."""
        if not 0 < len(subrequests) <= MAX_SUBREQUESTS:
            raise ValueError(f"a composite request takes 1 to {MAX_SUBREQUESTS} subrequests")
        response = await self._call(
            "POST",
            f"{self._root}/composite",
            operation=operation,
            retry_safe=all(sub["method"] in ("GET", "PATCH") for sub in subrequests),
            json={"allOrNone": True, "compositeRequest": subrequests},
        )
        results = _composite.decode(response.content).compositeResponse
        failed = [result for result in results if result.httpStatusCode >= 400]
        if failed:
            # The cause, not the subrequests rolled back because of it.
            cause = next((r for r in failed if not _halted(r.body)), failed[0])
            raise from_errors(cause.httpStatusCode, cause.errors())
        return [result.body for result in results]
