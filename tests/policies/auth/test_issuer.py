"""The built-in issuer: one key file shared by processes, RFC 7638 kids, minted claims."""

from __future__ import annotations

import stat
import subprocess
import sys
import threading
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from policies.auth import (
    AuthConfig,
    BuiltinIssuerConfig,
    Issuer,
    IssuerClient,
    build_verifier,
    mint_local_token,
)
from policies.auth.client_secrets import hash_secret, parse_secret_hash, verify_secret
from policies.auth.issuer import load_or_create_key
from policies.auth.keys import jwk_thumbprint, public_jwk
from tests.policies.auth.conftest import T0, FakeClock

RFC7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B"
    "JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_F"
    "DW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4"
    "vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)


def config_for(key_file: Path, algorithm: str = "RS256") -> AuthConfig:
    return AuthConfig(
        builtin_issuer=BuiltinIssuerConfig(key_file=str(key_file), algorithm=algorithm)
    )  # type: ignore[arg-type]


def test_thumbprint_matches_the_rfc_7638_example() -> None:
    jwk = {"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"}
    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_key_file_is_created_once_private_and_reused(tmp_path: Path) -> None:
    key_file = tmp_path / "state" / "issuer-key.pem"
    first = Issuer.from_config(config_for(key_file))
    assert not key_file.exists()  # building an issuer does no I/O
    first.load()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    content = key_file.read_bytes()
    second = Issuer.from_config(config_for(key_file))
    assert second.kid == first.kid
    assert key_file.read_bytes() == content
    assert [p.name for p in key_file.parent.iterdir()] == ["issuer-key.pem"]  # no temp files


async def test_two_issuers_sign_and_verify_interchangeably(tmp_path: Path) -> None:
    config = config_for(tmp_path / "k.pem")
    cli_issuer, gateway_issuer = Issuer.from_config(config), Issuer.from_config(config)
    token = cli_issuer.mint("crm", ["orders:read"], "acme", 600)
    verifier = build_verifier(config, issuer=gateway_issuer)
    consumer = await verifier.verify(token.encode())
    assert (consumer.client_id, consumer.tenant) == ("crm", "acme")
    other = gateway_issuer.mint("erp", ["orders:write"], "acme", 600)
    assert (
        await build_verifier(config, issuer=cli_issuer).verify(other.encode())
    ).client_id == "erp"


def test_concurrent_creation_converges_on_one_key(tmp_path: Path) -> None:
    key_file = tmp_path / "race" / "k.pem"
    kids: list[str] = []
    barrier = threading.Barrier(4)

    def create() -> None:
        barrier.wait()
        kids.append(jwk_thumbprint(public_jwk(load_or_create_key(key_file))))

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(kids) == 4
    assert len(set(kids)) == 1


def test_a_key_file_of_the_wrong_type_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "k.pem"
    load_or_create_key(key_file, "ES256")
    with pytest.raises(ValueError, match="key_file"):
        Issuer.from_config(config_for(key_file)).load()
    key_file.write_text("garbage")
    with pytest.raises(ValueError, match="key_file"):
        Issuer.from_config(config_for(key_file)).load()


