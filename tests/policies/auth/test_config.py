"""AuthConfig validation: every rule fails at start-up with a message naming the field."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from policies.auth import AuthConfig, hash_secret, sandbox_auth_config
from policies.auth.client_secrets import verify_secret
from policies.auth.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_SECRET_HASH
from tests.policies.auth.conftest import SigningKey

OCT_KEY = {"kty": "oct", "kid": "shared", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}
NO_BUILTIN = {"enabled": False}


def load(**fields: Any) -> AuthConfig:
    return msgspec.convert(fields, AuthConfig)


def rejected(fields: dict[str, Any]) -> str:
    with pytest.raises(msgspec.ValidationError) as info:
        load(**fields)
    return str(info.value)


def pem(key: SigningKey) -> str:
    encoded: bytes = key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return encoded.decode()


def test_defaults_are_valid_and_use_the_builtin_issuer() -> None:
    config = AuthConfig()
    assert config.algorithms == ("RS256", "ES256", "EdDSA")
    assert config.leeway_seconds == 30
    assert config.jwks_refetch_interval_seconds == 60
    assert config.builtin_issuer.enabled
    assert config.builtin_issuer.token_ttl_seconds == 3600
    assert config.builtin_issuer.all_clients() == ()


def test_sandbox_config_has_the_documented_client() -> None:
    clients = sandbox_auth_config().builtin_issuer.all_clients()
    assert [c.client_id for c in clients] == [SANDBOX_CLIENT_ID]
    assert clients[0].tenant == "sandbox"
    assert verify_secret(SANDBOX_CLIENT_SECRET, SANDBOX_SECRET_HASH)


@pytest.mark.parametrize(
    ("fields", "names"),
    [
        ({"builtin_issuer": NO_BUILTIN}, "key source"),
        ({"algorithms": []}, "auth.algorithms"),
        ({"algorithms": ["none"]}, "auth.algorithms"),
        ({"algorithms": ["RS256", "None"]}, "auth.algorithms"),
        ({"algorithms": ["XS256"]}, "auth.algorithms"),
        ({"algorithms": ["HS256"], "builtin_issuer": NO_BUILTIN}, "auth.algorithms"),
        ({"algorithms": ["HS256", "RS256"], "static_keys": [OCT_KEY]}, "auth.algorithms"),
        (
            {
                "algorithms": ["HS256"],
                "static_keys": [OCT_KEY],
                "builtin_issuer": NO_BUILTIN,
                "jwks_url": "https://idp.test/jwks",
            },
            "auth.jwks_url",
        ),
        ({"issuer": " "}, "auth.issuer"),
        ({"audience": ""}, "auth.audience"),
        ({"algorithms": ["ES256"]}, "auth.builtin_issuer.algorithm"),
        ({"jwks_url": "http://idp.example.com/jwks"}, "auth.jwks_url"),
        ({"jwks_url": "ftp://idp.example.com/jwks"}, "auth.jwks_url"),
        ({"jwks_url": "/relative"}, "auth.jwks_url"),
        ({"static_keys": ["not a pem"]}, "auth.static_keys[0]"),
        ({"static_keys": [{"kty": "RSA", "n": "AQAB"}]}, "auth.static_keys[0]"),
        ({"static_keys": [OCT_KEY]}, "auth.static_keys[0]"),  # symmetric key, no HS* allowed
        ({"leeway_seconds": 3600}, "leeway_seconds"),
        ({"default_tenant": "a/b"}, "default_tenant"),
        ({"plans_by_client": {"crm": "gold plan"}}, "plans_by_client"),
        ({"realm": 'q2c", error="x'}, "realm"),
        ({"unknown": 1}, "unknown"),
        ({"builtin_issuer": {"token_ttl_seconds": 0}}, "token_ttl_seconds"),
    ],
)
def test_each_rule_names_its_field(fields: dict[str, Any], names: str) -> None:
    assert names in rejected(fields)


def test_hmac_alone_with_a_symmetric_key_is_allowed() -> None:
    config = load(algorithms=["HS256"], static_keys=[OCT_KEY], builtin_issuer=NO_BUILTIN)
    assert config.parsed_static_keys()[0].kid == "shared"


def test_short_symmetric_keys_are_rejected() -> None:
    short = {"kty": "oct", "kid": "s", "k": "c2hvcnQ"}
    message = rejected(
        {"algorithms": ["HS256"], "static_keys": [short], "builtin_issuer": NO_BUILTIN}
    )
    assert "auth.static_keys[0]" in message
    assert "32" in message


def test_small_rsa_keys_are_rejected() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the point
    message = rejected({"static_keys": [pem(SigningKey(small, "k", "RS256"))]})
    assert "auth.static_keys[0]" in message
    assert "2048" in message


def test_at_most_one_static_key_without_kid(rsa_key: SigningKey, ec_key: SigningKey) -> None:
    assert "auth.static_keys" in rejected({"static_keys": [pem(rsa_key), pem(ec_key)]})
    keyed = {**rsa_key.jwk()}
    config = load(static_keys=[pem(ec_key), keyed])
    kids = {key.kid for key in config.parsed_static_keys()}
    assert kids == {None, ec_key.kid, rsa_key.kid}


def test_http_jwks_only_on_loopback_or_when_allowed() -> None:
    assert load(jwks_url="http://127.0.0.1:9000/jwks").jwks_url
    assert load(jwks_url="http://localhost/jwks").jwks_url
    assert load(jwks_url="http://keycloak:8080/jwks", jwks_allow_http=True).jwks_url


def test_disabled_auth_needs_no_key_source() -> None:
    assert not load(enabled=False, builtin_issuer=NO_BUILTIN).enabled


def test_client_secret_hash_and_ids_are_checked() -> None:
    good = {
        "client_id": "crm",
        "secret_hash": hash_secret("s3cret"),
        "tenant": "acme",
        "scopes": ["orders:read"],
    }
    assert load(builtin_issuer={"clients": [good]}).builtin_issuer.clients[0].client_id == "crm"
    bad_hash = {**good, "secret_hash": "plain-text-secret"}
    assert "secret_hash" in rejected({"builtin_issuer": {"clients": [bad_hash]}})
    weak = {**good, "secret_hash": "scrypt$2$8$1$c2FsdHNhbHQ$" + "A" * 43}
    assert "secret_hash" in rejected({"builtin_issuer": {"clients": [weak]}})
    bad_scope = {**good, "scopes": ['orders"read']}
    assert "scopes" in rejected({"builtin_issuer": {"clients": [bad_scope]}})
    assert "clients" in rejected({"builtin_issuer": {"clients": [good, good]}})
    clash = {**good, "client_id": SANDBOX_CLIENT_ID}
    assert "clients" in rejected({"builtin_issuer": {"clients": [clash], "sandbox_client": True}})
    assert "tenant" in rejected({"builtin_issuer": {"clients": [{**good, "tenant": "a b"}]}})
