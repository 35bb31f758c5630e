"""Who is using the portal, and proof that a form came from the portal's own page.

A developer is an anonymous browser: a random id in an HttpOnly, SameSite=Strict
cookie, which owns the applications registered from it. Forms carry a token that
is an HMAC of that id (OWASP's signed double-submit pattern), keyed from the
built-in issuer's private key file, so every gateway process sharing the key
accepts the forms every other one rendered.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from policies.auth import Issuer
from policies.auth.registry import OWNER_PATTERN

COOKIE = "q2c_portal_developer"
COOKIE_MAX_AGE = 30 * 86_400
_OWNER = re.compile(OWNER_PATTERN)
_LABEL = b"q2c developer portal form token\0"


def new_developer_id() -> str:
    return secrets.token_urlsafe(24)


def valid_developer_id(value: str | None) -> str | None:
    return value if value is not None and _OWNER.fullmatch(value) else None


class FormTokens:
    """Issues and checks the anti-forgery token of a developer's forms."""

    def __init__(self, issuer: Issuer | None) -> None:
        self._issuer = issuer
        self._key: bytes | None = None
        self._lock = asyncio.Lock()

    async def _secret(self) -> bytes:
        if self._key is None:
            async with self._lock:
                if self._key is None:
                    self._key = await asyncio.to_thread(self._derive)
        return self._key

    def _derive(self) -> bytes:
        issuer = self._issuer
        if issuer is not None and issuer.key_file is not None:
            issuer.load()  # creates the key file on first use, as the token endpoint would
            material = Path(issuer.key_file).read_bytes()
            return hashlib.sha256(_LABEL + material).digest()
        # No shared key file: tokens are valid in this process only.
        return os.urandom(32)

    async def issue(self, developer: str) -> str:
        digest = hmac.new(await self._secret(), developer.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    async def check(self, developer: str, token: str | None) -> bool:
        if not token:
            return False
        return hmac.compare_digest(await self.issue(developer), token)
