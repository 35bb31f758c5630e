"""The built-in token issuer: one signing key on disk, shared by every process that needs it.

Gateway workers and the ``q2c token`` CLI are separate processes; they agree on
the key because it lives in one PEM file, created atomically on first use.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from policies.auth.client_secrets import hash_secret, verify_secret
from policies.auth.config import AuthConfig
from policies.auth.keys import VerificationKey, jwk_thumbprint, key_from_jwk, public_jwk
from policies.auth.scopes import ALL_SCOPES, CLIENT_ID, PLAN, SCOPE_TOKEN, TENANT

__all__ = [
    "ALL_SCOPES",
    "Issuer",
    "hash_secret",
    "load_or_create_key",
    "mint_local_token",
    "verify_secret",
]

log = logging.getLogger("q2c.auth")
MAX_TTL_SECONDS = 7 * 86_400
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


def _generate(algorithm: str) -> PrivateKey:
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"the built-in issuer cannot sign with {algorithm!r}")


def _fits(key: object, algorithm: str) -> bool:
    if algorithm == "RS256":
        return isinstance(key, rsa.RSAPrivateKey) and key.key_size >= 2048
    if algorithm == "ES256":
        return isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    return algorithm == "EdDSA" and isinstance(key, ed25519.Ed25519PrivateKey)


def load_or_create_key(path: Path, algorithm: str = "RS256") -> PrivateKey:
    """The private key in ``path``; a new one (mode 0600) when the file does not exist.

    Creation is race-free across processes: the key is written to a private temp
    file and hard-linked into place, which fails if another process got there first,
    in which case everybody uses the winner's key.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        pem = _generate(algorithm).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _publish(path, pem)
    data = path.read_bytes()
    if os.name == "posix" and path.stat().st_mode & 0o077:
        log.warning("issuer key file %s is readable by other users; chmod 600 it", path)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"auth.builtin_issuer.key_file {path}: not a PEM private key "
                         f"({exc})") from None
    if not isinstance(key, PrivateKey) or not _fits(key, algorithm):
        raise ValueError(f"auth.builtin_issuer.key_file {path}: the key does not fit "
                         f"algorithm {algorithm}")
    return key


def _publish(path: Path, pem: bytes) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".issuer-key-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, path)
        except FileExistsError:
            pass  # another process won the race; its key is the key
        except OSError:
            # Filesystems without hard links: exclusive create still avoids overwriting.
            with contextlib.suppress(FileExistsError):
                target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(target, "wb") as handle:
                    handle.write(pem)
    finally:
        os.unlink(temp)


@dataclass(frozen=True, slots=True)
class _SigningKey:
    private_key: PrivateKey
    kid: str
    public_jwk: dict[str, Any]
    jwks_body: bytes


