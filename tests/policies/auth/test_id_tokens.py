"""ID token verification for relying parties: the same pinning as access tokens, plus
the nonce and the authorized party."""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
import pytest

from policies.auth.id_tokens import IdTokenInvalid, IdTokenVerifier
from policies.auth.keys import VerificationKey, key_from_jwk
from tests.policies.auth.conftest import ISSUER, T0, FakeClock, SigningKey

CLIENT = "q2c-console"


def _claims(**overrides: Any) -> dict[str, Any]:
    base = {"iss": ISSUER, "aud": CLIENT, "sub": "priya", "iat": int(T0), "exp": int(T0) + 300,
            "nonce": "n-1", "tenant": "sandbox"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def _verifier(key: SigningKey, clock: FakeClock, algorithms: tuple[str, ...] = ("RS256",)
              ) -> IdTokenVerifier:
    known = key_from_jwk(key.jwk(), issuer=ISSUER, allowed=algorithms)

    async def lookup(kid: str | None) -> VerificationKey | None:
        return known if kid == known.kid else None

    return IdTokenVerifier(issuer=ISSUER, client_id=CLIENT, algorithms=algorithms,
                           keys=lookup, clock=clock)


async def test_a_good_token_gives_its_claims(rsa_key: SigningKey, clock: FakeClock) -> None:
    claims = await _verifier(rsa_key, clock).verify(rsa_key.sign(_claims()), nonce="n-1")
    assert claims["sub"] == "priya"
    assert claims["tenant"] == "sandbox"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"nonce": "n-2"}, "nonce"),
        ({"nonce": None}, "nonce"),
        ({"aud": "another-client"}, "another client"),
        ({"aud": [CLIENT, "other"]}, "authorized party"),
        ({"iss": "https://evil.example/"}, "another issuer"),
        ({"exp": int(T0) - 31}, "expired"),
        ({"iat": int(T0) + 120}, "future"),
        ({"sub": None}, "malformed"),
    ],
)
async def test_claims_that_do_not_fit_are_refused(
    rsa_key: SigningKey, clock: FakeClock, overrides: dict[str, Any], reason: str
) -> None:
    with pytest.raises(IdTokenInvalid, match=reason):
        await _verifier(rsa_key, clock).verify(rsa_key.sign(_claims(**overrides)),
                                               nonce="n-1")


async def test_several_audiences_need_this_client_as_authorized_party(
    rsa_key: SigningKey, clock: FakeClock
) -> None:
    token = rsa_key.sign(_claims(aud=[CLIENT, "other"], azp=CLIENT))
    assert (await _verifier(rsa_key, clock).verify(token, nonce="n-1"))["azp"] == CLIENT


async def test_another_key_or_an_unknown_kid_is_refused(
    rsa_key: SigningKey, rsa_key2: SigningKey, clock: FakeClock
) -> None:
    verifier = _verifier(rsa_key, clock)
    forged = jwt.encode(_claims(), rsa_key2.private, algorithm="RS256",
                        headers={"kid": rsa_key.kid})
    with pytest.raises(IdTokenInvalid, match="signature"):
        await verifier.verify(forged, nonce="n-1")
    with pytest.raises(IdTokenInvalid, match="key is unknown"):
        await verifier.verify(rsa_key2.sign(_claims()), nonce="n-1")


def _unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    return ".".join([part(json.dumps(header).encode()), part(json.dumps(claims).encode()),
                     part(signature)])


async def test_alg_none_and_hmac_with_the_public_key_are_refused(
    rsa_key: SigningKey, clock: FakeClock
) -> None:
    verifier = _verifier(rsa_key, clock)
    with pytest.raises(IdTokenInvalid, match="algorithm"):
        await verifier.verify(_unsigned({"alg": "none", "kid": rsa_key.kid}, _claims()),
                              nonce="n-1")
    with pytest.raises(IdTokenInvalid, match="algorithm"):
        await verifier.verify(_unsigned({"alg": "HS256", "kid": rsa_key.kid}, _claims(), b"x"),
                              nonce="n-1")
    with pytest.raises(IdTokenInvalid, match="not a JWS"):
        await verifier.verify("not.a-token", nonce="n-1")


def test_only_asymmetric_algorithms_can_be_configured() -> None:
    async def lookup(kid: str | None) -> VerificationKey | None:
        return None

    with pytest.raises(ValueError, match="asymmetric"):
        IdTokenVerifier(issuer=ISSUER, client_id=CLIENT, algorithms=("HS256",), keys=lookup)
