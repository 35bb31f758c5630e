"""Getting started's routes: the page, registering an application, revoking one.

The form posts are public routes limited per client IP (``rate_limit.ip_plan``), need
the developer's cookie and its signed form token, and exist only in sandbox mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import Redirect

from gateway.portal import getting_started as gs
from gateway.portal.documents import versioned
from gateway.portal.html import esc, layout
from gateway.portal.pages import not_found_page
from gateway.portal.sessions import COOKIE, COOKIE_MAX_AGE, new_developer_id, valid_developer_id
from gateway.portal.site import NO_STORE, Portal, html
from policies.auth import (
    ClientRegistryUnavailable,
    RegisteredClient,
    RegistrationRefused,
    hash_secret,
)
from policies.route import RoutePolicy


def _form_policy(cost: int) -> dict[str, Any]:
    """Public (no token), limited per client IP, costing ``cost`` units of the IP plan."""
    return {"policy": RoutePolicy(public=True, scopes=(), cost=cost)}


def registration_routes(portal: Portal) -> list[HTTPRouteHandler]:
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
                    headers=NO_STORE)

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
            return html(gs.page(page), 422, headers=NO_STORE)
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
            return html(gs.page(page), 409, headers=NO_STORE)
        except ClientRegistryUnavailable:
            page = await view(request, developer, message_tone="error",
                              message="The client registry is unavailable; try again shortly.")
            return html(gs.page(page), 503, headers={**NO_STORE, "retry-after": "5"})
        page = await view(request, developer, credentials=gs.NewCredentials(client, secret),
                          message=f"Registered {client.name}.", message_tone="info")
        return html(gs.page(page), 201, headers=NO_STORE)

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
