"""The embedded default and ``q2c sandbox serve`` reach the simulators only through
gateway/embedded.py; a gateway on real systems never loads them."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from gateway import embedded
from systems.registry import PLUGINS
from tests.support.processes import sandbox

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("kind", sorted(PLUGINS))
async def test_the_simulators_credentials_open_the_probe(kind: str) -> None:
    plugin = PLUGINS[kind]
    started = embedded.start(plugin, kind)
    transport = httpx.ASGITransport(app=started.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        probe = plugin.probe(started.secrets)
        assert _accepted(await client.get(probe.path, headers=dict(probe.headers)))
        if probe.headers:  # the probe is authenticated: a wrong credential is refused
            wrong = plugin.probe(lambda credential: "sk_test_wrong")
            assert not _accepted(await client.get(wrong.path, headers=dict(wrong.headers)))


def _accepted(response: httpx.Response) -> bool:
    if response.status_code != 200:
        return False
    # AvaTax's ping answers 200 either way and says whether the credentials were accepted.
    body = response.json() if "json" in response.headers.get("content-type", "") else None
    return not isinstance(body, dict) or body.get("authenticated", True) is True


def test_a_credential_the_simulator_lacks_stops_the_start_up() -> None:
    started = embedded.start(PLUGINS["stripe"], "billing")
    with pytest.raises(SystemExit, match=r"systems\.billing: the sandbox offers no 'user'"):
        started.secrets("user")


def test_a_gateway_on_real_systems_never_imports_the_simulators() -> None:
    script = textwrap.dedent(
        """
        import os, sys
        import msgspec
        from gateway.app import create_app
        from gateway.settings import Settings
        os.environ.update({"SF": "t", "SAP_U": "u", "SAP_P": "p"})
        toml = b'''
        [systems.crm]
        kind = "salesforce"
        base_url = "https://crm.example"
        access_token_env = "SF"
        [systems.erp]
        kind = "sap_s4hana"
        base_url = "https://erp.example"
        user_env = "SAP_U"
        password_env = "SAP_P"
        [ownership]
        customers = "crm"
        prices = "crm"
        quotes = "crm"
        products = "erp"
        orders = "erp"
        '''
        create_app(msgspec.toml.decode(toml, type=Settings))
        loaded = sorted(m for m in sys.modules if m == "sandboxes" or m.startswith("sandboxes."))
        print(loaded)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_embedded_default_does_load_them() -> None:
    script = (
        "import sys\nfrom gateway.app import create_app\ncreate_app()\n"
        "print(sorted(m for m in sys.modules if m.startswith('sandboxes.')"
        " and m.count('.') == 1))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "'sandboxes.sap_s4hana'" in result.stdout
    assert "'sandboxes.avalara'" in result.stdout


def _banner(output: str) -> dict[str, str]:
    lines = output.splitlines()
    fields = [
        line.split(None, 1) for line in lines[1:] if line.startswith("  ") and "SDK:" not in line
    ]
    return {key: value.strip() for key, value in fields}


@pytest.mark.e2e
def test_sandbox_serve_prints_the_base_url_and_credentials_that_work() -> None:
    server = sandbox("sap-s4hana").start()
    try:
        printed = _banner(server.output())
        assert printed["base_url"] == server.url
        metadata = f"{server.url}/sap/opu/odata/sap/API_PRODUCT_SRV/$metadata"
        good = httpx.get(metadata, auth=(printed["user"], printed["password"]), timeout=10)
        bad = httpx.get(metadata, auth=(printed["user"], "not-it"), timeout=10)
    finally:
        server.stop()
    assert good.status_code == 200
    assert bad.status_code == 401
    assert "pyodata.Client" in server.output()


@pytest.mark.parametrize("name", embedded.standalone_names())
def test_every_simulator_can_be_served_on_its_own(name: str) -> None:
    served = embedded.standalone(name, "http://127.0.0.1:9")
    module, _, factory = served.target.partition(":")
    assert factory == "create_app"
    assert module.startswith("sandboxes.")
    assert served.banner.startswith(f"{name} sandbox on http://127.0.0.1:9 (")
    assert "base_url" in _banner(served.banner)
    assert len(_banner(served.banner)) >= 2  # the base URL and at least one credential
