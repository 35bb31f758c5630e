"""SAP S/4HANA OData V2: Basic auth, CSRF token + session cookie, `{"d": ...}` payloads."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

import msgspec

from systems.sap_s4hana.errors import translate
from systems.upstream import Upstream

JSON = dict[str, Any]
SERVICE_ROOT = "/sap/opu/odata/sap"


class SapAuth(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    user: str
    password: str


class _Single(msgspec.Struct, frozen=True):
    d: JSON


class _Collection(msgspec.Struct, frozen=True):
    results: list[JSON]
    __next: str | None = msgspec.field(default=None, name="__next")


class _CollectionEnvelope(msgspec.Struct, frozen=True):
    d: _Collection


_single = msgspec.json.Decoder(_Single)
_collection = msgspec.json.Decoder(_CollectionEnvelope)


def odata_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def key_segment(value: str) -> str:
    return "(" + quote(odata_literal(value), safe="'") + ")"


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
        return _single.decode(response.content).d

    async def query(self, service: str, entity_set: str, params: dict[str, str]) -> list[JSON]:
        response = await self._up.request(
            "GET",
            f"{SERVICE_ROOT}/{service}/{entity_set}",
            operation=f"{entity_set}.query",
            retry_safe=True,
            headers=self._headers(),
            params={**params, "$format": "json"},
        )
        return _collection.decode(response.content).d.results

    async def create(self, service: str, entity_set: str, body: JSON) -> JSON:
        """POST is not idempotent: callers look the record up before creating it."""
        if service not in self._sessions:
            await self._fetch_csrf(service)
        for attempt in range(2):
            response = await self._up.request(
                "POST",
                f"{SERVICE_ROOT}/{service}/{entity_set}",
                operation=f"{entity_set}.create",
                retry_safe=False,
                accept_statuses=frozenset({403}),
                headers=self._headers(service),
                json=body,
            )
            if response.status_code != 403:
                return _single.decode(response.content).d
            if response.headers.get("x-csrf-token", "").lower() != "required" or attempt:
                break
            await self._fetch_csrf(service)  # token or session expired
        raise translate(response)
