"""The console's provider over HTTP, against the smallest fake provider that shows each
behaviour (httpx.MockTransport): what discovery must say, what the token endpoint's
answers mean, and ID tokens verified against the provider's JWKS."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.app import create_app
from gateway.console.config import ConsoleConfig
from gateway.console.oidc import HttpProvider, ProviderUnavailable, SignInFailed
from gateway.wiring import build_runtime
from policies.auth.keys import jwk_thumbprint, public_jwk
from tests.support.settings import gateway_settings

ISSUER = "https://login.example.test/realms/finance"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
JWK = {**public_jwk(KEY), "kid": jwk_thumbprint(public_jwk(KEY)), "alg": "RS256", "use": "sig"}
JWK.pop("key_ops", None)
Handler = Callable[[httpx.Request], httpx.Response]


def _meta(**overrides: Any) -> dict[str, Any]:
    return {"issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/auth",
            "token_endpoint": f"{ISSUER}/token", "jwks_uri": f"{ISSUER}/certs",
            "code_challenge_methods_supported": ["S256"], **overrides}


def _id_token(**overrides: Any) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "q2c-console", "sub": "u-1", "iat": now,
              "exp": now + 300, "nonce": "n-1", **overrides}
    return jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": JWK["kid"]})


def _provider(routes: dict[str, Handler], client_secret: str | None = None,
              ) -> tuple[HttpProvider, list[str]]:
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url}")
        handler = routes.get(str(request.url).split("?")[0])
        return handler(request) if handler else httpx.Response(404, json={"error": "nope"})

    client = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    return HttpProvider(ConsoleConfig(issuer=ISSUER), client, client_secret=client_secret), seen


def _json(body: Any, status: int = 200) -> Handler:
    return lambda request: httpx.Response(status, json=body)


async def test_discovery_is_fetched_once_and_cached() -> None:
    provider, seen = _provider({f"{ISSUER}/.well-known/openid-configuration": _json(_meta())})
    assert (await provider.metadata()).token_endpoint == f"{ISSUER}/token"
    await provider.metadata()
    assert seen == [f"GET {ISSUER}/.well-known/openid-configuration"]


@pytest.mark.parametrize(
    ("meta", "reason"),
    [
        (_meta(issuer="https://evil.example.test"), "names issuer"),
        (_meta(token_endpoint="http://login.example.test/token"), "not https"),
        (_meta(code_challenge_methods_supported=["plain"]), "S256"),
        ({"issuer": ISSUER}, "not a discovery document"),
    ],
)
async def test_a_discovery_document_that_cannot_be_trusted_is_refused(
    meta: dict[str, Any], reason: str
) -> None:
    provider, _ = _provider({f"{ISSUER}/.well-known/openid-configuration": _json(meta)})
    with pytest.raises(ProviderUnavailable, match=reason):
        await provider.metadata()


async def test_a_code_is_redeemed_and_the_id_token_verified_with_the_jwks() -> None:
    def token(request: httpx.Request) -> httpx.Response:
        form = dict(pair.split("=", 1) for pair in request.content.decode().split("&"))
        assert form["grant_type"] == "authorization_code"
        assert form["code_verifier"] == "v" * 43
        assert form["client_id"] == "q2c-console"
        assert "authorization" not in request.headers  # a public client
        return httpx.Response(200, json={"access_token": "a", "id_token": _id_token()})

    provider, seen = _provider({
        f"{ISSUER}/.well-known/openid-configuration": _json(_meta()),
        f"{ISSUER}/token": token,
        f"{ISSUER}/certs": _json({"keys": [JWK]}),
    })
    id_token = await provider.redeem("c-1", "https://q2c.example/console/callback", "v" * 43)
    claims = await provider.verify(id_token, "n-1")
    assert claims["sub"] == "u-1"
    assert f"GET {ISSUER}/certs" in seen
    with pytest.raises(SignInFailed, match="nonce"):
        await provider.verify(id_token, "n-2")
    with pytest.raises(SignInFailed, match="another issuer"):
        await provider.verify(_id_token(iss="https://evil.example.test"), "n-1")


async def test_a_confidential_client_authenticates_with_basic() -> None:
    def token(request: httpx.Request) -> httpx.Response:
        expected = base64.b64encode(b"q2c-console:s3cret").decode()
        assert request.headers["authorization"] == f"Basic {expected}"
        assert b"client_id" not in request.content
        return httpx.Response(200, json={"id_token": _id_token()})

    provider, _ = _provider({f"{ISSUER}/.well-known/openid-configuration": _json(_meta()),
                             f"{ISSUER}/token": token}, client_secret="s3cret")
    assert await provider.redeem("c", "https://q2c.example/cb", "v" * 43)


@pytest.mark.parametrize(
    ("answer", "failure", "reason"),
    [
        (_json({"error": "invalid_grant", "error_description": "used"}, 400), SignInFailed,
         "invalid_grant: used"),
        (_json({"access_token": "a"}), SignInFailed, "no ID token"),
        (_json({"error": "server_error"}, 503), ProviderUnavailable, "HTTP 503"),
        (lambda request: httpx.Response(200, content=b"<html>"), ProviderUnavailable,
         "not JSON"),
    ],
)
async def test_what_the_token_endpoint_says_decides_the_failure(
    answer: Handler, failure: type[Exception], reason: str
) -> None:
    provider, _ = _provider({f"{ISSUER}/.well-known/openid-configuration": _json(_meta()),
                             f"{ISSUER}/token": answer})
    with pytest.raises(failure, match=reason):
        await provider.redeem("c", "https://q2c.example/cb", "v" * 43)


async def test_the_login_page_says_when_the_provider_cannot_be_reached() -> None:
    settings = gateway_settings(console=ConsoleConfig(issuer="http://127.0.0.1:9",
                                                      timeout_seconds=2))
    runtime = build_runtime(settings)
    await runtime.start()
    try:
        app = create_app(settings, runtime)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://127.0.0.1:8080") as client:
            answer = await client.get("/console/login")
            assert answer.status_code == 503
            assert "identity provider cannot be reached" in answer.text
            assert "q2c_console_login" not in answer.headers.get("set-cookie", "")
    finally:
        await runtime.close()
