"""The Salesforce plugin's settings: each OAuth flow names what it still needs, at
start-up, before the first call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import msgspec
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.settings import env_secrets, load_settings
from systems.salesforce.plugin import PLUGIN, SalesforceSettings
from systems.salesforce.session import SalesforceAuth
from systems.transport import HttpxTransport
from systems.upstream import Upstream

MY_DOMAIN = "https://acme.my.salesforce.com"


def settings(**fields: str) -> SalesforceSettings:
    return msgspec.convert({"kind": "salesforce", "base_url": MY_DOMAIN, **fields},
                           type=SalesforceSettings)  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "missing"),
    [
        ({}, "set client_id_env and client_secret_env (auth_flow client_credentials)"),
        ({"auth_flow": "jwt_bearer", "client_id_env": "SF_KEY"},
         "set username_env and private_key_env (auth_flow jwt_bearer)"),
        ({"auth_flow": "jwt_bearer", "client_id_env": "K", "username_env": "U"},
         "set private_key_env (auth_flow jwt_bearer)"),
        ({"auth_flow": "access_token"}, "set access_token_env (auth_flow access_token)"),
    ],
)  # fmt: skip
def test_each_flow_names_the_fields_it_lacks(fields: dict[str, str], missing: str) -> None:
    assert settings(**fields).missing_credentials() == missing


def test_complete_flows_lack_nothing() -> None:
    assert settings(access_token_env="T").missing_credentials() is None
    assert settings(client_id_env="K", client_secret_env="S").missing_credentials() is None
    jwt_bearer = settings(
        auth_flow="jwt_bearer", client_id_env="K", username_env="U", private_key_env="P"
    )
    assert jwt_bearer.missing_credentials() is None


def test_the_start_up_stops_naming_the_missing_field(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(
        f'[systems.crm]\nkind = "salesforce"\nbase_url = "{MY_DOMAIN}"\n'
        'auth_flow = "jwt_bearer"\nclient_id_env = "SF_KEY"\nusername_env = "SF_USER"\n'
        '[systems.erp]\nkind = "sap_s4hana"\nsandbox = true\n'
        '[ownership]\ncustomers = "crm"\nprices = "crm"\nquotes = "crm"\n'
        'products = "erp"\norders = "erp"\n',
        encoding="utf-8",
    )
    with pytest.raises(SystemExit, match=r"systems\.crm: set private_key_env"):
        load_settings(path)


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    async with httpx.AsyncClient() as http:
        yield Upstream(
            system="crm",
            transport=HttpxTransport(http),
            base_url=MY_DOMAIN,
            config=SalesforceSettings().upstream,
            translate=PLUGIN.translate,
        )


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


async def test_a_jwt_flow_is_built_from_the_environment(
    upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for name, value in (("SF_KEY", "3MVG9"), ("SF_USER", "int@acme.example"), ("SF_PEM", pem(key))):
        monkeypatch.setenv(name, value)
    configured = settings(
        auth_flow="jwt_bearer", client_id_env="SF_KEY", username_env="SF_USER",
        private_key_env="SF_PEM", jwt_audience="https://test.salesforce.com",
    )  # fmt: skip
    adapter = PLUGIN.build(configured, upstream, env_secrets("crm", configured))
    assert adapter.system == "salesforce"
    monkeypatch.delenv("SF_PEM")
    with pytest.raises(SystemExit, match=r"systems\.crm\.private_key_env: .*SF_PEM"):
        PLUGIN.build(configured, upstream, env_secrets("crm", configured))


def test_a_key_salesforce_cannot_verify_stops_the_start_up() -> None:
    base = {"client_id": "3MVG9", "username": "int@acme.example"}
    with pytest.raises(ValueError, match="not an unencrypted PEM key"):
        SalesforceAuth(**base, private_key="-----BEGIN PRIVATE KEY-----\nnope\n")
    with pytest.raises(ValueError, match="must be an RSA key"):
        SalesforceAuth(**base, private_key=pem(ec.generate_private_key(ec.SECP256R1())))
    with pytest.raises(ValueError, match="needs username"):
        SalesforceAuth(client_id="3MVG9", private_key="x")
    with pytest.raises(ValueError, match="exactly one of"):
        SalesforceAuth(access_token="t", client_id="k", client_secret="s")
