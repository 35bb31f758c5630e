"""AuthMiddleware in a Litestar app: 401/403 problems, RFC 6750 challenges, the consumer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
import msgspec
import pytest
from litestar import Request, get, post

from policies.asgi import Scope
from policies.auth import AuthConfig, TokenVerifier, build_verifier
from policies.context import request_context
from policies.route import governed, public
from tests.policies.auth.conftest import (
    AUDIENCE,
    ISSUER,
    T0,
    FakeClock,
    SigningKey,
    auth_app,
    claims,
)


def who(request: Request[Any, Any, Any]) -> dict[str, Any]:
    consumer = request_context(cast("Scope", request.scope)).consumer
    if consumer is None:
        return {"consumer": None}
    return {
        "client_id": consumer.client_id,
        "tenant": consumer.tenant,
        "plan": consumer.plan,
        "scopes": sorted(consumer.scopes),
    }


@get("/v1/orders", opt=governed("orders:read"))
async def list_orders(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return who(request)


@post("/v1/orders", opt=governed("orders:write", idempotency="required"))
async def create_order(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return who(request)


@get("/v1/settle", opt=governed("orders:write", "payments:write"))
async def settle(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return who(request)


@get("/v1/me", opt=governed())
async def me(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return who(request)


@get("/health", opt=public())
async def health(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return who(request)


@get("/undeclared")
async def undeclared(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return who(request)


def make_verifier(key: SigningKey, clock: FakeClock, **fields: Any) -> TokenVerifier:
    config = msgspec.convert(
        {
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "builtin_issuer": {"enabled": False},
            "static_keys": [key.jwk()],
            **fields,
        },
        AuthConfig,
    )
    return build_verifier(config, clock=clock)


def client_for(verifier: TokenVerifier) -> httpx.AsyncClient:
    return auth_app([list_orders, create_order, settle, me, health, undeclared], verifier)


@pytest.fixture
async def api(rsa_key: SigningKey, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(make_verifier(rsa_key, clock)) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    return body


async def test_missing_token_has_a_challenge_without_error(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/orders")
    body = assert_problem(response, 401, "TOKEN_MISSING")
    assert body["type"] == "http://127.0.0.1:8080/problems/unauthorized"
    assert body["instance"] == "/v1/orders"
    assert response.headers["www-authenticate"] == 'Bearer realm="q2c"'


async def test_other_schemes_count_as_missing(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/orders", headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert_problem(response, 401, "TOKEN_MISSING")
    response = await api.get("/v1/orders", headers={"Authorization": "Bearer   "})
    assert_problem(response, 401, "TOKEN_MISSING")


async def test_a_valid_token_sets_the_consumer(api: httpx.AsyncClient, rsa_key: SigningKey) -> None:
    token = rsa_key.sign(claims(plan="gold"))
    response = await api.get("/v1/orders", headers={"Authorization": f"bearer {token}"})
    assert response.status_code == 200
    assert response.json() == {
        "client_id": "crm-app",
        "tenant": "acme",
        "plan": "gold",
        "scopes": ["customers:read", "orders:read"],
    }


async def test_plan_from_config_when_the_token_has_none(
    rsa_key: SigningKey, clock: FakeClock
) -> None:
    verifier = make_verifier(rsa_key, clock, plans_by_client={"crm-app": "partner"})
    async with client_for(verifier) as client:
        response = await client.get("/v1/orders", headers=bearer(rsa_key.sign(claims())))
    assert response.json()["plan"] == "partner"


async def test_invalid_token_gets_an_invalid_token_challenge(
    api: httpx.AsyncClient, rsa_key: SigningKey
) -> None:
    token = rsa_key.sign(claims(aud="urn:someone-else"))
    response = await api.get("/v1/orders", headers=bearer(token))
    assert_problem(response, 401, "TOKEN_INVALID")
    assert response.headers["www-authenticate"] == (
        'Bearer realm="q2c", error="invalid_token", '
        'error_description="token audience does not include this API"'
    )
    assert token not in response.text
    assert token.split(".")[1] not in response.text


async def test_expired_token(api: httpx.AsyncClient, rsa_key: SigningKey) -> None:
    response = await api.get("/v1/orders", headers=bearer(rsa_key.sign(claims(exp=int(T0) - 60))))
    assert_problem(response, 401, "TOKEN_EXPIRED")
    assert 'error_description="token has expired"' in response.headers["www-authenticate"]


async def test_missing_tenant_is_rejected(api: httpx.AsyncClient, rsa_key: SigningKey) -> None:
    response = await api.get("/v1/orders", headers=bearer(rsa_key.sign(claims(tenant=None))))
    body = assert_problem(response, 401, "TOKEN_INVALID")
    assert "no tenant claim" in body["detail"]


async def test_missing_scope_is_403_naming_it(api: httpx.AsyncClient, rsa_key: SigningKey) -> None:
    response = await api.post("/v1/orders", headers=bearer(rsa_key.sign(claims())))
    body = assert_problem(response, 403, "INSUFFICIENT_SCOPE")
    assert body["type"] == "http://127.0.0.1:8080/problems/forbidden"
    assert "orders:write" in body["detail"]
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert challenge.endswith('scope="orders:write"')


async def test_every_declared_scope_is_needed(api: httpx.AsyncClient, rsa_key: SigningKey) -> None:
    partial = rsa_key.sign(claims(scope="orders:write"))
    response = await api.get("/v1/settle", headers=bearer(partial))
    body = assert_problem(response, 403, "INSUFFICIENT_SCOPE")
    assert "payments:write" in body["detail"]
    assert "orders:write," not in body["detail"]  # only the missing one is named
    assert response.headers["www-authenticate"].endswith('scope="orders:write payments:write"')
    full = rsa_key.sign(claims(scope="orders:write payments:write"))
    assert (await api.get("/v1/settle", headers=bearer(full))).status_code == 200


async def test_a_route_without_scopes_still_needs_a_token(
    api: httpx.AsyncClient, rsa_key: SigningKey
) -> None:
    assert (await api.get("/v1/me")).status_code == 401
    response = await api.get("/v1/me", headers=bearer(rsa_key.sign(claims(scope=""))))
    assert response.status_code == 200
    assert response.json()["scopes"] == []


async def test_public_and_undeclared_routes_skip_auth(api: httpx.AsyncClient) -> None:
    for path in ("/health", "/undeclared"):
        response = await api.get(path, headers={"Authorization": "Bearer garbage"})
        assert response.status_code == 200
        assert response.json() == {"consumer": None}


async def test_cached_token_is_rejected_once_it_expires(
    rsa_key: SigningKey, clock: FakeClock
) -> None:
    verifier = make_verifier(rsa_key, clock, leeway_seconds=0)
    token = rsa_key.sign(claims(exp=int(T0) + 20))
    async with client_for(verifier) as client:
        assert (await client.get("/v1/orders", headers=bearer(token))).status_code == 200
        assert verifier.cached(token.encode()) is not None
        clock.advance(19)
        assert (await client.get("/v1/orders", headers=bearer(token))).status_code == 200
        clock.advance(1)
        response = await client.get("/v1/orders", headers=bearer(token))
    assert_problem(response, 401, "TOKEN_EXPIRED")


async def test_disabled_auth_lets_calls_through_as_anonymous(
    rsa_key: SigningKey, clock: FakeClock
) -> None:
    verifier = make_verifier(rsa_key, clock, enabled=False)
    async with client_for(verifier) as client:
        response = await client.post("/v1/orders")
    assert response.status_code == 201
    assert response.json() == {
        "client_id": "anonymous",
        "tenant": "default",
        "plan": "anonymous",
        "scopes": [],
    }


async def test_unreachable_identity_provider_is_503(rsa_key: SigningKey, clock: FakeClock) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    config = msgspec.convert(
        {
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "jwks_url": "https://idp.test/jwks",
            "builtin_issuer": {"enabled": False},
        },
        AuthConfig,
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(down)) as idp:
        verifier = build_verifier(config, http_client=idp, clock=clock, monotonic=clock)
        async with client_for(verifier) as client:
            response = await client.get("/v1/orders", headers=bearer(rsa_key.sign(claims())))
    body = assert_problem(response, 503, "DEPENDENCY_UNAVAILABLE")
    assert body["retryable"] is True
    assert response.headers["retry-after"] == "5"
