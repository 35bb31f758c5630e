"""Configuration of sign-in and the console fails at start-up, naming the field."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from gateway.console.config import ConsoleConfig, callback_urls
from gateway.settings import Settings, load_settings
from policies.auth import hash_secret
from policies.auth.config import (
    DEMO_USERS,
    BuiltinIssuerConfig,
    IssuerUser,
    RelyingParty,
    sandbox_auth_config,
)
from policies.auth.passwords import check_password_hash, hash_password, verify_password

HASH = DEMO_USERS[0].password_hash


def _user(**overrides: object) -> dict[str, object]:
    return {"username": "pat", "password_hash": HASH, "name": "Pat", "tenant": "acme",
            "teams": ["billing"], "role": "operator", **overrides}


def _load(tmp_path: Path, toml: str) -> Settings:
    path = tmp_path / "gateway.toml"
    path.write_text(toml, encoding="utf-8")
    return load_settings(path)


def test_the_demo_users_sign_in_with_their_documented_passwords() -> None:
    users = {user.username: user for user in sandbox_auth_config().builtin_issuer.users}
    for username, password in (("priya", "pricing-demo"), ("carl", "credit-demo"),
                               ("vera", "viewer-demo"), ("ada", "admin-demo")):
        assert verify_password(users[username].password_hash, password)
        assert not verify_password(users[username].password_hash, password + "x")
    assert users["vera"].teams == ("pricing-ops", "credit-control")
    assert (users["ada"].role, users["ada"].teams) == ("admin", ())


def test_a_password_hash_that_is_not_argon2id_names_the_user_and_field() -> None:
    for bad in ("plain-text", hash_secret("x"),
                "$argon2i$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"):
        with pytest.raises(msgspec.ValidationError,
                           match=r"users\[pat\]\.password_hash"):
            msgspec.convert(_user(password_hash=bad), IssuerUser)


def test_weak_argon2_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="below OWASP"):
        check_password_hash("$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHQ$"
                            "RdescudvJCsgt3ub+b+dWRWJTmaaJObG")


def test_hash_password_makes_what_configuration_accepts() -> None:
    phc = hash_password("correct horse")
    check_password_hash(phc)
    assert verify_password(phc, "correct horse")


def test_users_in_toml_are_checked_field_by_field(tmp_path: Path) -> None:
    user = f'''
[[auth.builtin_issuer.users]]
username = "pat"
password_hash = "{HASH}"
name = "Pat"
tenant = "acme"
teams = ["billing"]
role = "operator"
'''
    settings = _load(tmp_path, user)
    assert settings.auth.builtin_issuer.users[0].teams == ("billing",)
    with pytest.raises(SystemExit, match=r"users\[0\]\.tenant"):
        _load(tmp_path, user.replace('tenant = "acme"', 'tenant = "a/b"'))
    with pytest.raises(SystemExit, match=r"users\[0\]\.teams"):
        _load(tmp_path, user.replace('["billing"]', '["Billing Ops"]'))
    with pytest.raises(SystemExit, match="appears more than once"):
        _load(tmp_path, user + user)
    with pytest.raises(SystemExit, match=r"users\[0\].*role|role.*users\[0\]"):
        _load(tmp_path, user.replace('role = "operator"\n', ""))


@pytest.mark.parametrize(
    ("uri", "problem"),
    [("http://app.example/cb", "must use https"), ("/console/callback", "absolute"),
     ("https://app.example/cb#x", "fragment")],
)
def test_a_relying_partys_redirect_uri_is_checked(uri: str, problem: str) -> None:
    with pytest.raises(msgspec.ValidationError,
                       match=rf"relying_parties\[app\]\.redirect_uris.*{problem}"):
        msgspec.convert({"client_id": "app", "redirect_uris": [uri]}, RelyingParty)


def test_a_relying_party_may_not_reuse_a_client_id() -> None:
    with pytest.raises(ValueError, match="relying_parties: client_id 'sandbox-client'"):
        BuiltinIssuerConfig(sandbox_client=True, relying_parties=(
            RelyingParty(client_id="sandbox-client", redirect_uris=("https://a.example/cb",)),))


@pytest.mark.parametrize(
    ("console", "field"),
    [
        ({"issuer": "http://idp.example"}, "console.issuer must use https"),
        ({"issuer": "idp.example"}, "console.issuer must be an absolute"),
        ({"scopes": ["profile"]}, "console.scopes must include openid"),
        ({"idle_timeout_seconds": 7200, "absolute_timeout_seconds": 3600},
         "console.absolute_timeout_seconds"),
        ({"record_urls": {"sap_s4hana": "https://sap.example/order"}},
         "console.record_urls.sap_s4hana must contain {id}"),
        ({"role_map": {"ops": "superuser"}}, "role_map"),
        ({"id_token_algorithms": ["HS256"]}, "id_token_algorithms"),
        ({"idle_timeout_seconds": 5}, "idle_timeout_seconds"),
    ],
)
def test_console_settings_name_the_bad_field(console: dict[str, object], field: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=field):
        msgspec.convert(console, ConsoleConfig)


def test_record_urls_name_configured_systems(tmp_path: Path) -> None:
    good = _load(tmp_path, '[console.record_urls]\nsap_s4hana = '
                           '"https://sap.example/ui#SalesOrder-display?SalesOrder={id}"\n')
    assert "{id}" in good.console.record_urls["sap_s4hana"]
    with pytest.raises(SystemExit, match=r"console\.record_urls\.oracle: there is no system"):
        _load(tmp_path, '[console.record_urls]\noracle = "https://o.example/{id}"\n')


def test_the_role_map_replaces_the_identity_mapping() -> None:
    assert ConsoleConfig().role_for("operator") == "operator"
    assert ConsoleConfig().role_for("root") is None
    mapped = ConsoleConfig(role_map={"q2c-admins": "admin"})
    assert mapped.role_for("q2c-admins") == "admin"
    assert mapped.role_for("admin") is None


def test_a_loopback_gateway_accepts_its_callback_on_either_name() -> None:
    assert callback_urls("http://127.0.0.1:8080") == (
        "http://127.0.0.1:8080/console/callback", "http://localhost:8080/console/callback")
    assert callback_urls("https://q2c.example.com/") == (
        "https://q2c.example.com/console/callback",)


def test_the_issuer_key_lives_in_the_gateway_home(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    monkeypatch.setenv("Q2C_HOME", str(tmp_path))
    assert BuiltinIssuerConfig().key_path() == tmp_path / "issuer-key.pem"
    assert BuiltinIssuerConfig(key_file="k.pem").key_path() == Path("k.pem")
    monkeypatch.delenv("Q2C_HOME")
    assert BuiltinIssuerConfig().key_path() == Path(".q2c/issuer-key.pem")


def test_q2c_auth_hash_password_prints_what_a_user_entry_takes() -> None:
    import subprocess

    from tests.support.processes import Q2C

    done = subprocess.run([Q2C, "auth", "hash-password"], input="tr0ub4dor&3\n",
                          capture_output=True, text=True, check=True, timeout=30)
    phc = done.stdout.strip()
    check_password_hash(phc)
    assert verify_password(phc, "tr0ub4dor&3")
    empty = subprocess.run([Q2C, "auth", "hash-password"], input="\n",
                           capture_output=True, text=True, check=False, timeout=30)
    assert empty.returncode == 2
    assert "1 to 1024 bytes" in empty.stderr
