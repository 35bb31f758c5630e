"""Verification keys, parsed once: which algorithms each key may verify and for which issuer.

Binding every key to the algorithm family of its type is what rules out
HS/RS key confusion: an RSA key never verifies an HMAC signature, whatever the
token header claims.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import (
    load_pem_private_key,
    load_pem_public_key,
)
from jwt.algorithms import (
    Algorithm,
    ECAlgorithm,
    HMACAlgorithm,
    OKPAlgorithm,
    RSAAlgorithm,
    get_default_algorithms,
)
from jwt.exceptions import PyJWTError

RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
EC_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512",
                 "secp256k1": "ES256K"}
HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
ASYMMETRIC_ALGORITHMS = RSA_ALGORITHMS | frozenset(EC_ALGORITHMS.values()) | {"EdDSA"}
SUPPORTED_ALGORITHMS = ASYMMETRIC_ALGORITHMS | HMAC_ALGORITHMS
MIN_RSA_BITS = 2048
MIN_HMAC_BYTES = 32

_ALGORITHMS: dict[str, Algorithm] = {
    name: algorithm for name, algorithm in get_default_algorithms().items()
    if name in SUPPORTED_ALGORITHMS
}
_THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"),
                       "OKP": ("crv", "kty", "x"), "oct": ("k", "kty")}


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """One public (or shared) key, the algorithms it may verify and the issuer it speaks for."""

    kid: str | None
    issuer: str
    key: Any  # a cryptography public key, or bytes for HMAC
    # The algorithms this key may verify (PyJWT's, by name): its own family only.
    verifiers: Mapping[str, Algorithm]


def _family(key: Any) -> frozenset[str]:
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise ValueError(f"RSA key has {key.key_size} bits; at least {MIN_RSA_BITS} needed")
        return RSA_ALGORITHMS
    if isinstance(key, ec.EllipticCurvePublicKey):
        name = EC_ALGORITHMS.get(key.curve.name)
        if name is None:
            raise ValueError(f"unsupported elliptic curve {key.curve.name}")
        return frozenset({name})
    if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return frozenset({"EdDSA"})
    if isinstance(key, bytes):
        if len(key) < MIN_HMAC_BYTES:
            raise ValueError(f"symmetric key has {len(key)} bytes; at least {MIN_HMAC_BYTES}")
        return HMAC_ALGORITHMS
    raise ValueError(f"unsupported key type {type(key).__name__}")


def _public(key: Any) -> Any:
    public_key = getattr(key, "public_key", None)
    return public_key() if callable(public_key) else key


def _build(key: Any, *, kid: str | None, issuer: str, declared: str | None,
           allowed: Iterable[str]) -> VerificationKey:
    key = _public(key)
    family = _family(key)
    if declared is not None:
        if declared not in family:
            raise ValueError(f"key alg {declared!r} does not match its key type")
        family = frozenset({declared})
    usable = family & frozenset(allowed)
    if not usable:
        raise ValueError(f"none of the allowed algorithms fits this key ({sorted(family)})")
    return VerificationKey(kid=kid, issuer=issuer, key=key,
                           verifiers={name: _ALGORITHMS[name] for name in usable})


def key_from_jwk(jwk: Mapping[str, Any], *, issuer: str,
                 allowed: Iterable[str]) -> VerificationKey:
    """A JWK (RFC 7517) as a verification key; ValueError when it is unusable for signatures."""
    if jwk.get("use", "sig") != "sig":
        raise ValueError("key is not for signatures (use != sig)")
    kid = jwk.get("kid")
    if kid is not None and (not isinstance(kid, str) or not kid or len(kid) > 256):
        raise ValueError("kid must be a non-empty string of at most 256 characters")
    declared = jwk.get("alg")
    if declared is not None and not isinstance(declared, str):
        raise ValueError("alg must be a string")
    data = dict(jwk)
    try:
        kty = data.get("kty")
        key: Any
        if kty == "RSA":
            key = RSAAlgorithm.from_jwk(data)
        elif kty == "EC":
            key = ECAlgorithm.from_jwk(data)
        elif kty == "OKP":
            key = OKPAlgorithm.from_jwk(data)
        elif kty == "oct":
            key = HMACAlgorithm.from_jwk(data)
        else:
            raise ValueError(f"unsupported kty {str(kty)[:20]!r}")
    except (PyJWTError, TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"invalid JWK: {exc}") from None
    return _build(key, kid=kid, issuer=issuer, declared=declared, allowed=allowed)


def key_from_pem(pem: str, *, issuer: str, allowed: Iterable[str],
                 kid: str | None = None) -> VerificationKey:
    """A PEM public key, certificate or (for convenience) private key as a verification key."""
    data = pem.strip().encode()
    key: Any
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            key = x509.load_pem_x509_certificate(data).public_key()
        elif b"PRIVATE KEY-----" in data:
            key = load_pem_private_key(data, password=None)
        else:
            key = load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"invalid PEM key: {exc}") from None
    return _build(key, kid=kid, issuer=issuer, declared=None, allowed=allowed)


def public_jwk(key: Any) -> dict[str, Any]:
    """The public JWK members of an asymmetric key (private keys are reduced to public)."""
    key = _public(key)
    if isinstance(key, rsa.RSAPublicKey):
        return RSAAlgorithm.to_jwk(key, as_dict=True)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return ECAlgorithm.to_jwk(key, as_dict=True)
    if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return OKPAlgorithm.to_jwk(key, as_dict=True)
    raise ValueError(f"unsupported key type {type(key).__name__}")


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint: the required members, sorted, no whitespace."""
    members = _THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if members is None:
        raise ValueError(f"no thumbprint members for kty {jwk.get('kty')!r}")
    canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"),
                           sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
