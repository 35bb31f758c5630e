"""Keys, a controllable clock and token helpers shared by the auth tests."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from litestar import Litestar
from litestar.middleware import DefineMiddleware

from policies.auth import AuthMiddleware, TokenVerifier
from policies.auth.keys import jwk_thumbprint, public_jwk

ISSUER = "https://idp.example.test/"
AUDIENCE = "urn:q2c:api"
T0 = 1_800_000_000.0


@dataclass
class FakeClock:
    now: float = T0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class SigningKey:
    private: Any
    kid: str
    alg: str

    def jwk(self) -> dict[str, Any]:
        members = public_jwk(self.private)
        members.pop("key_ops", None)
        return {**members, "kid": self.kid, "alg": self.alg, "use": "sig"}

    def sign(
        self,
        claims: dict[str, Any],
        *,
        kid: str | None = "default",
        alg: str | None = None,
        headers: dict[str, Any] | None = None,
    ) -> str:
        extra = {"kid": self.kid if kid == "default" else kid, **(headers or {})}
        if extra["kid"] is None:
            del extra["kid"]
        return jwt.encode(claims, self.private, algorithm=alg or self.alg, headers=extra)


def _named(private: Any, alg: str) -> SigningKey:
    return SigningKey(private, jwk_thumbprint(public_jwk(private)), alg)


@pytest.fixture(scope="session")
def rsa_key() -> SigningKey:
    return _named(rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256")


@pytest.fixture(scope="session")
def rsa_key2() -> SigningKey:
    return _named(rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256")


@pytest.fixture(scope="session")
def ec_key() -> SigningKey:
    return _named(ec.generate_private_key(ec.SECP256R1()), "ES256")


@pytest.fixture(scope="session")
def ed_key() -> SigningKey:
    return _named(ed25519.Ed25519PrivateKey.generate(), "EdDSA")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def claims(now: float = T0, **overrides: Any) -> dict[str, Any]:
    """A valid claim set for ISSUER / AUDIENCE; ``None`` values drop a claim."""
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "crm-app",
        "client_id": "crm-app",
        "tenant": "acme",
        "scope": "orders:read customers:read",
        "iat": int(now),
        "nbf": int(now),
        "exp": int(now) + 600,
        "jti": "j1",
    }
    base.update(overrides)
    return {name: value for name, value in base.items() if value is not None}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def compact(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    """Hand-built compact JWS, for tokens a well-behaved library refuses to produce."""
    return ".".join(
        [b64(json.dumps(header).encode()), b64(json.dumps(payload).encode()), b64(signature)]
    )


def auth_app(route_handlers: list[Any], verifier: TokenVerifier) -> httpx.AsyncClient:
    """A Litestar app with only the auth middleware, behind an in-process HTTP client."""
    # Pure-ASGI policies type the scope as a plain mapping; Litestar wants its TypedDicts.
    middleware: Any = AuthMiddleware
    app: Any = Litestar(
        route_handlers=route_handlers, middleware=[DefineMiddleware(middleware, verifier=verifier)]
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw.test")
