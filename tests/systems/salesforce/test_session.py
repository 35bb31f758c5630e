"""Both OAuth flows against the sandbox's token endpoint: the adapter logs in, survives
its session expiring with exactly one new login, and names a refused login."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from domains.customer.ports import CustomerQuery
from domains.errors import DependencyUnavailable
from sandboxes.salesforce.app import SalesforceSandbox
from sandboxes.salesforce.oauth import INTEGRATION_USER
from systems.salesforce.client import SalesforceAuth
from tests.systems.salesforce.support import wired

FLOWS = ["client_credentials", "jwt_bearer"]


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def org_trusting(key: rsa.RSAPrivateKey) -> SalesforceSandbox:
    org = SalesforceSandbox()
    org.connected_app.trust_certificate(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return org


def auth(flow: str, key: rsa.RSAPrivateKey, **overrides: str) -> SalesforceAuth:
    if flow == "client_credentials":
        fields = {"client_id": "q2c-gateway", "client_secret": "sandbox-secret"}
    else:
        private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode()
        fields = {"client_id": "q2c-gateway", "username": INTEGRATION_USER, "private_key": private}
    return SalesforceAuth(**(fields | overrides))


@pytest.mark.parametrize("flow", FLOWS)
async def test_an_expired_session_costs_one_login_and_no_failed_call(
    flow: str, key: rsa.RSAPrivateKey
) -> None:
    org = org_trusting(key)
    async with wired(org, auth(flow, key)) as sf:
        first = await sf.adapter.list_customers(CustomerQuery(), 0, 5)
        assert first.items
        assert sf.client.session.logins == 1
        assert org.connected_app.expire_sessions() == 1
        again = await sf.adapter.list_customers(CustomerQuery(), 0, 5)
        assert again.items == first.items
        assert sf.client.session.logins == 2
        paths = [r.url.path for r in sf.transport.requests]
        assert paths.count("/services/oauth2/token") == 2


@pytest.mark.parametrize(
    ("flow", "overrides", "reason"),
    [
        ("client_credentials", {"client_secret": "wrong"},
         "invalid_client: invalid client credentials"),
        ("jwt_bearer", {"username": "someone@q2c.sandbox"},
         "invalid_grant: user hasn't approved this consumer"),
    ],
)  # fmt: skip
async def test_a_refused_login_says_why(
    flow: str, overrides: dict[str, str], reason: str, key: rsa.RSAPrivateKey
) -> None:
    async with wired(org_trusting(key), auth(flow, key, **overrides)) as sf:
        with pytest.raises(DependencyUnavailable) as refused:
            await sf.adapter.list_customers(CustomerQuery(), 0, 5)
    assert refused.value.code == "DEPENDENCY_AUTH_FAILED"
    assert reason in refused.value.detail
