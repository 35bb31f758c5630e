"""The sandbox's token endpoint: the JWT bearer flow next to client credentials, with
Salesforce's answers and failures, and sessions that can be made to expire."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from sandboxes.salesforce import SIMULATOR
from sandboxes.salesforce.app import API_VERSION, SalesforceSandbox, create_app
from sandboxes.salesforce.oauth import INTEGRATION_USER, JWT_BEARER

V = f"/services/data/v{API_VERSION}"
BASE = "http://sf.sandbox"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def certificate(key: rsa.RSAPrivateKey) -> bytes:
    """A self-signed certificate, as uploaded to a connected app."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "q2c-gateway")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def sandbox(key: rsa.RSAPrivateKey) -> SalesforceSandbox:
    org = SalesforceSandbox(seed=False)
    org.connected_app.trust_certificate(certificate(key))
    return org


@pytest.fixture
async def client(sandbox: SalesforceSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(sandbox)), base_url=BASE
    ) as http:
        yield http


def assertion(key: Any, alg: str = "RS256", **overrides: Any) -> str:
    claims = {
        "iss": "q2c-gateway",
        "sub": INTEGRATION_USER,
        "aud": "https://login.salesforce.com",
        "exp": int(time.time()) + 180,
    } | overrides
    return jwt.encode(claims, key, algorithm=alg)


async def exchange(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(
        "/services/oauth2/token", data={"grant_type": JWT_BEARER, "assertion": token}
    )


async def test_a_signed_assertion_gets_a_session(
    client: httpx.AsyncClient, key: rsa.RSAPrivateKey
) -> None:
    response = await exchange(client, assertion(key, aud="https://test.salesforce.com"))
    assert response.status_code == 200, response.text
    body = response.json()
    # The JWT bearer answer: no refresh token, no signature/issued_at.
    assert body.keys() == {"access_token", "scope", "instance_url", "id", "token_type"}
    assert body["token_type"] == "Bearer"
    assert body["instance_url"] == BASE
    assert body["id"].startswith(f"{BASE}/id/00D")
    data = await client.get(
        f"{V}/limits", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert data.status_code == 200


def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize(
    ("make", "error", "description"),
    [
        (lambda k: assertion(other_key()), "invalid_grant", "invalid assertion"),
        (lambda k: "not.a.jwt", "invalid_grant", "invalid assertion"),
        (lambda k: assertion(ec.generate_private_key(ec.SECP256R1()), alg="ES256"),
         "invalid_grant", "invalid assertion"),
        (lambda k: assertion(k, iss="someone-else"), "invalid_client_id",
         "client identifier invalid"),
        (lambda k: assertion(k, aud="https://acme.my.salesforce.com"), "invalid_grant",
         "audience is invalid"),
        (lambda k: assertion(k, exp=int(time.time()) - 600), "invalid_grant",
         "expired authorization code"),
        (lambda k: assertion(k, sub="intruder@q2c.sandbox"), "invalid_grant",
         "user hasn't approved this consumer"),
    ],
)  # fmt: skip
async def test_a_bad_assertion_is_refused_like_salesforce(
    client: httpx.AsyncClient, key: rsa.RSAPrivateKey, make: Any, error: str, description: str
) -> None:
    response = await exchange(client, make(key))
    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


async def test_exp_may_be_a_string_as_in_salesforces_own_example(
    client: httpx.AsyncClient, key: rsa.RSAPrivateKey
) -> None:
    response = await exchange(client, assertion(key, exp=str(int(time.time()) + 120)))
    assert response.status_code == 200, response.text


async def test_an_assertion_inside_the_clock_skew_is_accepted(
    client: httpx.AsyncClient, key: rsa.RSAPrivateKey
) -> None:
    response = await exchange(client, assertion(key, exp=int(time.time()) - 60))
    assert response.status_code == 200


async def test_certificates_are_uploaded_through_the_admin_endpoint(
    key: rsa.RSAPrivateKey,
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(SalesforceSandbox(seed=False))),
        base_url=BASE,
    ) as fresh:
        assert (await exchange(fresh, assertion(key))).status_code == 400
        bad = await fresh.post("/sandbox/admin/connected-app/certificates", content=b"nope")
        assert bad.status_code == 400
        assert bad.json()[0]["errorCode"] == "INVALID_CERTIFICATE"
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        uploaded = await fresh.post("/sandbox/admin/connected-app/certificates", content=public)
        assert uploaded.status_code == 204
        assert (await exchange(fresh, assertion(key))).status_code == 200


async def test_expired_sessions_answer_invalid_session_id(
    client: httpx.AsyncClient, key: rsa.RSAPrivateKey
) -> None:
    credentials = await client.post(
        "/services/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": "q2c-gateway",
              "client_secret": "sandbox-secret"},
    )  # fmt: skip
    jwt_session = (await exchange(client, assertion(key))).json()["access_token"]
    tokens = [credentials.json()["access_token"], jwt_session]
    for token in tokens:
        ok = await client.get(f"{V}/limits", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200
    expired = await client.post("/sandbox/admin/sessions/expire")
    assert expired.json() == {"expired": 2}
    for token in tokens:
        gone = await client.get(f"{V}/limits", headers={"Authorization": f"Bearer {token}"})
        assert gone.status_code == 401
        assert gone.json() == [
            {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
        ]


def test_the_printed_credentials_cover_both_flows() -> None:
    org = SIMULATOR.new_state()
    printed = dict(SIMULATOR.credentials(org).items())
    assert printed["client_id"] == org.connected_app.client_id
    assert printed["client_secret"] == org.connected_app.client_secret
    assert printed["username"] == INTEGRATION_USER
    assert printed["access_token"].startswith("00D")
