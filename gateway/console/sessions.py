"""Console sessions: the record each one keeps server-side, the store port, and the
HMAC that signs what the console puts in cookies.

The cookie holds a random session id and its signature; the store holds the user,
keyed by the id's SHA-256, with the times that end it. Signing out marks the record
revoked, so a copy of the cookie taken before is refused from then on, in every
process sharing the database.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Protocol

import msgspec

from gateway.console.auth import ConsoleUser


class SessionRecord(msgspec.Struct, frozen=True, kw_only=True):
    user: ConsoleUser
    issuer: str  # the provider that signed the user in
    created_at: float
    last_seen_at: float
    expires_at: float  # the absolute timeout
    revoked_at: float | None = None


class ConsoleSessionStore(Protocol):
    async def create(self, session_hash: str, record: SessionRecord) -> None: ...

    async def get(self, session_hash: str) -> SessionRecord | None: ...

    async def touch(self, session_hash: str, now: float) -> None:
        """Record activity (the idle timeout counts from here)."""
        ...

    async def revoke(self, session_hash: str, now: float) -> bool:
        """End the session; False when there was no live one."""
        ...


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def session_hash(session_id: str) -> str:
    digest = hashlib.sha256(session_id.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class CookieSigner:
    """HMAC-SHA256 over ``purpose`` and value, with a key every process derives alike.

    The key is read (or derived) on first use, off the event loop, so building the
    console does no I/O.
    """

    def __init__(self, key: Callable[[], bytes]) -> None:
        self._load = key
        self._key: bytes | None = None
        self._lock = asyncio.Lock()

    async def ready(self) -> None:
        if self._key is None:
            async with self._lock:
                if self._key is None:
                    self._key = await asyncio.to_thread(self._load)

    def mac(self, purpose: str, value: str) -> str:
        assert self._key is not None, "await CookieSigner.ready() first"
        message = purpose.encode() + b"\0" + value.encode()
        return _b64(hmac.new(self._key, message, hashlib.sha256).digest())

    def sign(self, purpose: str, value: str) -> str:
        return f"{value}.{self.mac(purpose, value)}"

    def unsign(self, purpose: str, token: str | None) -> str | None:
        """The value, when ``token`` was signed for ``purpose`` by this key."""
        if not token or len(token) > 4096:
            return None
        value, _, signature = token.rpartition(".")
        if not value or not hmac.compare_digest(self.mac(purpose, value), signature):
            return None
        return value
