"""Every vendor plugin: registered once by kind, built from environment credentials,
registered under the ports it declares."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import get_args

import httpx
import msgspec
import pytest

from gateway.settings import env_secrets
from sandboxes.netsuite.oauth import DEMO_PRIVATE_KEY
from systems.plugin import SystemSettings
from systems.ports import SystemAdapters
from systems.registry import PLUGINS, AnySystemSettings, plugin_for
from systems.transport import HttpxTransport
from systems.upstream import Upstream

KINDS = sorted(PLUGINS)
SECRET = "sk_test_value_from_the_environment"  # Stripe only takes sk_/rk_ keys
# Credentials whose value must have a shape (a key is parsed at start-up).
SHAPED = {("netsuite", "private_key_env"): DEMO_PRIVATE_KEY}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def _env_fields(settings: type[SystemSettings]) -> list[str]:
    return [name for name in settings.__struct_fields__ if name.endswith("_env")]


def _real(kind: str, monkeypatch: pytest.MonkeyPatch) -> SystemSettings:
    """Settings for a real system of ``kind`` with every credential variable set."""
    plugin = PLUGINS[kind]
    fields = {name: f"Q2C_PLUGIN_TEST_{name.upper()}" for name in _env_fields(plugin.settings)}
    for name, variable in fields.items():
        monkeypatch.setenv(variable, SHAPED.get((kind, name), SECRET))
    return msgspec.convert(
        {"kind": kind, "base_url": "https://sor.example", **fields}, type=AnySystemSettings
    )


def test_the_settings_union_is_exactly_the_registered_plugins() -> None:
    assert set(get_args(AnySystemSettings)) == {plugin.settings for plugin in PLUGINS.values()}
    assert KINDS == ["avalara", "netsuite", "salesforce", "sap_s4hana", "stripe"]


@pytest.mark.parametrize("kind", KINDS)
def test_the_kind_in_the_file_selects_the_plugin(kind: str) -> None:
    settings = msgspec.toml.decode(
        f'kind = "{kind}"\nsandbox = true'.encode(), type=AnySystemSettings
    )
    assert plugin_for(settings) is PLUGINS[kind]
    assert PLUGINS[kind].owns


def test_an_unregistered_settings_type_has_no_plugin() -> None:
    class Mainframe(SystemSettings, frozen=True, tag="mainframe"):
        base_url: str = "tn3270://mainframe"

    with pytest.raises(ValueError, match=r"^kind: Mainframe is not a registered system"):
        plugin_for(Mainframe())


@pytest.mark.parametrize("kind", KINDS)
async def test_a_real_system_is_built_from_environment_credentials(
    kind: str, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    plugin = PLUGINS[kind]
    settings = _real(kind, monkeypatch)
    assert settings.missing_credentials() is None
    secrets = env_secrets("sor", settings)
    upstream = Upstream(
        system="sor",
        transport=HttpxTransport(http),
        base_url=settings.base_url,
        config=settings.upstream,
        translate=plugin.translate,
    )
    adapter = plugin.build(settings, upstream, secrets)
    adapters = SystemAdapters()
    for port in plugin.ports:
        port.register(adapters, "sor", adapter)
    slots = {"crm": adapters.crm, "catalog": adapters.catalogs, "erp": adapters.erps,
             "billing": adapters.billing, "tax": adapters.tax}  # fmt: skip
    for role, registered in slots.items():
        expected = role in {port.name for port in plugin.ports}
        assert (registered.get("sor") is adapter) is expected, role
    # The probe authenticates with the same credentials, where the vendor needs any.
    probe = plugin.probe(secrets)
    assert probe.path.startswith("/")
    authorization = probe.headers.get("Authorization", "")
    if authorization.startswith("Basic "):
        assert base64.b64decode(authorization[6:]).decode() == f"{SECRET}:{SECRET}"
    elif authorization:
        assert authorization == f"Bearer {SECRET}"


@pytest.mark.parametrize("kind", KINDS)
def test_each_credential_field_is_required_of_a_real_system(kind: str) -> None:
    plugin = PLUGINS[kind]
    fields = _env_fields(plugin.settings)
    assert fields, f"{kind} reads no credentials"
    bare = plugin.settings(base_url="https://sor.example")
    assert bare.missing_credentials() is not None
    assert plugin.settings(base_url="https://sor.example", sandbox=True).sandbox


async def test_an_unset_variable_stops_the_start_up_naming_the_field(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _real("sap_s4hana", monkeypatch)
    monkeypatch.delenv("Q2C_PLUGIN_TEST_PASSWORD_ENV")
    plugin = plugin_for(settings)
    upstream = Upstream(
        system="erp",
        transport=HttpxTransport(http),
        base_url=settings.base_url,
        config=settings.upstream,
        translate=plugin.translate,
    )
    with pytest.raises(
        SystemExit, match=r"systems\.erp\.password_env: .*Q2C_PLUGIN_TEST_PASSWORD_ENV"
    ):
        plugin.build(settings, upstream, env_secrets("erp", settings))
