"""The built-in issuer's HTTP face: ``POST /oauth/token`` and ``GET /.well-known/jwks.json``.

The token endpoint speaks RFC 6749 (form in, ``{"error": ...}`` JSON out), not the
gateway's problem+json, because OAuth client libraries parse exactly that.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import ResponseHeader
from litestar.exceptions import ServiceUnavailableException
from litestar.handlers import HTTPRouteHandler

from policies.auth.client_secrets import SecretHash, parse_secret_hash, verify_secret
from policies.auth.config import AuthConfig, IssuerClient
from policies.auth.idp import OpenIdProvider, TokenRequestRejected
from policies.auth.issuer import Issuer
from policies.auth.openapi import (
    CLIENT_BASIC_SCHEME,
    FORM_MEDIA_TYPE,
    JWKS_URL,
    TOKEN_ERROR_RESPONSES,
    TOKEN_URL,
    JsonWebKeySet,
    TokenOperation,
    TokenResponse,
)
from policies.auth.registry import ClientRegistry, ClientRegistryUnavailable
from policies.auth.scopes import parse_scopes
from policies.route import public

_encoder = msgspec.json.Encoder()
_NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}
# Unknown clients are checked against this, so a wrong client id costs as much as a
# wrong secret and does not reveal which ids exist.
_DECOY = parse_secret_hash(
    "scrypt$16384$8$1$VRaf9hH7vqimHJQmy1W4XQ$ZoOKPNVov3+R6nlrmCOuFJliVxynHNH5AontR0k3ntk"
)
_KNOWN_PARAMETERS = ("grant_type", "scope", "client_id", "client_secret", "code",
                     "redirect_uri", "code_verifier")
MAX_FORM_BYTES = 8192
MAX_CONCURRENT_HASHES = 4  # scrypt takes ~16 MiB and tens of ms per check


_Rejected = TokenRequestRejected


def _error(status: int, error: str, description: str) -> Response[Any]:
    headers = dict(_NO_STORE)
    if error == "invalid_client":
        headers["www-authenticate"] = 'Basic realm="q2c", charset="UTF-8"'
    return Response(
        content=_encoder.encode({"error": error, "error_description": description}),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _raw(body: bytes, headers: dict[str, str]) -> Response[Any]:
    """Pre-encoded JSON (the key set is encoded once, not per request)."""
    return Response(content=body, media_type="application/json", headers=headers)


def _form(content_type: str, body: bytes) -> dict[str, str]:
    if content_type.split(";", 1)[0].strip().lower() != FORM_MEDIA_TYPE:
        raise _Rejected(400, "invalid_request", f"the body must be {FORM_MEDIA_TYPE}")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise _Rejected(400, "invalid_request", "the form is malformed") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            shown = name if name in _KNOWN_PARAMETERS else "a parameter"
            raise _Rejected(400, "invalid_request", f"{shown} is repeated")
        form[name] = value
    # RFC 6749 section 3.1: a parameter sent without a value is treated as omitted.
    return {name: value for name, value in form.items() if value}


def _credentials(authorization: str | None, form: dict[str, str]) -> tuple[str, str]:
    client_id, secret = _client(authorization, form)
    if client_id is None or secret is None:
        raise _Rejected(401, "invalid_client", "client authentication is required")
    return client_id, secret


def _client(authorization: str | None, form: dict[str, str]) -> tuple[str | None, str | None]:
    """The client id and secret, from HTTP Basic or the form; a public client of the
    authorization code grant sends its id alone."""
    if authorization is None:
        return form.get("client_id"), form.get("client_secret")
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        raise _Rejected(401, "invalid_client", "client authentication must use HTTP Basic")
    if "client_secret" in form:
        raise _Rejected(400, "invalid_request",
                        "use exactly one client authentication method")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _Rejected(401, "invalid_client", "the Basic credentials are malformed") from None
    raw_id, colon, raw_secret = decoded.partition(":")
    if not colon:
        raise _Rejected(401, "invalid_client", "the Basic credentials are malformed")
    # RFC 6749 section 2.3.1: both parts are form-urlencoded before Basic encoding.
    client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
    if form.get("client_id", client_id) != client_id:
        raise _Rejected(400, "invalid_request", "client_id differs from the Basic credentials")
    return client_id, secret


def _granted(client: IssuerClient, requested: str | None) -> tuple[str, ...]:
    if requested is None:
        return client.scopes
    try:
        scopes = parse_scopes(requested)
    except ValueError:
        raise _Rejected(400, "invalid_scope", "the scope parameter is malformed") from None
    for scope in scopes:
        if scope not in client.scopes:
            raise _Rejected(400, "invalid_scope", f"scope {scope} is not allowed for this client")
    return scopes or client.scopes


def issuer_routes(
    issuer: Issuer,
    config: AuthConfig,
    registry: ClientRegistry | None = None,
    provider: OpenIdProvider | None = None,
) -> list[HTTPRouteHandler]:
    """Route handlers for the built-in issuer, public and documented; mount them at the root.

    Configured clients come first; ``registry`` holds clients registered at run time
    (the portal's sandbox apps), asked only for ids the configuration does not know.
    With ``provider`` the token endpoint also redeems OpenID Connect authorization
    codes (a browser sign-in, outside the API contract; see idp.py).
    """
    if not config.builtin_issuer.enabled:
        raise ValueError("auth.builtin_issuer is disabled; do not mount its token routes")
    clients: dict[str, tuple[IssuerClient, SecretHash]] = {
        client.client_id: (client, parse_secret_hash(client.secret_hash))
        for client in config.builtin_issuer.all_clients()
    }
    hashing = asyncio.Semaphore(MAX_CONCURRENT_HASHES)

    async def lookup(client_id: str) -> tuple[IssuerClient, SecretHash] | None:
        known = clients.get(client_id)
        if known is not None or registry is None:
            return known
        try:
            registered = await registry.get(client_id)
        except ClientRegistryUnavailable:
            raise ServiceUnavailableException(
                detail="The client registry is unavailable; retry shortly.",
                headers={"Retry-After": "1"},
            ) from None
        if registered is None or not registered.active:
            return None
        try:
            return registered.issuer_client(), parse_secret_hash(registered.secret_hash)
        except ValueError:
            return None  # a damaged record authenticates nobody

    async def authenticate(client_id: str, secret: str) -> IssuerClient:
        known = await lookup(client_id)
        spec = known[1] if known is not None else _DECOY
        async with hashing:
            matches = await asyncio.to_thread(verify_secret, secret, spec)
        if known is None or not matches:
            raise _Rejected(401, "invalid_client", "unknown client or wrong secret")
        return known[0]

    @post(
        TOKEN_URL,
        opt=public(),
        operation_id="issueToken",
        tags=["auth"],
        summary="Issue an access token (OAuth 2.0 client credentials)",
        description=(
            "RFC 6749 section 4.4 client credentials grant for clients configured in the "
            "gateway's built-in issuer. Errors use the RFC 6749 section 5.2 JSON body."
        ),
        include_in_schema=True,
        status_code=200,
        request_max_body_size=MAX_FORM_BYTES,
        operation_class=TokenOperation,
        security=[{CLIENT_BASIC_SCHEME: []}],
        responses=TOKEN_ERROR_RESPONSES,
        response_description="Access token issued",
        response_headers=[
            ResponseHeader(name="Cache-Control", value="no-store", documentation_only=True,
                           description="Tokens are never cached (RFC 6749 section 5.1)"),
        ],
    )
    async def issue_token(request: Request[Any, Any, Any]) -> Response[TokenResponse]:
        try:
            form = _form(request.headers.get("content-type", ""), await request.body())
            grant_type = form.get("grant_type")
            if grant_type is None:
                raise _Rejected(400, "invalid_request", "grant_type is missing")
            if grant_type == "authorization_code" and provider is not None:
                client_id, secret = _client(request.headers.get("authorization"), form)
                return _raw(await provider.redeem(form, client_id, secret), dict(_NO_STORE))
            if grant_type != "client_credentials":
                raise _Rejected(400, "unsupported_grant_type",
                                "only the client_credentials grant is supported")
            client_id, secret = _credentials(request.headers.get("authorization"), form)
            client = await authenticate(client_id, secret)
            scopes = _granted(client, form.get("scope"))
        except _Rejected as rejected:
            return _error(rejected.status, rejected.error, rejected.description)
        if not issuer.loaded:
            await asyncio.to_thread(issuer.load)
        ttl = issuer.token_ttl_seconds
        token = issuer.mint(client.client_id, scopes, client.tenant, ttl, plan=client.plan)
        body = TokenResponse(access_token=token, expires_in=ttl, scope=" ".join(scopes))
        return Response(content=body, status_code=200, media_type="application/json",
                        headers=_NO_STORE)

    @get(
        JWKS_URL,
        opt=public(),
        operation_id="getJwks",
        tags=["auth"],
        summary="Public keys of the built-in token issuer (JWKS)",
        description="RFC 7517 JSON Web Key Set to verify tokens from POST /oauth/token.",
        include_in_schema=True,
        response_description="The built-in issuer's public signing keys",
        response_headers=[
            ResponseHeader(name="Cache-Control", value="public, max-age=300",
                           documentation_only=True, description="Cacheable for five minutes"),
        ],
    )
    async def get_jwks() -> Response[JsonWebKeySet]:
        if not issuer.loaded:
            await asyncio.to_thread(issuer.load)
        return _raw(issuer.jwks_json(), {"cache-control": "public, max-age=300"})

    return [issue_token, get_jwks]
