"""The OpenID provider's HTTP face: discovery and the authorization endpoint.

Browser pages, not part of the API contract (``include_in_schema=False``): the
discovery document describes them to OpenID Connect clients instead. The token
endpoint they lead to is ``POST /oauth/token`` (routes.py) with the
``authorization_code`` grant.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

from litestar import Request, Response, get, post
from litestar.enums import MediaType
from litestar.handlers import HTTPRouteHandler
from litestar.response import Redirect

from policies.asgi import Scope
from policies.auth.idp import (
    AUTHORIZE_URL,
    DISCOVERY_URL,
    AuthorizationRefused,
    AuthorizationRequest,
    OpenIdProvider,
    UnknownClient,
)
from policies.auth.signin_page import message_page, security_headers, sign_in_page
from policies.context import request_context
from policies.route import RoutePolicy

MAX_FORM_BYTES = 8192
BAD_CREDENTIALS = "The username or password is not right."  # the same for unknown names
_FIELDS = frozenset(AuthorizationRequest.__struct_fields__)


def _params(raw: bytes) -> dict[str, str] | None:
    """Query or form parameters; None when one is repeated (RFC 6749 section 3.1)."""
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=40)
    except (UnicodeDecodeError, ValueError):
        return None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            return None
        params[name] = value
    return params


def _html(body: str, status: int, headers: dict[str, str]) -> Response[str]:
    return Response(content=body, status_code=status, media_type=MediaType.HTML,
                    headers=headers)


def _refused(message: str, status: int = 400) -> Response[str]:
    return _html(message_page("Sign-in stopped", message), status, security_headers())


def _same_origin(request: Request[Any, Any, Any], issuer_url: str) -> bool:
    """A form post from this gateway's own page (no Origin: older browsers)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    allowed = {request.headers.get("host", "").lower(), urlsplit(issuer_url).netloc.lower()}
    return urlsplit(origin).netloc.lower() in allowed


def _trace_id(request: Request[Any, Any, Any]) -> str:
    scope: Scope = cast("Scope", request.scope)
    return request_context(scope).trace_id


def openid_routes(provider: OpenIdProvider) -> list[HTTPRouteHandler]:
    """Discovery and the authorization endpoint; mount them at the root."""

    def form(request: AuthorizationRequest, status: int = 200, error: str = "",
             username: str = "") -> Response[str]:
        party = provider.relying_parties[request.client_id]
        page = sign_in_page(action=AUTHORIZE_URL, fields=request.fields(),
                            client=party.name or party.client_id, error=error,
                            username=username)
        return _html(page, status, security_headers(request.redirect_uri))

    def checked(params: dict[str, str] | None) -> AuthorizationRequest | Response[Any]:
        if params is None:
            return _refused("The sign-in request repeats a parameter or is malformed.")
        try:
            return provider.authorization_request(params)
        except UnknownClient as unknown:
            return _refused(str(unknown))
        except AuthorizationRefused as refused:
            return Redirect(refused.location, status_code=303)

    @get(DISCOVERY_URL, include_in_schema=False, opt={"policy": RoutePolicy(public=True)})
    async def discovery() -> Response[dict[str, Any]]:
        return Response(content=provider.metadata(), media_type=MediaType.JSON,
                        headers={"cache-control": "public, max-age=300"})

    @get(AUTHORIZE_URL, include_in_schema=False)
    async def authorize(request: Request[Any, Any, Any]) -> Response[Any]:
        found = checked(_params(request.scope.get("query_string", b"")))
        if isinstance(found, Response):
            return found
        return form(found)

    # Public, and limited per client IP like the token endpoint (rate_limit.ip_plan):
    # password guessing costs quota.
    @post(AUTHORIZE_URL, include_in_schema=False, status_code=303,
          opt={"policy": RoutePolicy(public=True, scopes=(), cost=1)},
          request_max_body_size=MAX_FORM_BYTES)
    async def sign_in(request: Request[Any, Any, Any]) -> Response[Any]:
        if not _same_origin(request, provider.issuer_url):
            return _refused("The sign-in form was posted from another site.", 403)
        params = _params(await request.body())
        if params is None:
            return _refused("The sign-in form repeats a field or is malformed.")
        username, password = params.pop("username", ""), params.pop("password", "")
        found = checked({k: v for k, v in params.items() if k in _FIELDS})
        if isinstance(found, Response):
            return found
        user = await provider.sign_in(username, password, client_id=found.client_id,
                                      trace_id=_trace_id(request))
        if user is None:
            # No hint whether the name exists; 401 tells scripts the attempt failed.
            return form(found, 401, BAD_CREDENTIALS, username[:64])
        return Redirect(await provider.issue_code(found, user), status_code=303)

    return [discovery, authorize, sign_in]
