"""NetSuite plugin settings: machine-to-machine credentials by default, a fixed token for
compatibility, and start-up that stops on a missing or unusable credential, naming it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import msgspec
import pytest

from gateway.settings import env_secrets
from sandboxes.netsuite.oauth import DEMO_PRIVATE_KEY
from systems.netsuite.auth import MachineTokens
from systems.netsuite.client import NetSuiteAuth
from systems.netsuite.errors import translate
from systems.netsuite.plugin import NetSuiteSettings, probe, tokens_for
from systems.transport import HttpxTransport
from systems.upstream import Upstream

PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    + "\n".join(DEMO_PRIVATE_KEY[i : i + 64] for i in range(0, len(DEMO_PRIVATE_KEY), 64))
    + "\n-----END PRIVATE KEY-----\n"
)


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    async with httpx.AsyncClient() as http:
        yield Upstream(
            system="erp_uk",
            transport=HttpxTransport(http),
            base_url="https://1234567.suitetalk.api.netsuite.com",
            config=NetSuiteSettings().upstream,
            translate=translate,
        )


def settings(**fields: object) -> NetSuiteSettings:
    return msgspec.convert(
        {"kind": "netsuite", "base_url": "https://1234567.suitetalk.api.netsuite.com", **fields},
        type=NetSuiteSettings,
    )


def test_machine_to_machine_needs_client_id_certificate_id_and_a_key() -> None:
    assert settings().missing_credentials() == (
        "set client_id_env and certificate_id_env and private_key_env or private_key_file "
        "(or access_token_env for a fixed token)"
    )
    partial = settings(client_id_env="NS_CLIENT", private_key_file="/keys/ns.pem")
    assert partial.missing_credentials() == "set certificate_id_env"
    complete = settings(
        client_id_env="NS_CLIENT", certificate_id_env="NS_CERT", private_key_env="NS_KEY"
    )
    assert complete.missing_credentials() is None
    assert settings(access_token_env="NS_TOKEN").missing_credentials() is None
    with pytest.raises(msgspec.ValidationError, match="not both"):
        settings(private_key_env="A", private_key_file="/b")
    with pytest.raises(msgspec.ValidationError, match="rest_webservices"):
        settings(scopes=["restlets"])


async def test_machine_to_machine_tokens_from_env_and_from_a_key_file(
    upstream: Upstream, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NS_CLIENT", "client-1")
    monkeypatch.setenv("NS_CERT", "cert-1")
    monkeypatch.setenv("NS_KEY", DEMO_PRIVATE_KEY)
    from_env = settings(
        client_id_env="NS_CLIENT", certificate_id_env="NS_CERT", private_key_env="NS_KEY"
    )
    assert isinstance(
        tokens_for(from_env, upstream, env_secrets("erp_uk", from_env)), MachineTokens
    )
    key_file = tmp_path / "netsuite.pem"
    key_file.write_text(PEM)
    from_file = settings(
        client_id_env="NS_CLIENT", certificate_id_env="NS_CERT", private_key_file=str(key_file)
    )
    source = tokens_for(from_file, upstream, env_secrets("erp_uk", from_file))
    assert isinstance(source, MachineTokens)
    assert source.assertion().count(".") == 2


async def test_the_fixed_token_stays_for_compatibility(
    upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NS_TOKEN", "fixed-token")
    fixed = settings(access_token_env="NS_TOKEN")
    source = tokens_for(fixed, upstream, env_secrets("erp_uk", fixed))
    assert source == NetSuiteAuth(access_token="fixed-token")
    assert probe(env_secrets("erp_uk", fixed)).headers == {"Authorization": "Bearer fixed-token"}


async def test_start_up_stops_naming_the_missing_or_broken_credential(
    upstream: Upstream, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    m2m = settings(
        client_id_env="NS_CLIENT", certificate_id_env="NS_CERT", private_key_env="NS_KEY"
    )
    monkeypatch.setenv("NS_KEY", DEMO_PRIVATE_KEY)
    monkeypatch.setenv("NS_CERT", "cert-1")
    with pytest.raises(SystemExit, match=r"systems\.erp_uk\.client_id_env"):
        tokens_for(m2m, upstream, env_secrets("erp_uk", m2m))
    monkeypatch.setenv("NS_CLIENT", "client-1")
    monkeypatch.setenv("NS_KEY", "not-a-key")
    with pytest.raises(SystemExit, match="private_key_env: not an unencrypted PEM"):
        tokens_for(m2m, upstream, env_secrets("erp_uk", m2m))
    missing = settings(
        client_id_env="NS_CLIENT",
        certificate_id_env="NS_CERT",
        private_key_file=str(tmp_path / "absent.pem"),
    )
    with pytest.raises(SystemExit, match=r"private_key_file .*absent\.pem: cannot read"):
        tokens_for(missing, upstream, env_secrets("erp_uk", missing))
    # Without a fixed token the probe cannot authenticate: NetSuite's 401 shows it answers.
    assert probe(env_secrets("erp_uk", m2m)).headers == {}
