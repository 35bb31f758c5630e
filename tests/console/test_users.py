"""Who a console user is: from an ID token's claims to what they may see and do."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.console.auth import ConsoleUser
from gateway.console.config import ConsoleConfig
from gateway.console.oidc import SignInFailed, user_from_claims
from gateway.console.signin import LOGIN_COOKIE
from gateway.settings import ServerSettings
from gateway.wiring import _console_key
from tests.console.conftest import Console
from tests.support.settings import gateway_settings


def _user(role: str, teams: tuple[str, ...] = ("pricing-ops",)) -> ConsoleUser:
    return ConsoleUser(subject="u", name="U", tenant="sandbox", teams=teams,
                       role=role)  # type: ignore[arg-type]


def test_operators_and_admins_act_viewers_look() -> None:
    assert _user("operator").can_act
    assert _user("admin").can_act
    assert not _user("viewer").can_act


def test_admins_see_every_team_others_their_own() -> None:
    assert _user("operator").sees_team("pricing-ops")
    assert not _user("operator").sees_team("credit-control")
    assert not _user("viewer", ()).sees_team("pricing-ops")
    assert _user("admin", ()).sees_team("credit-control")


def _claims(**overrides: Any) -> dict[str, Any]:
    return {"sub": "kc-42", "name": "Kim", "tenant": "acme", "teams": ["billing"],
            "role": "operator", **overrides}


def test_claims_become_a_user() -> None:
    user = user_from_claims(_claims(), ConsoleConfig())
    assert user == ConsoleUser(subject="kc-42", name="Kim", tenant="acme", teams=("billing",),
                               role="operator")


def test_an_external_providers_claims_are_mapped_by_configuration() -> None:
    config = ConsoleConfig(tenant_claim="org", teams_claim="groups", role_claim="roles",
                           role_map={"q2c-ops": "operator", "q2c-admins": "admin",
                                     "staff": "viewer"})
    claims = {"sub": "x", "preferred_username": "kim", "org": "acme",
              "groups": "billing,credit-control", "roles": ["staff", "q2c-ops"]}
    user = user_from_claims(claims, config)
    assert (user.name, user.tenant, user.teams, user.role) == (
        "kim", "acme", ("billing", "credit-control"), "operator")  # the strongest role


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [({"tenant": None}, "no tenant claim"), ({"tenant": "a b"}, "not a valid tenant"),
     ({"role": "superuser"}, "no console role"), ({"role": None}, "no console role"),
     ({"teams": [1, 2]}, "teams claim")],
)
def test_claims_that_describe_nobody_the_console_serves_are_refused(
    overrides: dict[str, Any], reason: str
) -> None:
    claims = {k: v for k, v in _claims(**overrides).items() if v is not None}
    with pytest.raises(SignInFailed, match=reason):
        user_from_claims(claims, ConsoleConfig())


async def test_cookies_are_secure_on_any_host_but_this_machine(console: Console) -> None:
    async with httpx.AsyncClient(transport=console.client._transport,
                                 base_url="http://gateway.example") as remote:
        answer = await remote.get("/console/login")
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(LOGIN_COOKIE + "=")
    assert "Secure" in cookie
    assert "HttpOnly" in cookie


def test_a_configured_session_key_is_used_and_must_be_long(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = gateway_settings(console=ConsoleConfig(session_secret_env="Q2C_TEST_KEY"))
    monkeypatch.setenv("Q2C_TEST_KEY", "k" * 40)
    assert _console_key(settings, None)() == b"k" * 40
    monkeypatch.setenv("Q2C_TEST_KEY", "short")
    with pytest.raises(SystemExit, match="at least 32"):
        _console_key(settings, None)()


def test_a_wildcard_listen_address_is_reached_on_the_loopback() -> None:
    assert ServerSettings(host="0.0.0.0", port=9000).origin() == "http://127.0.0.1:9000"
    assert ServerSettings(public_url="https://q2c.example.com/").origin() == (
        "https://q2c.example.com")
