"""NetSuite SuiteTalk REST web services: OAuth 2.0 bearer, record API and SuiteQL.

Wire facts this client encodes:

* every call carries an OAuth 2.0 bearer token (:mod:`systems.netsuite.auth`); a 401 means
  NetSuite did not process the call (the token expired or was revoked), so the call is sent
  once more with a renewed token, whatever its method;
* writes send ``X-NetSuite-PropertyNameValidation: Error``: a field the account's record
  does not have is refused instead of dropped (NetSuite's default only warns);
* records live under ``/services/rest/record/v1/{type}``; ``{type}/{id}`` addresses one by
  internal id and ``{type}/eid:{externalId}`` by external id;
* a create (``POST``), update (``PATCH``) or upsert (``PUT`` on ``eid:``) answers
  ``204 No Content`` with the record's URL in ``Location``: the new internal id is read
  from there and the record is fetched separately when needed;
* SuiteQL is ``POST /services/rest/query/v1/suiteql`` with ``{"q": ...}`` and the header
  ``Prefer: transient``; rows come back string-valued with lower-case column names, paged by
  ``limit`` (at most 1000) and ``offset`` (a multiple of ``limit``);
* numbers are JSON numbers both ways: bodies are encoded from ``Decimal`` and responses are
  decoded with ``Decimal`` for every non-integer number, so money never passes a float.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote

import msgspec

from domains.errors import DependencyUnavailable
from systems.netsuite.auth import FixedToken, TokenSource
from systems.netsuite.errors import SYSTEM, translate
from systems.outbound import Params
from systems.transport import UpstreamResponse
from systems.upstream import Upstream

JSON = dict[str, Any]
Row = dict[str, str]

RECORD_ROOT = "/services/rest/record/v1"
SUITEQL_PATH = "/services/rest/query/v1/suiteql"
#: NetSuite's largest page for record collections and SuiteQL.
MAX_PAGE = 1000


class NetSuiteAuth(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An OAuth 2.0 access token for the integration record (sent as a bearer token)."""

    access_token: str

    def __post_init__(self) -> None:
        if not self.access_token.strip():
            raise ValueError("netsuite auth needs a non-empty access_token")


class SuiteQLPage(msgspec.Struct, frozen=True, kw_only=True):
    rows: list[Row]
    has_more: bool
    total: int | None = None


class _SuiteQLEnvelope(msgspec.Struct, frozen=True):
    items: list[JSON] = []
    hasMore: bool = False
    totalResults: int | None = None


_record = msgspec.json.Decoder(JSON, float_hook=Decimal)
_suiteql = msgspec.json.Decoder(_SuiteQLEnvelope, float_hook=Decimal)
_encoder = msgspec.json.Encoder(decimal_format="number")


def eid(external_id: str) -> str:
    """The record key addressing a record by its external id."""
    return f"eid:{external_id}"


