"""SAP S/4HANA OData V2: Basic auth, CSRF token + session cookie, `{"d": ...}` payloads."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote, urlsplit

import msgspec

from domains.errors import DependencyUnavailable
from systems.sap_s4hana.errors import SYSTEM, translate
from systems.transport import UpstreamResponse
from systems.upstream import Upstream

JSON = dict[str, Any]
SERVICE_ROOT = "/sap/opu/odata/sap"
#: The most pages one query follows through ``__next`` before it is called broken.
MAX_PAGES = 50


class SapAuth(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    user: str
    password: str


class _Single(msgspec.Struct, frozen=True):
    d: JSON


class _Collection(msgspec.Struct, frozen=True):
    results: list[JSON]
    next_link: str | None = msgspec.field(default=None, name="__next")


class _CollectionEnvelope(msgspec.Struct, frozen=True):
    d: _Collection


_single = msgspec.json.Decoder(_Single)
_collection = msgspec.json.Decoder(_CollectionEnvelope)


class Versioned(msgspec.Struct, frozen=True):
    """An entity as read, with the ETag a change to it must send as ``If-Match``."""

    entity: JSON
    etag: str | None


class StaleEntity(Exception):
    """The entity changed since it was read (HTTP 412): read it again before changing it."""


def odata_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def key_segment(value: str) -> str:
    return "(" + quote(odata_literal(value), safe="'") + ")"


def composite_key(**parts: str) -> str:
    """A key predicate of several string keys: ``(SalesOrder='1',SalesOrderItem='10')``."""
    return (
        "("
        + ",".join(f"{k}={quote(odata_literal(v), safe=chr(39))}" for k, v in parts.items())
        + ")"
    )


class SapClient:
    def __init__(self, upstream: Upstream, auth: SapAuth) -> None:
        self._up = upstream
        token = base64.b64encode(f"{auth.user}:{auth.password}".encode()).decode()
        self._auth = f"Basic {token}"
        # CSRF tokens are bound to a session cookie; keep one pair per service.
        self._sessions: dict[str, tuple[str, str]] = {}

    def _headers(self, write_service: str | None = None) -> dict[str, str]:
        headers = {"Authorization": self._auth, "Accept": "application/json"}
        if write_service is not None:
            token, cookies = self._sessions.get(write_service, ("", ""))
            headers["X-CSRF-Token"] = token
            headers["Content-Type"] = "application/json"
            if cookies:
                headers["Cookie"] = cookies
        return headers

    async def _fetch_csrf(self, service: str) -> None:
        response = await self._up.request(
            "GET",
            f"{SERVICE_ROOT}/{service}/",
            operation=f"{service}.csrf",
            retry_safe=True,
            headers={**self._headers(), "X-CSRF-Token": "Fetch"},
        )
        token = response.headers.get("x-csrf-token", "")
        cookies = "; ".join(f"{name}={value}" for name, value in response.cookies.items())
        self._sessions[service] = (token, cookies)

    async def get(
        self, service: str, path: str, params: dict[str, str] | None = None
    ) -> JSON | None:
        versioned = await self.read(service, path, params)
        return versioned.entity if versioned is not None else None

    async def read(
        self, service: str, path: str, params: dict[str, str] | None = None
    ) -> Versioned | None:
        """One entity and its ETag (the ``ETag`` header, else ``__metadata.etag``)."""
        response = await self._up.request(
            "GET",
            f"{SERVICE_ROOT}/{service}/{path}",
            operation=f"{service}.read",
            retry_safe=True,
            accept_statuses=frozenset({404}),
            headers=self._headers(),
            params={**(params or {}), "$format": "json"},
        )
        if response.status_code == 404:
            return None
        entity = _single.decode(response.content).d
        metadata = entity.get("__metadata")
        etag = response.headers.get("etag") or (
            metadata.get("etag") if isinstance(metadata, dict) else None
        )
        return Versioned(entity=entity, etag=str(etag) if etag else None)

    async def query(self, service: str, entity_set: str, params: dict[str, str]) -> list[JSON]:
        """The entities of one query, up to its ``$top``.

        A server may page below ``$top`` (SAP Gateway's server-side paging) and answers
        ``__next``; that link is followed until ``$top`` rows are in or the server has no
        more, so a short page never passes for the end of the data. At most ``MAX_PAGES``
        pages are read for one query."""
        wanted = int(params["$top"]) if "$top" in params else None
        response = await self._up.request(
            "GET",
            f"{SERVICE_ROOT}/{service}/{entity_set}",
            operation=f"{entity_set}.query",
            retry_safe=True,
            headers=self._headers(),
            params={**params, "$format": "json"},
        )
        page = _collection.decode(response.content).d
        results = list(page.results)
        pages = 1
        while page.next_link and (wanted is None or len(results) < wanted):
            if pages >= MAX_PAGES:
                raise DependencyUnavailable(
                    f"SAP S/4HANA kept paging {entity_set} past {MAX_PAGES} pages "
                    f"({len(results)} rows); narrow the query.",
                    system=SYSTEM,
                )
            response = await self._up.request(
                "GET",
                self._next_path(service, page.next_link),
                operation=f"{entity_set}.query",
                retry_safe=True,
                headers=self._headers(),
            )
            page = _collection.decode(response.content).d
            results.extend(page.results)
            pages += 1
        return results[:wanted] if wanted is not None else results

    @staticmethod
    def _next_path(service: str, link: str) -> str:
        """``__next`` as a path under the service: its host is ignored (Gateway names
        the host it sees, which behind a proxy is not the one we call) and a link that
        leaves the service is refused."""
        parts = urlsplit(link)
        root = f"{SERVICE_ROOT}/{service}/"
        path = parts.path if parts.path.startswith("/") else root + parts.path
        if not path.startswith(root):
            raise DependencyUnavailable(
                f"SAP S/4HANA answered a __next link outside {root}: {link[:200]}",
                system=SYSTEM,
            )
        query = (
            parts.query
            if "$format=" in parts.query
            else "&".join(q for q in (parts.query, "$format=json") if q)
        )
        return f"{path}?{query}"

    async def create(self, service: str, entity_set: str, body: JSON) -> JSON:
        """POST is not idempotent: callers look the record up before creating it."""
        response = await self._write(
            "POST", service, entity_set, operation=f"{entity_set}.create", retry_safe=False,
            body=body,
        )  # fmt: skip
        return _single.decode(response.content).d

    async def update(self, service: str, path: str, body: JSON, etag: str | None) -> None:
        """PATCH the fields in ``body``; ``etag`` (from :meth:`read`) goes as ``If-Match``.

        Raises :class:`StaleEntity` when SAP answers 412: the entity changed since it was
        read. Safe to repeat: a repeat of a change that went through fails the same
        precondition, it never applies twice."""
        headers = {"If-Match": etag} if etag else {}
        response = await self._write(
            "PATCH", service, path, operation=f"{service}.update", retry_safe=True,
            body=body, headers=headers, accept=frozenset({412}),
        )  # fmt: skip
        if response.status_code == 412:
            raise StaleEntity(path)

    async def _write(
        self,
        method: str,
        service: str,
        path: str,
        *,
        operation: str,
        retry_safe: bool,
        body: JSON,
        headers: dict[str, str] | None = None,
        accept: frozenset[int] = frozenset(),
    ) -> UpstreamResponse:
        """A change with the service's CSRF token and session; a token SAP no longer
        accepts (403 ``X-CSRF-Token: Required``) is fetched again once."""
        if service not in self._sessions:
            await self._fetch_csrf(service)
        for attempt in range(2):
            response = await self._up.request(
                method,
                f"{SERVICE_ROOT}/{service}/{path}",
                operation=operation,
                retry_safe=retry_safe,
                accept_statuses=accept | {403},
                headers={**self._headers(service), **(headers or {})},
                json=body,
            )
            if response.status_code != 403:
                return response
            if response.headers.get("x-csrf-token", "").lower() != "required" or attempt:
                break
            await self._fetch_csrf(service)  # token or session expired
        raise translate(response)
