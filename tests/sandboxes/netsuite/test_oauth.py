"""The NetSuite sandbox's OAuth 2.0 client credentials (M2M) token endpoint and the expiry
of the tokens it issues, in-process over httpx.ASGITransport."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from sandboxes.netsuite.app import RECORD_ROOT, NetSuiteSandbox, create_app
from sandboxes.netsuite.oauth import (
    ASSERTION_TYPE,
    DEMO_CERTIFICATE_ID,
    DEMO_CLIENT_ID,
    DEMO_PRIVATE_KEY,
    TOKEN_PATH,
    Integration,
)

BASE = "https://1234567-sb1.suitetalk.api.netsuite.com"
TOKEN_URL = BASE + TOKEN_PATH
DEMO_KEY = serialization.load_der_private_key(base64.b64decode(DEMO_PRIVATE_KEY), None)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock: Clock) -> NetSuiteSandbox:
    return NetSuiteSandbox(access_token=None, token_lifetime_seconds=120, clock=clock)


@pytest.fixture
async def client(sandbox: NetSuiteSandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(sandbox))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        yield http


def assertion(clock: Clock, *, key: Any = DEMO_KEY, alg: str = "ES256", **changes: Any) -> str:
    now = int(clock.now.timestamp())
    claims: dict[str, Any] = {
        "iss": DEMO_CLIENT_ID, "scope": "rest_webservices", "aud": TOKEN_URL,
        "iat": now, "exp": now + 300,
    }  # fmt: skip
    headers = {"kid": changes.pop("kid", DEMO_CERTIFICATE_ID), "typ": "JWT"}
    claims.update(changes)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, alg, headers)


async def exchange(client: httpx.AsyncClient, token: str, **form: str) -> httpx.Response:
    body = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": token,
    } | form
    return await client.post(TOKEN_PATH, data=body)


async def test_a_signed_assertion_gets_a_bearer_token_that_opens_the_api(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    response = await exchange(client, assertion(clock))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == "120"
    assert response.headers["cache-control"] == "no-store"
    read = await client.get(
        f"{RECORD_ROOT}/customer/1001", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert read.status_code == 200


async def test_an_expired_token_is_401_invalid_login(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    token = (await exchange(client, assertion(clock))).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    clock.advance(119)
    assert (await client.get(f"{RECORD_ROOT}/customer/1001", headers=headers)).status_code == 200
    clock.advance(1)
    expired = await client.get(f"{RECORD_ROOT}/customer/1001", headers=headers)
    assert expired.status_code == 401
    assert expired.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_LOGIN"
    fresh = (await exchange(client, assertion(clock))).json()["access_token"]
    again = await client.get(
        f"{RECORD_ROOT}/customer/1001", headers={"Authorization": f"Bearer {fresh}"}
    )
    assert again.status_code == 200


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"kid": "another-certificate"}, "invalid_grant"),
        ({"iss": "another-client"}, "invalid_grant"),
        ({"aud": BASE + "/services/rest/auth/oauth2/v1/authorize"}, "invalid_grant"),
        ({"scope": "restlets"}, "invalid_scope"),
        ({"scope": "rest_webservices,everything"}, "invalid_scope"),
        ({"scope": None}, "invalid_grant"),
        ({"exp": "iat+3601"}, "invalid_grant"),
        ({"exp": "iat-400"}, "invalid_grant"),
        ({"iat": "now+600"}, "invalid_grant"),
    ],
)
async def test_a_wrong_assertion_is_refused(
    client: httpx.AsyncClient, clock: Clock, change: dict[str, Any], error: str
) -> None:
    now = int(clock.now.timestamp())
    relative = {"iat+3601": now + 3601, "iat-400": now - 400, "now+600": now + 600}
    claims = {k: relative.get(v, v) if isinstance(v, str) else v for k, v in change.items()}
    if claims.get("iat", now) != now:
        claims.setdefault("exp", claims["iat"] + 300)
    response = await exchange(client, assertion(clock, **claims))
    assert response.status_code == 400
    assert response.json()["error"] == error


async def test_a_signature_by_another_key_is_refused(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    stranger = ec.generate_private_key(ec.SECP256R1())
    response = await exchange(client, assertion(clock, key=stranger))
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"client_assertion_type": "urn:other"}, "invalid_request"),
        ({"client_assertion": "not-a-jwt"}, "invalid_request"),
    ],
)
async def test_a_wrong_form_is_refused(
    client: httpx.AsyncClient, clock: Clock, form: dict[str, str], error: str
) -> None:
    response = await exchange(client, assertion(clock), **form)
    assert response.status_code == 400
    assert response.json()["error"] == error


async def test_only_a_form_post_reaches_the_token_endpoint(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    as_json = await client.post(TOKEN_PATH, json={"grant_type": "client_credentials"})
    assert as_json.status_code == 400
    assert (await client.get(TOKEN_PATH)).status_code == 405


async def test_an_rsa_certificate_takes_ps256(clock: Clock) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    sandbox = NetSuiteSandbox(integration=Integration(public_key=public.decode()), clock=clock)
    transport = httpx.ASGITransport(app=create_app(sandbox))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        ok = await exchange(client, assertion(clock, key=key, alg="PS256"))
        assert ok.status_code == 200
        rs256 = await exchange(client, assertion(clock, key=key, alg="RS256"))
        assert rs256.json()["error"] == "invalid_request"  # NetSuite takes PS* and ES* only


async def test_the_fixed_token_still_works_unless_switched_off(clock: Clock) -> None:
    sandbox = NetSuiteSandbox(clock=clock)
    transport = httpx.ASGITransport(app=create_app(sandbox))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        fixed = {"Authorization": f"Bearer {sandbox.access_token}"}
        assert (await client.get(f"{RECORD_ROOT}/customer/1001", headers=fixed)).status_code == 200