class Issuer:
    """Mints RFC 9068-style access tokens and publishes the matching public JWK.

    The key is loaded (or created) on first use, so building an ``Issuer`` does no
    I/O; ``from_config`` is safe in code paths such as OpenAPI export.
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        algorithm: str = "RS256",
        key_file: str | Path | None = None,
        private_key: PrivateKey | None = None,
        token_ttl_seconds: int = 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if (key_file is None) == (private_key is None):
            raise ValueError("give the issuer exactly one of key_file or private_key")
        if private_key is not None and not _fits(private_key, algorithm):
            raise ValueError(f"the private key does not fit algorithm {algorithm}")
        self.issuer = issuer
        self.audience = audience
        self.algorithm = algorithm
        self.key_file = Path(key_file) if key_file is not None else None
        self.token_ttl_seconds = token_ttl_seconds
        self._private_key = private_key
        self._clock = clock
        self._signing: _SigningKey | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: AuthConfig, *, clock: Callable[[], float] = time.time) -> Issuer:
        builtin = config.builtin_issuer
        return cls(
            issuer=builtin.issuer or config.issuer,
            audience=config.audience,
            algorithm=builtin.algorithm,
            key_file=builtin.key_path(),
            token_ttl_seconds=builtin.token_ttl_seconds,
            clock=clock,
        )

    def _key(self) -> _SigningKey:
        signing = self._signing
        if signing is not None:
            return signing
        with self._lock:
            if self._signing is None:
                private_key = self._private_key
                if private_key is None:
                    assert self.key_file is not None
                    private_key = load_or_create_key(self.key_file, self.algorithm)
                jwk = public_jwk(private_key)
                jwk.pop("key_ops", None)  # "use": "sig" says it, and the documented shape
                kid = jwk_thumbprint(jwk)
                jwk.update(kid=kid, use="sig", alg=self.algorithm)
                body = msgspec.json.encode({"keys": [jwk]})
                self._signing = _SigningKey(private_key, kid, jwk, body)
            return self._signing

    @property
    def loaded(self) -> bool:
        return self._signing is not None

    def load(self) -> None:
        """Load (or create) the signing key now; blocking, so off the event loop."""
        self._key()

    @property
    def kid(self) -> str:
        """RFC 7638 thumbprint of the public key."""
        return self._key().kid

    def public_jwk(self) -> dict[str, Any]:
        return dict(self._key().public_jwk)

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        return {"keys": [self.public_jwk()]}

    def jwks_json(self) -> bytes:
        return self._key().jwks_body

    def verification_key(self, allowed: Iterable[str], issuer: str | None = None
                         ) -> VerificationKey:
        """The public key as a verification key for tokens of ``issuer`` (default: the
        access tokens' issuer; the OpenID provider's ID tokens name its URL instead)."""
        return key_from_jwk(self._key().public_jwk, issuer=issuer or self.issuer,
                            allowed=allowed)

    def sign(self, claims: dict[str, Any], *, typ: str = "JWT") -> str:
        """``claims`` as a JWS signed with the issuer's key (kid in the header)."""
        signing = self._key()
        return jwt.encode(claims, signing.private_key, algorithm=self.algorithm,
                          headers={"kid": signing.kid, "typ": typ})

    def derived_secret(self, label: bytes) -> bytes:
        """A 32-byte secret for ``label`` derived from the private key, so every process
        sharing the key derives the same one (HMAC keys of signed cookies); blocking
        on first use, like ``load``."""
        der = self._key().private_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return hmac.new(der, b"q2c derived secret\0" + label, hashlib.sha256).digest()

    def mint(
        self,
        client_id: str,
        scopes: Iterable[str],
        tenant: str,
        ttl_seconds: int | None = None,
        plan: str | None = None,
        subject: str | None = None,
    ) -> str:
        """A signed access token for ``client_id`` in ``tenant`` with ``scopes``, on behalf
        of ``subject`` (a signed-in person) or of the client itself."""
        ttl = self.token_ttl_seconds if ttl_seconds is None else ttl_seconds
        scope_list = list(dict.fromkeys(scopes))
        if not CLIENT_ID.fullmatch(client_id):
            raise ValueError(f"invalid client id {client_id[:60]!r}")
        if not TENANT.fullmatch(tenant):
            raise ValueError(f"invalid tenant {tenant[:60]!r}")
        if plan is not None and not PLAN.fullmatch(plan):
            raise ValueError(f"invalid plan {plan[:60]!r}")
        if not 1 <= ttl <= MAX_TTL_SECONDS:
            raise ValueError(f"ttl must be 1-{MAX_TTL_SECONDS} seconds")
        for scope in scope_list:
            if not SCOPE_TOKEN.fullmatch(scope):
                raise ValueError(f"invalid scope {scope[:60]!r}")
        now = int(self._clock())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject or client_id,
            "client_id": client_id,
            "tenant": tenant,
            "scope": " ".join(scope_list),
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": secrets.token_urlsafe(16),
        }
        if plan is not None:
            claims["plan"] = plan
        return self.sign(claims, typ="at+jwt")


def mint_local_token(
    config: AuthConfig,
    *,
    client_id: str,
    scopes: Iterable[str],
    tenant: str,
    ttl_seconds: int | None = None,
    clock: Callable[[], float] = time.time,
) -> str:
    """A token from the built-in issuer's key file, for ``q2c token`` and local scripts.

    The plan comes from the configured client of that id, else ``auth.plans_by_client``.
    """
    if not config.builtin_issuer.enabled:
        raise ValueError("auth.builtin_issuer is disabled; there is no local key to sign with")
    configured = {c.client_id: c for c in config.builtin_issuer.all_clients()}.get(client_id)
    plan = configured.plan if configured is not None else None
    plan = plan or config.plans_by_client.get(client_id)
    return Issuer.from_config(config, clock=clock).mint(client_id, scopes, tenant,
                                                        ttl_seconds, plan=plan)
