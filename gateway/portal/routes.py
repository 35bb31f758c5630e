"""The portal's pages under /portal, its static assets, the ``/`` and ``/problems/<kind>``
redirects, and the /schema viewer plugin.

Pages carry no route policy, so auth and rate limits pass them untouched; nothing here is
part of the API contract (``include_in_schema=False``).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get
from litestar.datastructures import CacheControlHeader
from litestar.enums import MediaType
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.params import FromPath
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from gateway.portal.catalog import plan_rows
from gateway.portal.changelog import build_changelog, default_diff, load_releases
from gateway.portal.pages import (
    api_page,
    catalog_page,
    home_page,
    not_found_page,
    reference_index,
    reference_page,
)
from gateway.portal.pages_docs import (
    changelog_page,
    deprecations_page,
    problem_page,
    problems_index,
)
from gateway.portal.problem_types import BY_KIND
from gateway.portal.registration import registration_routes
from gateway.portal.site import STATIC_DIR, Portal, html

__all__ = ["Portal", "PortalSchemaViewer", "portal_routes"]


def portal_routes(portal: Portal) -> list[Any]:
    """Every portal route handler and the static files router."""
    static = create_static_files_router(
        path="/portal/static",
        directories=[STATIC_DIR],
        include_in_schema=False,
        cache_control=CacheControlHeader(public=True, max_age=3600),
        name="portal-static",
    )
    handlers: list[Any] = [static, *_page_routes(portal), *registration_routes(portal)]
    return handlers


def _page_routes(portal: Portal) -> list[HTTPRouteHandler]:
    @get("/", include_in_schema=False)
    async def root() -> Redirect:
        return Redirect("/portal", status_code=302)

    @get("/portal", include_in_schema=False)
    async def home() -> Response[str]:
        return html(home_page(portal.catalog, portal.documents, portal.self_service))

    @get("/portal/catalog", include_in_schema=False)
    async def catalog() -> Response[str]:
        return html(catalog_page(portal.catalog, plan_rows(portal.settings)))

    @get("/portal/apis/{version:str}/{api:str}", include_in_schema=False)
    async def api_detail(request: Request[Any, Any, Any], version: FromPath[str],
                         api: FromPath[str]) -> Response[str]:
        entry = next((e for e in portal.catalog if e.version == version and e.api == api), None)
        document = portal.documents.get(version) or portal.newest_ga()
        if entry is None or document is None:
            return html(not_found_page(f"There is no API {api} in {version}."), 404)
        return html(api_page(entry, document, portal.settings, portal.base_url(request)))

    @get("/portal/reference", include_in_schema=False)
    async def references() -> Response[str]:
        return html(reference_index(portal.catalog, portal.documents))

    @get("/portal/reference/{version:str}", include_in_schema=False)
    async def reference(version: FromPath[str]) -> Response[str]:
        if version not in portal.documents:
            return html(not_found_page(f"There is no API version {version}."), 404)
        return html(reference_page(f"{version} reference", f"/portal/openapi/{version}.json",
                                   heading=f"API reference {version}"))

    @get("/portal/openapi/{name:str}", include_in_schema=False)
    async def document(request: Request[Any, Any, Any], name: FromPath[str]
                       ) -> Response[bytes]:
        found = portal.documents.get(name.removesuffix(".json"))
        if found is None or not name.endswith(".json"):
            return Response(content=b'{"error": "no such document"}', status_code=404,
                            media_type=MediaType.JSON)
        # Try-it calls go to this gateway, wherever it listens.
        served = {**found.raw, "servers": [{"url": portal.base_url(request),
                                             "description": "This gateway"}]}
        return Response(content=json.dumps(served).encode(), media_type=MediaType.JSON,
                        headers={"cache-control": "no-cache"})

    @get("/portal/problems", include_in_schema=False)
    async def problems() -> Response[str]:
        return html(problems_index())

    @get("/portal/problems/{kind:str}", include_in_schema=False)
    async def problem(kind: FromPath[str]) -> Response[str]:
        found = BY_KIND.get(kind)
        if found is None:
            return html(not_found_page(f"There is no problem type {kind}."), 404)
        return html(problem_page(found))

    @get("/problems/{kind:str}", include_in_schema=False)
    async def problem_alias(kind: FromPath[str]) -> Redirect:
        # Routing the type URIs' host to the gateway makes them resolve to the pages.
        return Redirect(f"/portal/problems/{quote(kind, safe='')}", status_code=301)

    @get("/portal/changelog", include_in_schema=False)
    async def changelog() -> Response[str]:
        current = {version: doc.raw for version, doc in portal.documents.items()}
        releases = await asyncio.to_thread(load_releases)
        entries = await asyncio.to_thread(build_changelog, current, releases, default_diff())
        return html(changelog_page(entries, releases, portal.documents))

    @get("/portal/deprecations", include_in_schema=False)
    async def deprecations() -> Response[str]:
        return html(deprecations_page(list(portal.settings.versioning.deprecations),
                                      portal.documents))

    return [root, home, catalog, api_detail, references, reference, document, problems,
            problem, problem_alias, changelog, deprecations]


class PortalSchemaViewer(OpenAPIRenderPlugin):
    """``/schema``: the running document in the portal's offline Swagger UI."""

    def __init__(self) -> None:
        super().__init__(path="/", favicon="", style="")

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        page = reference_page("Running API", self.get_openapi_json_route(request),
                              heading="API reference (running gateway)")
        return page.encode()
