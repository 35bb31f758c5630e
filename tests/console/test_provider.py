"""The built-in issuer as an OpenID provider, in-process: discovery, the authorization
endpoint's refusals, and the authorization code grant at /oauth/token."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest

from tests.console.conftest import BASE, Console
from tests.console.support import sign_in_form

CALLBACK = f"{BASE}/console/callback"
CLIENT = "q2c-console"


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _request(verifier: str, **overrides: str) -> dict[str, str]:
    params = {
        "response_type": "code", "client_id": CLIENT, "redirect_uri": CALLBACK,
        "scope": "openid profile", "state": "s-123", "nonce": "n-456",
        "code_challenge": _challenge(verifier), "code_challenge_method": "S256",
    }
    params.update(overrides)
    return params


async def _code(client: httpx.AsyncClient, verifier: str, username: str = "priya",
                password: str = "pricing-demo") -> str:  # noqa: S107 - a demo login
    form = await client.get("/oauth/authorize", params=_request(verifier))
    assert form.status_code == 200, form.text
    answer = await client.post("/oauth/authorize",
                               data=sign_in_form(form.text, username, password))
    assert answer.status_code == 303, answer.text
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = parse_qs(location.query)
    assert query["state"] == ["s-123"]
    assert query["iss"] == [BASE]
    return query["code"][0]


async def _redeem(client: httpx.AsyncClient, code: str, verifier: str,
                  **overrides: str) -> httpx.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
            "code_verifier": verifier, "client_id": CLIENT, **overrides}
    return await client.post("/oauth/token", data=form)


def _verifier() -> str:
    return secrets.token_urlsafe(48)


async def test_discovery_describes_the_code_flow_with_pkce(console: Console) -> None:
    meta = (await console.client.get("/.well-known/openid-configuration")).json()
    assert meta["issuer"] == BASE
    assert meta["authorization_endpoint"] == f"{BASE}/oauth/authorize"
    assert meta["token_endpoint"] == f"{BASE}/oauth/token"
    assert meta["jwks_uri"] == f"{BASE}/.well-known/jwks.json"
    assert meta["response_types_supported"] == ["code"]
    assert "authorization_code" in meta["grant_types_supported"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["id_token_signing_alg_values_supported"] == ["RS256"]
    assert "openid" in meta["scopes_supported"]
    assert meta["subject_types_supported"] == ["public"]


async def test_the_id_token_is_signed_by_the_published_key_and_says_who(
    console: Console,
) -> None:
    verifier = _verifier()
    answer = await _redeem(console.client, await _code(console.client, verifier), verifier)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["access_token"]
    token = body["id_token"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    keys = (await console.client.get("/.well-known/jwks.json")).json()["keys"]
    key = next(k for k in keys if k["kid"] == header["kid"])
    claims = jwt.decode(token, jwt.PyJWK(key).key, algorithms=["RS256"], audience=CLIENT,
                        issuer=BASE, options={"verify_iat": False, "verify_exp": False})
    assert claims["sub"] == "priya"
    assert claims["nonce"] == "n-456"
    assert claims["name"] == "Priya Nair"
    assert claims["tenant"] == "sandbox"
    assert claims["teams"] == ["pricing-ops"]
    assert claims["role"] == "operator"
    assert claims["exp"] - claims["iat"] == 300
    # The access token is no API credential: it carries no API scope.
    api = await console.client.get("/v1/products",
                                   headers={"authorization": f"Bearer {body['access_token']}"})
    assert api.status_code == 403
    # Nor is the ID token an access token (another issuer and audience).
    api = await console.client.get("/v1/products", headers={"authorization": f"Bearer {token}"})
    assert api.status_code == 401


async def test_a_wrong_pkce_verifier_is_invalid_grant_and_spends_the_code(
    console: Console,
) -> None:
    verifier = _verifier()
    code = await _code(console.client, verifier)
    wrong = await _redeem(console.client, code, _verifier())
    assert wrong.status_code == 400
    assert wrong.json() == {"error": "invalid_grant",
                            "error_description": "code_verifier does not match the "
                                                 "code_challenge"}
    right_too_late = await _redeem(console.client, code, verifier)
    assert right_too_late.status_code == 400
    assert right_too_late.json()["error"] == "invalid_grant"


async def test_a_code_is_redeemed_once(console: Console) -> None:
    verifier = _verifier()
    code = await _code(console.client, verifier)
    assert (await _redeem(console.client, code, verifier)).status_code == 200
    again = await _redeem(console.client, code, verifier)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


async def test_a_code_expires_after_a_minute(console: Console) -> None:
    verifier = _verifier()
    code = await _code(console.client, verifier)
    console.clock.advance(61)
    late = await _redeem(console.client, code, verifier)
    assert late.status_code == 400
    assert late.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("override", "error"),
    [
        ({"redirect_uri": f"{BASE}/console/elsewhere"}, "invalid_grant"),
        ({"client_id": "sandbox-client"}, "invalid_client"),
        ({"code_verifier": ""}, "invalid_request"),
    ],
)
async def test_a_code_is_bound_to_its_client_and_redirect_uri(
    console: Console, override: dict[str, str], error: str
) -> None:
    verifier = _verifier()
    code = await _code(console.client, verifier)
    answer = await _redeem(console.client, code, verifier, **override)
    assert answer.json()["error"] == error


@pytest.mark.parametrize(
    "override",
    [{"redirect_uri": "https://evil.example/callback"},
     {"redirect_uri": f"{CALLBACK}/x"},
     {"redirect_uri": ""},
     {"client_id": "nobody"},
     {"client_id": ""}],
)
async def test_an_unknown_client_or_redirect_uri_gets_a_page_never_a_redirect(
    console: Console, override: dict[str, str]
) -> None:
    params = _request(_verifier(), **override)
    shown = await console.client.get("/oauth/authorize", params=params)
    assert shown.status_code == 400
    assert "location" not in shown.headers
    assert "Sign-in stopped" in shown.text
    form = {**params, "username": "priya", "password": "pricing-demo"}
    posted = await console.client.post("/oauth/authorize", data=form)
    assert posted.status_code == 400
    assert "location" not in posted.headers


@pytest.mark.parametrize(
    ("override", "error"),
    [
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": ""}, "invalid_request"),
        ({"nonce": ""}, "invalid_request"),
        ({"state": ""}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "profile"}, "invalid_scope"),
    ],
)
async def test_a_bad_request_of_a_known_client_goes_back_to_it_as_an_error(
    console: Console, override: dict[str, str], error: str
) -> None:
    answer = await console.client.get("/oauth/authorize", params=_request(_verifier(),
                                                                            **override))
    assert answer.status_code == 303
    location = urlsplit(answer.headers["location"])
    assert location.path == "/console/callback"
    assert parse_qs(location.query)["error"] == [error]


async def test_a_repeated_parameter_is_refused(console: Console) -> None:
    query = urlencode(_request(_verifier())) + "&client_id=" + CLIENT
    answer = await console.client.get(f"/oauth/authorize?{query}")
    assert answer.status_code == 400


async def test_a_sign_in_form_posted_from_another_site_is_refused(console: Console) -> None:
    form = await console.client.get("/oauth/authorize", params=_request(_verifier()))
    answer = await console.client.post(
        "/oauth/authorize", data=sign_in_form(form.text, "priya", "pricing-demo"),
        headers={"origin": "https://evil.example"})
    assert answer.status_code == 403
    assert "location" not in answer.headers


async def test_the_sign_in_page_loads_nothing_and_cannot_be_framed(console: Console) -> None:
    form = await console.client.get("/oauth/authorize", params=_request(_verifier()))
    policy = form.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    assert f"form-action 'self' {BASE}" in policy
    assert form.headers["cache-control"] == "no-store"
    assert 'autocomplete="current-password"' in form.text
    assert '<label for="username">' in form.text


async def test_the_client_credentials_grant_still_works(console: Console) -> None:
    answer = await console.client.post(
        "/oauth/token", data={"grant_type": "client_credentials"},
        auth=("sandbox-client", "sandbox-secret"))
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    other = await console.client.post("/oauth/token", data={"grant_type": "password"},
                                      auth=("sandbox-client", "sandbox-secret"))
    assert other.json()["error"] == "unsupported_grant_type"


async def test_password_guessing_spends_the_per_ip_quota() -> None:
    from gateway.app import create_app
    from gateway.wiring import build_runtime
    from policies.rate_limit import RateLimitConfig
    from policies.rate_limit.config import Plan
    from tests.support.settings import gateway_settings

    limits = RateLimitConfig(plans={"default": Plan(quota=100, window_seconds=60),
                                    "anonymous": Plan(quota=3, window_seconds=3600)})
    runtime = build_runtime(gateway_settings(rate_limit=limits))
    await runtime.start()
    try:
        app = create_app(runtime.settings, runtime)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url=BASE) as client:
            form = await client.get("/oauth/authorize", params=_request(_verifier()))
            statuses = [
                (await client.post("/oauth/authorize",
                                   data=sign_in_form(form.text, "priya", f"guess-{n}"))
                 ).status_code
                for n in range(4)
            ]
    finally:
        await runtime.close()
    assert statuses == [401, 401, 401, 429]
