"""Two real gateway processes sharing one database and issuer key: a code issued by one
is redeemed at the other exactly once, and a console signs in at the other gateway's
built-in issuer as at any external provider, over HTTP (discovery, token endpoint,
JWKS)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from policies.auth.passwords import hash_password
from tests.console.support import sign_in_form, sign_in_http
from tests.console.test_provider import _challenge
from tests.support.processes import Q2C, ServerProcess, running
from tests.support.servers import free_port

pytestmark = [pytest.mark.e2e]
APP_CALLBACK = "http://127.0.0.1:9/callback"  # nothing listens: the code is read off the redirect


def _config(path: Path, home: Path, users: str, console: str) -> Path:
    systems = "".join(
        f'[systems.{name}]\nkind = "{name}"\nsandbox = true\n\n'
        for name in ("salesforce", "sap_s4hana", "netsuite", "stripe", "avalara")
    )
    path.write_text(f"""{systems}
[flow]
enabled = false

{console}

[auth.builtin_issuer]
key_file = "{home / "issuer-key.pem"}"
{users}
""", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def gateways(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """Gateway A (the provider) and gateway B (whose console signs in at A)."""
    home = tmp_path_factory.mktemp("two-gateways")
    port_a, port_b = free_port(), free_port()
    users = f"""
[[auth.builtin_issuer.users]]
username = "pat"
password_hash = "{hash_password("pat-secret")}"
name = "Pat Example"
tenant = "acme"
teams = ["billing"]
role = "operator"

[[auth.builtin_issuer.relying_parties]]
client_id = "app"
redirect_uris = ["{APP_CALLBACK}"]

[[auth.builtin_issuer.relying_parties]]
client_id = "b-console"
redirect_uris = ["http://127.0.0.1:{port_b}/console/callback"]
"""
    a = _config(home / "a.toml", home, users, "")
    b = _config(home / "b.toml", home, users,
                f'[console]\nissuer = "http://127.0.0.1:{port_a}"\nclient_id = "b-console"\n')
    env = {"Q2C_HOME": str(home)}  # one SQLite database for both
    servers = (ServerProcess([Q2C, "serve", "--config", str(a), "--port", str(port_a)],
                             port_a, env),
               ServerProcess([Q2C, "serve", "--config", str(b), "--port", str(port_b)],
                             port_b, env))
    with running(*servers):
        yield servers[0].url, servers[1].url


def test_a_code_from_one_gateway_is_redeemed_at_the_other_once(
    gateways: tuple[str, str],
) -> None:
    a, b = gateways
    verifier = secrets.token_urlsafe(48)
    request = {"response_type": "code", "client_id": "app", "redirect_uri": APP_CALLBACK,
               "scope": "openid", "state": "st", "nonce": "nn",
               "code_challenge": _challenge(verifier), "code_challenge_method": "S256"}
    with httpx.Client(timeout=10) as client:
        form = client.get(f"{a}/oauth/authorize", params=request)
        answer = client.post(f"{a}/oauth/authorize",
                             data=sign_in_form(form.text, "pat", "pat-secret"))
        assert answer.status_code == 303, answer.text
        code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
        redeem = {"grant_type": "authorization_code", "code": code, "client_id": "app",
                  "redirect_uri": APP_CALLBACK, "code_verifier": verifier}

        first = client.post(f"{b}/oauth/token", data=redeem)
        assert first.status_code == 200, first.text
        assert first.json()["id_token"]
        for gateway in (a, b):
            again = client.post(f"{gateway}/oauth/token", data=redeem)
            assert again.status_code == 400
            assert again.json()["error"] == "invalid_grant"


def test_a_console_signs_in_at_another_gateways_issuer_over_http(
    gateways: tuple[str, str],
) -> None:
    a, b = gateways
    meta = httpx.get(f"{a}/.well-known/openid-configuration", timeout=10).json()
    assert meta["issuer"] == a
    with httpx.Client(timeout=10) as client:
        start = client.get(f"{b}/console/login")
        assert start.status_code == 303
        assert start.headers["location"].startswith(f"{a}/oauth/authorize?")
        assert "client_id=b-console" in start.headers["location"]

        sign_in_http(client, b, "pat", "pat-secret")

        page = client.get(f"{b}/console")
        assert page.status_code == 200
        assert "Signed in as Pat Example (operator, tenant acme)" in page.text
        # A's console signs people in at A too, and shares B's database and key: one
        # session holds on both, as on the processes behind one load balancer.
        assert client.get(f"{a}/console").status_code == 200
