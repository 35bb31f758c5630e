"""Token checks and the attacks they stop: alg none, HS/RS confusion, tampering, bad claims."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import msgspec
import pytest
from cryptography.hazmat.primitives import serialization

from policies.auth import (
    AuthConfig,
    AuthFailure,
    BuiltinIssuerConfig,
    TokenVerifier,
    build_verifier,
)
from policies.auth.keys import key_from_jwk
from tests.policies.auth.conftest import (
    AUDIENCE,
    ISSUER,
    T0,
    FakeClock,
    SigningKey,
    b64,
    claims,
    compact,
)


def verifier_for(*keys: SigningKey, clock: FakeClock, **fields: Any) -> TokenVerifier:
    config = msgspec.convert(
        {
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "builtin_issuer": {"enabled": False},
            "static_keys": [key.jwk() for key in keys],
            **fields,
        },
        AuthConfig,
    )
    return build_verifier(config, clock=clock)


async def rejected(verifier: TokenVerifier, token: str) -> AuthFailure:
    with pytest.raises(AuthFailure) as info:
        await verifier.verify(token.encode())
    assert len(token) < 8 or token not in info.value.description  # never echoed
    return info.value


async def test_a_valid_token_yields_the_consumer(rsa_key: SigningKey, clock: FakeClock) -> None:
    verifier = verifier_for(rsa_key, clock=clock)
    consumer = await verifier.verify(rsa_key.sign(claims(plan="gold")).encode())
    assert consumer.client_id == "crm-app"
    assert consumer.tenant == "acme"
    assert consumer.plan == "gold"
    assert consumer.scopes == frozenset({"orders:read", "customers:read"})


@pytest.mark.parametrize("name", ["ec_key", "ed_key"])
async def test_es256_and_eddsa_keys_verify(
    name: str, request: pytest.FixtureRequest, clock: FakeClock
) -> None:
    key: SigningKey = request.getfixturevalue(name)
    verifier = verifier_for(key, clock=clock)
    assert (await verifier.verify(key.sign(claims()).encode())).tenant == "acme"


async def test_unsigned_alg_none_is_rejected(rsa_key: SigningKey, clock: FakeClock) -> None:
    verifier = verifier_for(rsa_key, clock=clock)
    header = {"alg": "none", "typ": "JWT", "kid": rsa_key.kid}
    failure = await rejected(verifier, compact(header, claims()))
    assert failure.code == "TOKEN_INVALID"
    # The same with a dummy signature, so the compact-form check is not what stops it.
    failure = await rejected(verifier, compact(header, claims(), b"x"))
    assert failure.description == "token algorithm is not allowed"


async def test_hs256_signed_with_the_rsa_public_key_is_rejected(
    rsa_key: SigningKey, clock: FakeClock
) -> None:
    verifier = verifier_for(rsa_key, clock=clock)
    public_pem = rsa_key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for secret in (public_pem, public_pem.strip()):
        header = {"alg": "HS256", "typ": "JWT", "kid": rsa_key.kid}
        unsigned = compact(header, claims()).rsplit(".", 1)[0]
        signature = hmac.new(secret, unsigned.encode(), hashlib.sha256).digest()
        failure = await rejected(verifier, f"{unsigned}.{b64(signature)}")
        assert failure.code == "TOKEN_INVALID"


async def test_an_rsa_key_never_verifies_hmac_even_if_allowed(
    rsa_key: SigningKey, clock: FakeClock
) -> None:
    key = key_from_jwk(rsa_key.jwk(), issuer=ISSUER, allowed={"RS256", "HS256"})
    assert set(key.verifiers) == {"RS256"}
    pem = key.key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # The classic confusion attack: HS256 "signed" with the RSA public key as secret.
    header = b64(msgspec.json.encode({"alg": "HS256", "typ": "JWT", "kid": rsa_key.kid}))
    payload = b64(msgspec.json.encode(claims()))
    signature = b64(hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    # The config never allows HS* next to RS* (test_config); the key would refuse it too.
    failure = await rejected(verifier_for(rsa_key, clock=clock), f"{header}.{payload}.{signature}")
    assert failure.description == "token algorithm is not allowed"


async def test_a_jwk_alg_pins_the_algorithm(rsa_key: SigningKey, clock: FakeClock) -> None:
    verifier = verifier_for(rsa_key, clock=clock, algorithms=["RS256", "PS256"])
    failure = await rejected(verifier, rsa_key.sign(claims(), alg="PS256"))
    assert failure.description == "token signature is invalid"


async def test_tampered_payload_is_rejected(rsa_key: SigningKey, clock: FakeClock) -> None:
    verifier = verifier_for(rsa_key, clock=clock)
    header, _, signature = rsa_key.sign(claims()).split(".")
    forged = b64(msgspec.json.encode(claims(tenant="globex", scope="ops:write")))
    failure = await rejected(verifier, f"{header}.{forged}.{signature}")
    assert failure.description == "token signature is invalid"


async def test_signature_from_another_key_is_rejected(
    rsa_key: SigningKey, rsa_key2: SigningKey, clock: FakeClock
) -> None:
    verifier = verifier_for(rsa_key, clock=clock)
    impostor = rsa_key2.sign(claims(), kid=rsa_key.kid)
    assert (await rejected(verifier, impostor)).description == "token signature is invalid"


@pytest.mark.parametrize(
    ("overrides", "code", "description"),
    [
        ({"exp": int(T0) - 31}, "TOKEN_EXPIRED", "token has expired"),
        ({"exp": None}, "TOKEN_INVALID", "token has no exp claim"),
        ({"nbf": int(T0) + 31}, "TOKEN_INVALID", "token is not valid yet"),
        ({"iat": int(T0) + 3600}, "TOKEN_INVALID", "token was issued in the future"),
        ({"aud": "urn:other:api"}, "TOKEN_INVALID", "token audience does not include this API"),
        ({"aud": ["a", "b"]}, "TOKEN_INVALID", "token audience does not include this API"),
        ({"aud": None}, "TOKEN_INVALID", "token audience does not include this API"),
        ({"iss": "https://evil.test/"}, "TOKEN_INVALID", "token issuer is not accepted"),
        ({"tenant": None}, "TOKEN_INVALID", "token has no tenant claim"),
        (
            {"tenant": "acme/../globex"},
            "TOKEN_INVALID",
            "token tenant claim is not a valid tenant id",
        ),
        (
            {"client_id": None, "sub": None},
            "TOKEN_INVALID",
            "token has no client_id, azp or sub claim",
        ),
        ({"client_id": "{hash-tag}"}, "TOKEN_INVALID", "token client id is not valid"),
        ({"exp": "tomorrow"}, "TOKEN_INVALID", "token claims are malformed"),
        ({"exp": True}, "TOKEN_INVALID", "token claims are malformed"),
    ],
)
async def test_claim_checks(
    rsa_key: SigningKey, clock: FakeClock, overrides: dict[str, Any], code: str, description: str
) -> None:
    verifier = verifier_for(rsa_key, clock=clock)
    failure = await rejected(verifier, rsa_key.sign(claims(**overrides)))
    assert (failure.code, failure.description, failure.status) == (code, description, 401)


async def test_leeway_tolerates_small_clock_skew(rsa_key: SigningKey, clock: FakeClock) -> None:
    verifier = verifier_for(rsa_key, clock=clock)
    token = rsa_key.sign(claims(exp=int(T0) - 29, nbf=int(T0) + 29, iat=int(T0) + 29))
    assert (await verifier.verify(token.encode())).tenant == "acme"
    strict = verifier_for(rsa_key, clock=clock, leeway_seconds=0)
    await rejected(strict, rsa_key.sign(claims(nbf=int(T0) + 1)))


async def test_audience_list_and_alternative_identity_claims(
    rsa_key: SigningKey, clock: FakeClock
) -> None:
    verifier = verifier_for(rsa_key, clock=clock, plans_by_client={"portal": "silver"})
    token = rsa_key.sign(
        claims(
            aud=["other", AUDIENCE],
            client_id=None,
            azp="portal",
            scope=None,
            scp=["quotes:read", "quotes:write"],
        )
    )
    consumer = await verifier.verify(token.encode())
    assert consumer.client_id == "portal"
    assert consumer.plan == "silver"
    assert consumer.scopes == frozenset({"quotes:read", "quotes:write"})


async def test_default_tenant_fills_a_missing_tenant(rsa_key: SigningKey, clock: FakeClock) -> None:
    verifier = verifier_for(rsa_key, clock=clock, default_tenant="main")
    consumer = await verifier.verify(rsa_key.sign(claims(tenant=None)).encode())
    assert consumer.tenant == "main"
    assert consumer.plan == "default"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "a b.c.d",
        "!!!.e30.sig",
        "e30.e30.sig",
        b64(b'{"alg":"RS256","kid":7}') + ".e30.c2ln",
        b64(b"[1]") + ".e30.c2ln",
    ],
)
async def test_malformed_tokens(rsa_key: SigningKey, clock: FakeClock, token: str) -> None:
    assert (await rejected(verifier_for(rsa_key, clock=clock), token)).code == "TOKEN_INVALID"


async def test_unknown_kid_and_critical_headers(rsa_key: SigningKey, clock: FakeClock) -> None:
    verifier = verifier_for(rsa_key, clock=clock)
    unknown = await rejected(verifier, rsa_key.sign(claims(), kid="someone-else"))
    assert unknown.description == "token signing key is unknown"
    missing = await rejected(verifier, rsa_key.sign(claims(), kid=None))
    assert missing.description == "token signing key is unknown"
    crit = rsa_key.sign(claims(), headers={"crit": ["exp"], "exp": 1})
    assert (await rejected(verifier, crit)).description.startswith("token uses unsupported")


async def test_oversized_tokens_are_rejected_before_parsing(
    rsa_key: SigningKey, clock: FakeClock
) -> None:
    verifier = verifier_for(rsa_key, clock=clock, max_token_bytes=1024)
    token = rsa_key.sign(claims(padding="x" * 2000))
    assert (await rejected(verifier, token)).description == "token is too long"


async def test_a_keyless_pem_verifies_tokens_without_kid(
    rsa_key: SigningKey, clock: FakeClock
) -> None:
    public_pem = (
        rsa_key.private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    config = AuthConfig(
        issuer=ISSUER,
        audience=AUDIENCE,
        static_keys=(public_pem,),
        builtin_issuer=BuiltinIssuerConfig(enabled=False),
    )
    verifier = build_verifier(config, clock=clock)
    assert (await verifier.verify(rsa_key.sign(claims(), kid=None).encode())).tenant == "acme"
    assert (await verifier.verify(rsa_key.sign(claims()).encode())).tenant == "acme"  # thumbprint


async def test_hmac_deployment_verifies_hs256(clock: FakeClock) -> None:
    secret = b"0123456789abcdef0123456789abcdef"
    config = msgspec.convert(
        {
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "algorithms": ["HS256"],
            "builtin_issuer": {"enabled": False},
            "static_keys": [{"kty": "oct", "kid": "shared", "k": b64(secret)}],
        },
        AuthConfig,
    )
    verifier = build_verifier(config, clock=clock)
    header = {"alg": "HS256", "kid": "shared"}
    unsigned = compact(header, claims()).rsplit(".", 1)[0]
    good = hmac.new(secret, unsigned.encode(), hashlib.sha256).digest()
    assert (await verifier.verify(f"{unsigned}.{b64(good)}".encode())).tenant == "acme"
    bad = hmac.new(secret[::-1], unsigned.encode(), hashlib.sha256).digest()
    await rejected(verifier, f"{unsigned}.{b64(bad)}")


async def test_cache_hit_still_expires_with_the_token(
    rsa_key: SigningKey, clock: FakeClock
) -> None:
    verifier = verifier_for(rsa_key, clock=clock, leeway_seconds=0, cache_ttl_seconds=60)
    token = rsa_key.sign(claims(exp=int(T0) + 30)).encode()
    consumer = await verifier.verify(token)
    assert verifier.cached(token) is consumer
    clock.advance(29)
    assert verifier.cached(token) is consumer
    clock.advance(1)
    assert verifier.cached(token) is None
    assert (await rejected(verifier, token.decode())).code == "TOKEN_EXPIRED"


async def test_cache_is_bounded_and_short_lived(rsa_key: SigningKey, clock: FakeClock) -> None:
    verifier = verifier_for(rsa_key, clock=clock, cache_size=2, cache_ttl_seconds=10)
    tokens = [rsa_key.sign(claims(jti=f"j{i}")).encode() for i in range(3)]
    for token in tokens:
        await verifier.verify(token)
    assert verifier.cached(tokens[0]) is None  # least recently used, evicted
    assert verifier.cached(tokens[2]) is not None
    clock.advance(10)
    assert verifier.cached(tokens[2]) is None  # TTL, although exp is far away
    assert (await verifier.verify(tokens[2])).tenant == "acme"