def suiteql_literal(value: str) -> str:
    """A SuiteQL (Oracle SQL) string literal: single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def record_path(record_type: str, key: str | None = None) -> str:
    path = f"{RECORD_ROOT}/{quote(record_type, safe='')}"
    if key is not None:
        path += "/" + quote(key, safe=":")
    return path


def _cell(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bool):
        return "T" if value else "F"
    return str(value)


class NetSuiteClient:
    def __init__(self, upstream: Upstream, auth: NetSuiteAuth | TokenSource) -> None:
        self._up = upstream
        self._tokens: TokenSource = (
            FixedToken(auth.access_token) if isinstance(auth, NetSuiteAuth) else auth
        )

    async def _call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        retry_safe: bool,
        accept: frozenset[int] = frozenset(),
        write: bool = False,
        headers: dict[str, str] | None = None,
        params: Params | None = None,
        content: bytes | None = None,
    ) -> UpstreamResponse:
        """One call with a bearer token; after a 401 once more with a renewed token."""
        token = await self._tokens.token()
        for attempt in range(2):
            sent = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            if write:
                sent["Content-Type"] = "application/json"
                sent["X-NetSuite-PropertyNameValidation"] = "Error"
            response = await self._up.request(
                method,
                path,
                operation=operation,
                retry_safe=retry_safe,
                accept_statuses=accept | {401},
                headers={**sent, **(headers or {})},
                params=params,
                content=content,
            )
            if response.status_code != 401:
                return response
            renewed = await self._tokens.refresh(token) if not attempt else None
            if renewed is None:
                break
            token = renewed
        raise translate(response)

    # -- record API --------------------------------------------------------
    async def get(self, record_type: str, key: str, *, expand: bool = False) -> JSON | None:
        """One record by internal id or ``eid:``; None when NetSuite has no such record."""
        response = await self._call(
            "GET",
            record_path(record_type, key),
            operation=f"{record_type}.read",
            retry_safe=True,
            accept=frozenset({404}),
            params={"expandSubResources": "true"} if expand else None,
        )
        if response.status_code == 404:
            return None
        return _record.decode(response.content)

    async def create(self, record_type: str, body: JSON) -> str:
        """POST a new record; returns its internal id (from ``Location``).

        A body carrying ``externalId`` is safe to resend: NetSuite answers a second create
        with ``DUP_RCRD`` instead of creating a twin, and callers resolve that by ``eid:``.
        Without an external id a create is never retried after it may have been received.
        """
        response = await self._call(
            "POST",
            record_path(record_type),
            operation=f"{record_type}.create",
            retry_safe=bool(body.get("externalId")),
            write=True,
            content=_encoder.encode(body),
        )
        return self._location_id(response, record_type)

    async def update(
        self, record_type: str, key: str, body: JSON, *, replace: tuple[str, ...] = ()
    ) -> str:
        """PATCH a record; ``replace`` names sublists whose unnamed lines are dropped."""
        response = await self._call(
            "PATCH",
            record_path(record_type, key),
            operation=f"{record_type}.update",
            retry_safe=True,
            write=True,
            params={"replace": ",".join(replace)} if replace else None,
            content=_encoder.encode(body),
        )
        return self._location_id(response, record_type)

    async def upsert(
        self, record_type: str, external_id: str, body: JSON, *, replace: tuple[str, ...] = ()
    ) -> str:
        """PUT on ``eid:``: create, or update with PATCH semantics; returns the internal id.

        Sublist lines without a key are appended on update, so an upsert whose body has a
        sublist is only repeatable with that sublist named in ``replace``.
        """
        response = await self._call(
            "PUT",
            record_path(record_type, eid(external_id)),
            operation=f"{record_type}.upsert",
            retry_safe=True,
            write=True,
            params={"replace": ",".join(replace)} if replace else None,
            content=_encoder.encode(body),
        )
        return self._location_id(response, record_type)

    @staticmethod
    def _location_id(response: UpstreamResponse, record_type: str) -> str:
        location = str(response.headers.get("location", ""))
        record_id = location.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        if not record_id.isdigit():
            raise DependencyUnavailable(
                f"NetSuite answered the {record_type} write with HTTP {response.status_code} "
                f"but no record Location ({location[:200]!r}).",
                system=SYSTEM,
            )
        return record_id

    # -- SuiteQL -----------------------------------------------------------
    async def suiteql(self, query: str, *, limit: int = MAX_PAGE, offset: int = 0) -> SuiteQLPage:
        """One page of a SuiteQL query (``offset`` must be a multiple of ``limit``)."""
        if not 1 <= limit <= MAX_PAGE or offset < 0 or offset % limit:
            raise ValueError("SuiteQL pages need 1 <= limit <= 1000 and offset = k * limit")
        response = await self._call(
            "POST",
            SUITEQL_PATH,
            operation="suiteql",
            retry_safe=True,  # a read, even though it is a POST
            headers={"Content-Type": "application/json", "Prefer": "transient"},
            params={"limit": str(limit), "offset": str(offset)},
            content=_encoder.encode({"q": query}),
        )
        envelope = _suiteql.decode(response.content)
        rows = [
            {key.lower(): _cell(value) for key, value in item.items() if key != "links"}
            for item in envelope.items
        ]
        return SuiteQLPage(rows=rows, has_more=envelope.hasMore, total=envelope.totalResults)

    async def suiteql_window(self, query: str, offset: int, count: int) -> tuple[list[Row], bool]:
        """Rows ``offset .. offset+count-1`` of a query, and whether any row follows them.

        NetSuite only serves pages whose offset is a multiple of the page size, so the window
        is read as aligned pages of ``count`` rows (at most two) and trimmed.
        """
        size = min(max(count, 1), MAX_PAGE)
        start = offset - offset % size
        skip = offset - start
        rows: list[Row] = []
        more = True
        while more and len(rows) < skip + count:
            page = await self.suiteql(query, limit=size, offset=start + len(rows))
            rows.extend(page.rows)
            more = page.has_more and len(page.rows) == size
        window = rows[skip : skip + count]
        return window, more or len(rows) > skip + count

    async def suiteql_all(self, query: str, *, max_rows: int = 10 * MAX_PAGE) -> list[Row]:
        """Every row of a query, page by page, up to ``max_rows``."""
        rows: list[Row] = []
        while len(rows) < max_rows:
            page = await self.suiteql(query, limit=MAX_PAGE, offset=len(rows))
            rows.extend(page.rows)
            if not page.has_more or len(page.rows) < MAX_PAGE:
                break
        return rows[:max_rows]
