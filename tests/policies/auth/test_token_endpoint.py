"""POST /oauth/token (RFC 6749 client credentials) and GET /.well-known/jwks.json."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote_plus

import httpx
import msgspec
import pytest
from litestar import Request, get

from policies.asgi import Scope
from policies.auth import (
    ALL_SCOPES,
    AuthConfig,
    BuiltinIssuerConfig,
    Issuer,
    IssuerClient,
    build_verifier,
    hash_secret,
)
from policies.auth.openapi import JsonWebKeySet, TokenError, TokenResponse
from policies.auth.routes import issuer_routes
from policies.context import request_context
from policies.route import governed
from tests.policies.auth.conftest import auth_app

TRICKY_SECRET = "p@ss:w rd+%"


@get("/v1/orders", opt=governed("orders:read"))
async def list_orders(request: Request[Any, Any, Any]) -> dict[str, Any]:
    consumer = request_context(cast("Scope", request.scope)).consumer
    assert consumer is not None
    return {"client_id": consumer.client_id, "tenant": consumer.tenant, "plan": consumer.plan}


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> AuthConfig:
    key_file = tmp_path_factory.mktemp("issuer") / "key.pem"
    partner = IssuerClient(
        client_id="partner",
        secret_hash=hash_secret(TRICKY_SECRET),
        scopes=("orders:read", "quotes:read"),
        tenant="globex",
        plan="gold",
    )
    return AuthConfig(
        builtin_issuer=BuiltinIssuerConfig(
            key_file=str(key_file), clients=(partner,), sandbox_client=True, token_ttl_seconds=900
        )
    )


@pytest.fixture
async def api(config: AuthConfig) -> AsyncIterator[httpx.AsyncClient]:
    issuer = Issuer.from_config(config)
    verifier = build_verifier(config, issuer=issuer)
    async with auth_app([list_orders, *issuer_routes(issuer, config)], verifier) as client:
        yield client


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


SANDBOX = basic("sandbox-client", "sandbox-secret")
GRANT = {"grant_type": "client_credentials"}


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    body = msgspec.json.decode(response.content, type=TokenError)  # the documented shape
    assert body.error == error
    assert body.error_description
    if error == "invalid_client":
        assert response.headers["www-authenticate"].startswith("Basic ")


async def test_client_credentials_with_basic_auth(api: httpx.AsyncClient) -> None:
    response = await api.post("/oauth/token", data=GRANT, headers=SANDBOX)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    msgspec.json.decode(response.content, type=TokenResponse)
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["scope"].split() == list(ALL_SCOPES)
    orders = await api.get(
        "/v1/orders", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert orders.json() == {"client_id": "sandbox-client", "tenant": "sandbox", "plan": "default"}


async def test_form_credentials_and_scope_narrowing(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/oauth/token",
        data={
            **GRANT,
            "client_id": "partner",
            "client_secret": TRICKY_SECRET,
            "scope": "quotes:read",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["scope"] == "quotes:read"
    orders = await api.get(
        "/v1/orders", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert orders.status_code == 403


async def test_basic_credentials_are_form_decoded(api: httpx.AsyncClient) -> None:
    response = await api.post("/oauth/token", data=GRANT, headers=basic("partner", TRICKY_SECRET))
    assert response.status_code == 200
    token = response.json()["access_token"]
    orders = await api.get("/v1/orders", headers={"Authorization": f"Bearer {token}"})
    assert orders.json() == {"client_id": "partner", "tenant": "globex", "plan": "gold"}


@pytest.mark.parametrize(
    ("kwargs", "status", "error"),
    [
        ({"data": {}, "headers": SANDBOX}, 400, "invalid_request"),
        (
            {
                "content": b"grant_type=client_credentials&grant_type=client_credentials",
                "headers": {**SANDBOX, "content-type": "application/x-www-form-urlencoded"},
            },
            400,
            "invalid_request",
        ),
        ({"json": GRANT, "headers": SANDBOX}, 400, "invalid_request"),
        (
            {"data": {**GRANT, "client_secret": "sandbox-secret"}, "headers": SANDBOX},
            400,
            "invalid_request",
        ),
        ({"data": {**GRANT, "client_id": "partner"}, "headers": SANDBOX}, 400, "invalid_request"),
        (
            {
                "data": {"grant_type": "password", "username": "u", "password": "p"},
                "headers": SANDBOX,
            },
            400,
            "unsupported_grant_type",
        ),
        (
            {"data": {"grant_type": "authorization_code", "code": "x"}},
            400,
            "unsupported_grant_type",
        ),
        ({"data": GRANT}, 401, "invalid_client"),
        ({"data": GRANT, "headers": basic("sandbox-client", "wrong")}, 401, "invalid_client"),
        ({"data": GRANT, "headers": basic("nobody", "sandbox-secret")}, 401, "invalid_client"),
        (
            {"data": {**GRANT, "client_id": "partner", "client_secret": "nope"}},
            401,
            "invalid_client",
        ),
        ({"data": GRANT, "headers": {"Authorization": "Basic !!!"}}, 401, "invalid_client"),
        ({"data": GRANT, "headers": {"Authorization": "Bearer abc"}}, 401, "invalid_client"),
        (
            {
                "data": {**GRANT, "scope": "orders:write"},
                "headers": basic("partner", TRICKY_SECRET),
            },
            400,
            "invalid_scope",
        ),
        ({"data": {**GRANT, "scope": 'orders:read "x'}, "headers": SANDBOX}, 400, "invalid_scope"),
    ],
)
async def test_rfc_6749_errors(
    api: httpx.AsyncClient, kwargs: dict[str, Any], status: int, error: str
) -> None:
    assert_oauth_error(await api.post("/oauth/token", **kwargs), status, error)


async def test_an_empty_parameter_counts_as_omitted(api: httpx.AsyncClient) -> None:
    response = await api.post("/oauth/token", data={**GRANT, "scope": ""}, headers=SANDBOX)
    assert response.status_code == 200
    assert response.json()["scope"].split() == list(ALL_SCOPES)


async def test_only_post_is_allowed(api: httpx.AsyncClient) -> None:
    assert (await api.get("/oauth/token")).status_code == 405


async def test_jwks_publishes_the_signing_key(api: httpx.AsyncClient, config: AuthConfig) -> None:
    response = await api.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
    msgspec.json.decode(response.content, type=JsonWebKeySet)
    keys = response.json()["keys"]
    issuer = Issuer.from_config(config)
    assert [key["kid"] for key in keys] == [issuer.kid]
    assert keys[0]["use"] == "sig"
    assert keys[0]["alg"] == "RS256"
    assert "d" not in keys[0]


async def test_tokens_verify_through_the_published_jwks(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    """A second gateway that trusts this one's JWKS URL (the external-IdP path, end to end)."""
    token = (await api.post("/oauth/token", data=GRANT, headers=SANDBOX)).json()["access_token"]

    async def proxy(request: httpx.Request) -> httpx.Response:
        upstream = await api.get(request.url.path)
        return httpx.Response(
            upstream.status_code,
            content=upstream.content,
            headers={"content-type": "application/json"},
        )

    remote = AuthConfig(
        jwks_url="https://gw.test/.well-known/jwks.json",
        builtin_issuer=BuiltinIssuerConfig(enabled=False),
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(proxy)) as http:
        consumer = await build_verifier(remote, http_client=http).verify(token.encode())
    assert consumer.tenant == "sandbox"


