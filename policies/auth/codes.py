"""Authorization codes of the OpenID Connect flow: the port, and the memory backend.

A code is a bearer credential for one minute. The store keeps only its SHA-256
(reading the store gives nobody a usable code) and hands each one out exactly
once: ``take`` is atomic, so two gateway processes redeeming the same code at the
same moment cannot both succeed (RFC 6749 section 4.1.2: a code is single-use).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from typing import Annotated, Protocol

import msgspec


class AuthorizationGrant(msgspec.Struct, frozen=True, kw_only=True):
    """What one authorization code stands for, bound to the request that asked for it."""

    client_id: str
    redirect_uri: str
    code_challenge: str  # PKCE S256: BASE64URL(SHA256(code_verifier))
    nonce: str
    scope: str
    # Who signed in, as the ID token will say it.
    username: str
    name: str
    tenant: str
    teams: tuple[str, ...] = ()
    role: str
    auth_time: int
    expires_at: Annotated[float, msgspec.Meta(ge=0)]


class AuthorizationCodeStore(Protocol):
    """Backends raise their store's unavailability (the gateway answers 503), never
    pretend a code is unknown."""

    async def put(self, code_hash: str, grant: AuthorizationGrant) -> None:
        """Keep ``grant`` under ``code_hash`` until ``grant.expires_at``."""
        ...

    async def take(self, code_hash: str, now: float) -> AuthorizationGrant | None:
        """Remove and return the grant, atomically: of any number of concurrent callers
        at most one gets it. None when unknown, taken already or expired at ``now``."""
        ...


def code_hash(code: str) -> str:
    digest = hashlib.sha256(code.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


encoder = msgspec.json.Encoder()
decoder = msgspec.json.Decoder(AuthorizationGrant)


class MemoryAuthorizationCodes:
    """One process's codes (tests, and a gateway without a shared database)."""

    def __init__(self) -> None:
        self._grants: dict[str, AuthorizationGrant] = {}
        self._lock = asyncio.Lock()

    async def put(self, code_hash: str, grant: AuthorizationGrant) -> None:
        async with self._lock:
            self._grants[code_hash] = grant

    async def take(self, code_hash: str, now: float) -> AuthorizationGrant | None:
        async with self._lock:
            for key in [k for k, g in self._grants.items() if g.expires_at <= now]:
                del self._grants[key]
            return self._grants.pop(code_hash, None)