def test_minted_claims_verify_with_pyjwt(tmp_path: Path) -> None:
    clock = FakeClock()
    issuer = Issuer.from_config(config_for(tmp_path / "k.pem"), clock=clock)
    token = issuer.mint("crm", ["orders:read", "orders:write"], "acme", 900, plan="gold")
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "RS256", "kid": issuer.kid, "typ": "at+jwt"}
    public = jwt.PyJWK(issuer.public_jwk()).key
    payload = jwt.decode(
        token,
        public,
        algorithms=["RS256"],
        audience="urn:q2c:api",
        issuer="urn:q2c:gateway",
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    assert payload["sub"] == payload["client_id"] == "crm"
    assert payload["tenant"] == "acme"
    assert payload["plan"] == "gold"
    assert payload["scope"] == "orders:read orders:write"
    assert (payload["iat"], payload["nbf"], payload["exp"]) == (T0, T0, T0 + 900)
    assert len(payload["jti"]) >= 16
    assert issuer.mint("crm", [], "acme", 60) != issuer.mint("crm", [], "acme", 60)  # jti


@pytest.mark.parametrize(
    ("client_id", "scopes", "tenant", "ttl"),
    [
        ("bad id", ["a:b"], "acme", 60),
        ("crm", ['a"b'], "acme", 60),
        ("crm", ["a:b"], "acme/x", 60),
        ("crm", ["a:b"], "acme", 0),
    ],
)
def test_mint_refuses_bad_input(
    tmp_path: Path, client_id: str, scopes: list[str], tenant: str, ttl: int
) -> None:
    issuer = Issuer.from_config(config_for(tmp_path / "k.pem"))
    with pytest.raises(ValueError, match=r"invalid|ttl"):
        issuer.mint(client_id, scopes, tenant, ttl)


@pytest.mark.parametrize("algorithm", ["ES256", "EdDSA"])
async def test_other_issuer_algorithms(tmp_path: Path, algorithm: str) -> None:
    config = AuthConfig(
        algorithms=(algorithm,),
        builtin_issuer=BuiltinIssuerConfig(key_file=str(tmp_path / "k.pem"), algorithm=algorithm),
    )  # type: ignore[arg-type]
    issuer = Issuer.from_config(config)
    token = issuer.mint("crm", ["orders:read"], "acme", 60)
    assert jwt.get_unverified_header(token)["alg"] == algorithm
    assert issuer.public_jwk()["alg"] == algorithm
    assert (await build_verifier(config, issuer=issuer).verify(token.encode())).tenant == "acme"


def test_secret_hashes_round_trip_and_are_salted() -> None:
    encoded = hash_secret("s3cret")
    assert encoded.startswith("scrypt$16384$8$1$")
    assert verify_secret("s3cret", encoded)
    assert not verify_secret("s3cret ", encoded)
    assert hash_secret("s3cret") != encoded
    pbkdf2 = hash_secret("s3cret", scheme="pbkdf2_sha256", iterations=10_000)
    assert pbkdf2.startswith("pbkdf2_sha256$10000$")
    assert verify_secret("s3cret", pbkdf2)
    assert not verify_secret("other", pbkdf2)


@pytest.mark.parametrize(
    "encoded",
    [
        "s3cret",
        "scrypt$16384$8$1$salt",
        "scrypt$1000$8$1$c2FsdHNhbHQ$" + "A" * 43,
        "scrypt$16384$8$1$!!$" + "A" * 43,
        "md5$abc$def",
        "pbkdf2_sha256$10$c2FsdHNhbHQ$" + "A" * 43,
    ],
)
def test_malformed_or_weak_hashes_are_refused(encoded: str) -> None:
    with pytest.raises(ValueError, match=r"secret hash|scrypt|pbkdf2|salt"):
        parse_secret_hash(encoded)


MINT_IN_ANOTHER_PROCESS = """
import sys
from policies.auth import AuthConfig, BuiltinIssuerConfig, mint_local_token
config = AuthConfig(builtin_issuer=BuiltinIssuerConfig(key_file=sys.argv[1]))
print(mint_local_token(config, client_id="cli", scopes=["ops:read"], tenant="acme"))
"""


async def test_a_token_minted_by_another_process_verifies_here(tmp_path: Path) -> None:
    """The ``q2c token`` situation: the CLI creates the key file, the gateway reads it."""
    key_file = tmp_path / "shared" / "k.pem"
    result = subprocess.run(
        [sys.executable, "-c", MINT_IN_ANOTHER_PROCESS, str(key_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    config = config_for(key_file)
    verifier = build_verifier(config)
    await verifier.warm_up()
    consumer = await verifier.verify(result.stdout.strip().encode())
    assert (consumer.client_id, consumer.tenant, consumer.scopes) == (
        "cli",
        "acme",
        frozenset({"ops:read"}),
    )


async def test_mint_local_token_takes_the_plan_from_config(tmp_path: Path) -> None:
    client = IssuerClient(client_id="erp", secret_hash=hash_secret("x"), tenant="acme", plan="gold")
    config = AuthConfig(
        plans_by_client={"crm": "silver"},
        builtin_issuer=BuiltinIssuerConfig(key_file=str(tmp_path / "k.pem"), clients=(client,)),
    )
    verifier = build_verifier(config)
    for client_id, plan in (("erp", "gold"), ("crm", "silver"), ("other", "default")):
        token = mint_local_token(
            config, client_id=client_id, scopes=[], tenant="acme", ttl_seconds=60
        )
        assert (await verifier.verify(token.encode())).plan == plan
    disabled = AuthConfig(
        static_keys=(client_pem(tmp_path),), builtin_issuer=BuiltinIssuerConfig(enabled=False)
    )
    with pytest.raises(ValueError, match="builtin_issuer"):
        mint_local_token(disabled, client_id="crm", scopes=[], tenant="acme")


def client_pem(tmp_path: Path) -> str:
    key = load_or_create_key(tmp_path / "other.pem")
    encoded: bytes = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return encoded.decode()