async def test_openapi_documents_both_operations(api: httpx.AsyncClient) -> None:
    schema = (await api.get("/schema/openapi.json")).json()
    token_op = schema["paths"]["/oauth/token"]["post"]
    jwks_op = schema["paths"]["/.well-known/jwks.json"]["get"]
    assert token_op["operationId"] == "issueToken"
    assert jwks_op["operationId"] == "getJwks"
    assert token_op["tags"] == jwks_op["tags"] == ["auth"]
    form = token_op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert form["required"] == ["grant_type"]
    assert set(token_op["responses"]) == {"200", "400", "401"}
    for status in ("400", "401"):
        content = token_op["responses"][status]["content"]
        assert list(content) == ["application/json"]
        assert content["application/json"]["schema"]["$ref"].endswith("/TokenError")
    assert token_op["responses"]["200"]["headers"]["Cache-Control"]
    assert jwks_op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/JsonWebKeySet"
    )
    error_schema = schema["components"]["schemas"]["TokenError"]
    assert "invalid_client" in error_schema["properties"]["error"]["enum"]


def test_routes_refuse_a_disabled_issuer(config: AuthConfig) -> None:
    disabled = AuthConfig(
        static_keys=(),
        jwks_url="https://idp.test/jwks",
        builtin_issuer=BuiltinIssuerConfig(enabled=False),
    )
    with pytest.raises(ValueError, match="builtin_issuer"):
        issuer_routes(Issuer.from_config(config), disabled)
