"""What auth adds to the OpenAPI document: security schemes, per-operation requirements,
the documented 401/403 problems, and the wire shapes of the built-in issuer's endpoints."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Literal

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Components,
    OAuthFlow,
    OAuthFlows,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
    SecurityScheme,
)

from contracts.problem import PROBLEM_MEDIA_TYPE, Problem
from policies.auth.scopes import CLIENT_ID_PATTERN, SCOPE_DESCRIPTIONS

BEARER_SCHEME = "bearerAuth"
OAUTH2_SCHEME = "oauth2"
CLIENT_BASIC_SCHEME = "oauthClientBasic"
TOKEN_URL = "/oauth/token"  # noqa: S105 - a path, not a secret
JWKS_URL = "/.well-known/jwks.json"
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"

_JWT_PRACTICES = (
    "Tokens are verified as RFC8725 (JWT best current practices) asks: only the configured "
    "algorithms are accepted (never none, and HMAC only with a key of its own), and iss, "
    "aud, exp and nbf are checked on every call."
)

SECURITY_SCHEMES: dict[str, SecurityScheme] = {
    BEARER_SCHEME: SecurityScheme(
        type="http",
        scheme="bearer",
        bearer_format="JWT",
        description=(
            "An access token (JWT) from the configured identity provider or the gateway's "
            f"built-in issuer ({TOKEN_URL}). It carries the caller's scopes and tenant. "
            + _JWT_PRACTICES
        ),
    ),
    OAUTH2_SCHEME: SecurityScheme(
        type="oauth2",
        description="OAuth 2.0 client credentials (RFC 6749 section 4.4); access tokens are "
        "short-lived JWTs without refresh tokens (section 4.4.3). " + _JWT_PRACTICES,
        flows=OAuthFlows(
            client_credentials=OAuthFlow(token_url=TOKEN_URL, scopes=dict(SCOPE_DESCRIPTIONS))
        ),
    ),
    CLIENT_BASIC_SCHEME: SecurityScheme(
        type="http",
        scheme="basic",
        description=(
            "Client authentication at the token endpoint: client_id and client_secret, "
            "form-urlencoded, as HTTP Basic credentials (RFC 6749 section 2.3.1)."
        ),
    ),
}


def security_components() -> Components:
    """Components to merge into the OpenAPI config (``OpenAPIConfig(components=...)``)."""
    return Components(security_schemes=dict(SECURITY_SCHEMES))


def security_for(scopes: Iterable[str]) -> list[dict[str, list[str]]]:
    """An operation's ``security``: a bearer token or OAuth 2.0 token with all ``scopes``."""
    needed = list(scopes)
    return [{BEARER_SCHEME: list(needed)}, {OAUTH2_SCHEME: list(needed)}]


WWW_AUTHENTICATE_HEADER = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.STRING, max_length=500),
    description=(
        "RFC 6750 challenge, e.g. Bearer realm=\"q2c\", error=\"invalid_token\" (401) or "
        "error=\"insufficient_scope\", scope=\"orders:write\" (403)."
    ),
)

UNAUTHORIZED_RESPONSES: dict[int, ResponseSpec] = {
    401: ResponseSpec(
        data_container=Problem,
        description=(
            "Missing, invalid or expired access token (code TOKEN_MISSING, TOKEN_INVALID or "
            "TOKEN_EXPIRED); see WWW-Authenticate"
        ),
        media_type=PROBLEM_MEDIA_TYPE,
        generate_examples=False,
    ),
    403: ResponseSpec(
        data_container=Problem,
        description="The access token lacks a required scope (code INSUFFICIENT_SCOPE)",
        media_type=PROBLEM_MEDIA_TYPE,
        generate_examples=False,
    ),
}


TokenErrorCode = Literal[
    "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
    "unsupported_grant_type", "invalid_scope",
]


class TokenResponse(msgspec.Struct, frozen=True, kw_only=True):
    """RFC 6749 section 5.1 access token response."""

    access_token: Annotated[str, msgspec.Meta(min_length=1, max_length=8192)]
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the RFC 6750 type name
    expires_in: Annotated[int, msgspec.Meta(ge=1, le=604_800)]
    scope: Annotated[str, msgspec.Meta(max_length=4000)]


class TokenError(msgspec.Struct, frozen=True, kw_only=True):
    """RFC 6749 section 5.2 error response (not problem+json: OAuth clients expect this)."""

    error: TokenErrorCode
    error_description: Annotated[str, msgspec.Meta(max_length=500)] = ""


class JsonWebKey(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A public signing key (RFC 7517)."""

    kty: Literal["RSA", "EC", "OKP"]
    kid: Annotated[str, msgspec.Meta(max_length=256)]
    use: Literal["sig"] = "sig"
    alg: Annotated[str, msgspec.Meta(max_length=20)]
    n: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    e: Annotated[str, msgspec.Meta(max_length=20)] = ""
    crv: Annotated[str, msgspec.Meta(max_length=20)] = ""
    x: Annotated[str, msgspec.Meta(max_length=200)] = ""
    y: Annotated[str, msgspec.Meta(max_length=200)] = ""


class JsonWebKeySet(msgspec.Struct, frozen=True, kw_only=True):
    keys: Annotated[list[JsonWebKey], msgspec.Meta(max_length=20)]


TOKEN_REQUEST_BODY = RequestBody(
    required=True,
    description=(
        "RFC 6749 section 4.4.2 client credentials request. Authenticate the client with "
        "HTTP Basic (preferred) or with client_id and client_secret in the form."
    ),
    content={
        FORM_MEDIA_TYPE: OpenAPIMediaType(
            schema=Schema(
                type=OpenAPIType.OBJECT,
                required=["grant_type"],
                properties={
                    "grant_type": Schema(type=OpenAPIType.STRING, enum=["client_credentials"]),
                    "scope": Schema(
                        type=OpenAPIType.STRING, max_length=4000,
                        description="Space-delimited subset of the client's scopes; "
                                    "default all of them",
                    ),
                    "client_id": Schema(type=OpenAPIType.STRING, max_length=200,
                                        pattern=CLIENT_ID_PATTERN),
                    "client_secret": Schema(type=OpenAPIType.STRING, max_length=500),
                },
            )
        )
    },
)


@dataclass
class TokenOperation(Operation):
    """The token endpoint reads its form itself (to answer in RFC 6749 terms), so its
    request body is declared here rather than derived from a handler parameter."""

    def __post_init__(self) -> None:
        self.request_body = TOKEN_REQUEST_BODY


# The 200 comes from the handler's return type, which keeps its documented headers.
TOKEN_ERROR_RESPONSES: dict[int, ResponseSpec] = {
    400: ResponseSpec(
        data_container=TokenError,
        description="RFC 6749 error: invalid_request, unsupported_grant_type or invalid_scope",
        generate_examples=False,
    ),
    401: ResponseSpec(
        data_container=TokenError,
        description="RFC 6749 invalid_client: unknown client or wrong secret "
                    "(WWW-Authenticate: Basic)",
        generate_examples=False,
    ),
}

