"""The portal's HTTP face: pages under /portal, its static assets, ``/`` and the
``/problems/<kind>`` redirects, and the /schema viewer plugin.

Pages carry no route policy, so auth and rate limits pass them untouched; the
two form posts (register, revoke) are public routes limited per client IP.
Nothing here is part of the API contract (``include_in_schema=False``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from litestar import Request, Response, get, post
from litestar.datastructures import CacheControlHeader, Cookie
from litestar.enums import MediaType
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.params import FromPath
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from gateway.portal import getting_started as gs
from gateway.portal.catalog import CatalogEntry, build_catalog, plan_rows
from gateway.portal.changelog import build_changelog, default_diff, load_releases
from gateway.portal.documents import ApiDocument, load_documents, versioned
from gateway.portal.html import esc, layout
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
from gateway.portal.sessions import (
    COOKIE,
    COOKIE_MAX_AGE,
    FormTokens,
    new_developer_id,
    valid_developer_id,
)
from gateway.settings import Settings
from policies.auth import (
    ClientRegistry,
    ClientRegistryUnavailable,
    Issuer,
    RegisteredClient,
    RegistrationRefused,
    hash_secret,
)
from policies.route import RoutePolicy

STATIC_DIR = Path(__file__).resolve().parent / "static"
# The pages load nothing from elsewhere; Swagger UI needs inline styles and data: images.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_PAGE_HEADERS = {
    "content-security-policy": _CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-cache",
}
_NO_STORE = {**_PAGE_HEADERS, "cache-control": "no-store"}


def _form_policy(cost: int) -> dict[str, Any]:
    """Public (no token), limited per client IP, costing ``cost`` units of the IP plan."""
    return {"policy": RoutePolicy(public=True, scopes=(), cost=cost)}


class Portal:
    """What the pages are built from; documents are read on first use."""

    def __init__(self, settings: Settings, registry: ClientRegistry,
                 issuer: Issuer | None) -> None:
        self.settings = settings
        self.registry = registry
        self.self_service = settings.portal.self_service_enabled(settings.auth)
        self.tokens = FormTokens(issuer)

    @cached_property
    def documents(self) -> dict[str, ApiDocument]:
        return load_documents()

    @cached_property
    def catalog(self) -> list[CatalogEntry]:
        return build_catalog(self.documents, self.settings)

    def base_url(self, request: Request[Any, Any, Any]) -> str:
        configured = self.settings.server.public_url
        return (configured or str(request.base_url)).rstrip("/")

    def newest_ga(self) -> ApiDocument | None:
        portal = self.settings.portal
        ga = [d for v, d in self.documents.items() if portal.lifecycle_for(v) == "ga"]
        candidates = ga or list(self.documents.values())
        return candidates[0] if candidates else None


def html(content: str, status: int = 200, headers: dict[str, str] | None = None,
         cookies: list[Cookie] | None = None) -> Response[str]:
    return Response(content=content, status_code=status, media_type=MediaType.HTML,
                    headers=headers or _PAGE_HEADERS, cookies=cookies)


def portal_routes(portal: Portal) -> list[Any]:
    """Every portal route handler and the static files router."""
    static = create_static_files_router(
        path="/portal/static",
        directories=[STATIC_DIR],
        include_in_schema=False,
        cache_control=CacheControlHeader(public=True, max_age=3600),
        name="portal-static",
    )
    handlers: list[Any] = [static, *_page_routes(portal), *_registration_routes(portal)]
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


def _registration_routes(portal: Portal) -> list[HTTPRouteHandler]:
    config = portal.settings.portal

    def developer_of(request: Request[Any, Any, Any]) -> tuple[str, list[Cookie]]:
        known = valid_developer_id(request.cookies.get(COOKIE))
        if known is not None:
            return known, []
        fresh = new_developer_id()
        cookie = Cookie(key=COOKIE, value=fresh, path="/portal", max_age=COOKIE_MAX_AGE,
                        httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
        return fresh, [cookie]

    async def view(request: Request[Any, Any, Any], developer: str,
                   **extra: Any) -> gs.GettingStarted:
        applications: tuple[RegisteredClient, ...] = ()
        if portal.self_service:
            try:
                applications = tuple(await portal.registry.list_by_owner(developer))
            except ClientRegistryUnavailable:
                extra.setdefault("message", "The client registry is unavailable right now.")
                extra.setdefault("message_tone", "error")
        newest = portal.newest_ga()
        return gs.GettingStarted(
            self_service=portal.self_service,
            base_url=portal.base_url(request),
            csrf=await portal.tokens.issue(developer),
            allowed_scopes=config.registration_scopes,
            first_calls=gs.first_call_candidates(versioned(newest) if newest else []),
            applications=applications,
            credentials_help=config.credentials_help,
            credentials_url=config.credentials_url,
            **extra,
        )

    async def verified_form(request: Request[Any, Any, Any]
                            ) -> tuple[str, dict[str, list[str]]] | Response[str]:
        """The developer and the form, or the page that refuses the post."""
        if not portal.self_service:
            return html(not_found_page("Self-service registration is off on this gateway."),
                        404)
        if not same_site(request, portal.settings.server.public_url):
            return html(_refused("The form was posted from another site."), 403)
        developer = valid_developer_id(request.cookies.get(COOKIE))
        body = await request.body()
        if developer is None or len(body) > gs.MAX_FORM_BYTES:
            return html(_refused("Your portal session is missing; reload the page."), 403)
        try:
            form = parse_qs(body.decode("utf-8"), max_num_fields=100, strict_parsing=False)
        except (UnicodeDecodeError, ValueError):
            return html(_refused("The form is malformed."), 400)
        tokens = form.get("csrf_token", [])
        if len(tokens) != 1 or not await portal.tokens.check(developer, tokens[0]):
            return html(_refused("The form expired or did not come from this portal; "
                                 "reload the page."), 403)
        return developer, form

    @get("/portal/getting-started", include_in_schema=False)
    async def getting_started(request: Request[Any, Any, Any]) -> Response[str]:
        developer, cookies = developer_of(request)
        revoked = request.query_params.get("revoked")
        extra: dict[str, Any] = {}
        if revoked and portal.self_service and not cookies:
            # Only this developer's own revocation is confirmed (no text from the URL).
            with contextlib.suppress(ClientRegistryUnavailable):
                record = await portal.registry.get(revoked[:200])
                if record is not None and record.owner == developer and not record.active:
                    extra = {"message": f"Application {record.client_id} was revoked.",
                             "message_tone": "info"}
        return html(gs.page(await view(request, developer, **extra)), cookies=cookies,
                    headers=_NO_STORE)

    @post("/portal/apps", include_in_schema=False, opt=_form_policy(config.registration_cost),
          request_max_body_size=gs.MAX_FORM_BYTES, status_code=201)
    async def register(request: Request[Any, Any, Any]) -> Response[str]:
        checked = await verified_form(request)
        if isinstance(checked, Response):
            return checked
        developer, form = checked
        registration, errors = gs.read_registration(form, config.registration_scopes)
        if registration is None:
            names = form.get("name", [""])
            page = await view(request, developer, errors=errors, form_name=names[0][:80],
                              form_scopes=tuple(form.get("scope", []))[:50])
            return html(gs.page(page), 422, headers=_NO_STORE)
        secret = secrets.token_urlsafe(32)
        client = RegisteredClient(
            client_id=f"app_{secrets.token_hex(10)}",
            secret_hash=await asyncio.to_thread(hash_secret, secret),
            name=registration.name,
            owner=developer,
            scopes=registration.scopes,
            tenant=config.registration_tenant,
            plan=config.registration_plan,
        )
        try:
            await portal.registry.register(client, max_per_owner=config.max_apps_per_developer)
        except RegistrationRefused as refused:
            page = await view(request, developer, message=str(refused), message_tone="error")
            return html(gs.page(page), 409, headers=_NO_STORE)
        except ClientRegistryUnavailable:
            page = await view(request, developer, message_tone="error",
                              message="The client registry is unavailable; try again shortly.")
            return html(gs.page(page), 503, headers={**_NO_STORE, "retry-after": "5"})
        page = await view(request, developer, credentials=gs.NewCredentials(client, secret),
                          message=f"Registered {client.name}.", message_tone="info")
        return html(gs.page(page), 201, headers=_NO_STORE)

    @post("/portal/apps/{client_id:str}/revoke", include_in_schema=False, opt=_form_policy(1),
          request_max_body_size=gs.MAX_FORM_BYTES, status_code=303)
    async def revoke(request: Request[Any, Any, Any], client_id: FromPath[str]
                     ) -> Response[Any]:
        checked = await verified_form(request)
        if isinstance(checked, Response):
            return checked
        developer, _ = checked
        try:
            revoked = await portal.registry.revoke(client_id, developer)
        except ClientRegistryUnavailable:
            return html(_refused("The client registry is unavailable; try again shortly."),
                        503)
        if not revoked:
            return html(not_found_page("You have no active application with that id."), 404)
        return Redirect(f"/portal/getting-started?revoked={quote(client_id)}#apps",
                        status_code=303)

    return [getting_started, register, revoke]


def same_site(request: Request[Any, Any, Any], public_url: str | None) -> bool:
    """A post without Origin (older clients) or from the gateway's own host or public URL.
    Hosts only: behind a TLS-terminating proxy the scheme the gateway sees is not the
    page's."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    expected = {request.headers.get("host", "").lower()}
    if public_url:
        expected.add(urlsplit(public_url).netloc.lower())
    return urlsplit(origin).netloc.lower() in expected


def _refused(reason: str) -> str:
    return layout("Request refused", f"<h1>Request refused</h1><p>{esc(reason)}</p>"
                  '<p><a href="/portal/getting-started">Back to getting started</a></p>',
                  current="getting-started")


class PortalSchemaViewer(OpenAPIRenderPlugin):
    """``/schema``: the running document in the portal's offline Swagger UI."""

    def __init__(self) -> None:
        super().__init__(path="/", favicon="", style="")

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        page = reference_page("Running API", self.get_openapi_json_route(request),
                              heading="API reference (running gateway)")
        return page.encode()
