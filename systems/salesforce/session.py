"""The integration's Salesforce session: how it is obtained and when it is renewed.

Three ways in, chosen by configuration:

* a fixed session id (``access_token``), e.g. the sandbox's, never renewed;
* OAuth 2.0 client credentials: ``grant_type=client_credentials`` with the connected
  app's consumer key and secret, POSTed to ``/services/oauth2/token`` on the org's My
  Domain (Salesforce refuses this grant on login.salesforce.com); the session runs as
  the app's "Run As" user;
* OAuth 2.0 JWT bearer: ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` and
  an ``assertion`` signed RS256 with the private key whose certificate is uploaded to
  the app, claims ``iss`` (consumer key), ``sub`` (the integration user's username),
  ``aud`` (``https://login.salesforce.com``, or ``https://test.salesforce.com`` for a
  sandbox org) and ``exp`` (at most 3 minutes ahead); the user must be pre-authorized.

Neither answer carries ``expires_in`` nor a refresh token: a session lasts as long as
the org's session timeout allows. So the client keeps a token until Salesforce says
``401 INVALID_SESSION_ID``, then logs in again exactly once for that call; concurrent
calls that met the same expired token share one new login.
"""

from __future__ import annotations

import asyncio
import time
from typing import Literal

import jwt
import msgspec
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from systems.upstream import Upstream

Flow = Literal["access_token", "client_credentials", "jwt_bearer"]
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
PRODUCTION_AUDIENCE = "https://login.salesforce.com"
ASSERTION_SECONDS = 180  # Salesforce wants exp within 3 minutes


class SalesforceAuth(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Exactly one way in: ``access_token``; ``client_id`` + ``client_secret``; or
    ``client_id`` + ``username`` + ``private_key`` (PEM, RSA) for the JWT bearer flow."""

    access_token: str | None = None
    client_id: str | None = None  # the connected app's consumer key
    client_secret: str | None = None
    username: str | None = None
    private_key: str | None = None
    audience: str = PRODUCTION_AUDIENCE
    token_url: str | None = None  # default: <base_url>/services/oauth2/token

    def __post_init__(self) -> None:
        chosen = [
            flow
            for flow, value in (
                ("access_token", self.access_token),
                ("client_secret", self.client_secret),
                ("private_key", self.private_key),
            )
            if value
        ]
        if len(chosen) != 1:
            raise ValueError(
                "salesforce auth needs exactly one of access_token, client_id + "
                "client_secret (client credentials) or client_id + username + private_key "
                f"(JWT bearer); got {', '.join(chosen) or 'none'}"
            )
        missing = [
            name
            for name, needed in (
                ("client_id", self.flow != "access_token"),
                ("username", self.flow == "jwt_bearer"),
            )
            if needed and not getattr(self, name)
        ]
        if missing:
            raise ValueError(f"salesforce {self.flow} needs {' and '.join(missing)}")
        if self.private_key:
            signing_key(self.private_key)

    @property
    def flow(self) -> Flow:
        if self.access_token:
            return "access_token"
        return "client_credentials" if self.client_secret else "jwt_bearer"


def signing_key(pem: str) -> RSAPrivateKey:
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"salesforce private_key is not an unencrypted PEM key: {exc}") from None
    if not isinstance(key, RSAPrivateKey):
        raise ValueError("salesforce private_key must be an RSA key (Salesforce takes RS256)")
    return key


class _TokenAnswer(msgspec.Struct, frozen=True):
    access_token: str
    instance_url: str = ""
    token_type: str = ""


_answer = msgspec.json.Decoder(_TokenAnswer)


class Session:
    """The current session id, shared by every call of one client."""

    def __init__(self, upstream: Upstream, auth: SalesforceAuth) -> None:
        self._up = upstream
        self._auth = auth
        self._key = signing_key(auth.private_key) if auth.private_key else None
        self._token = auth.access_token
        self._lock = asyncio.Lock()
        self.logins = 0  # OAuth logins made so far (observability and tests)

    @property
    def renewable(self) -> bool:
        return self._auth.flow != "access_token"

    async def token(self) -> str:
        if self._token is not None:
            return self._token
        return await self.renew(stale=None)

    async def renew(self, stale: str | None) -> str:
        """A fresh session, unless another call already replaced ``stale``."""
        async with self._lock:
            if self._token is not None and self._token != stale:
                return self._token
            self._token = None
            answer = await self._login()
            self._token = answer.access_token
            return self._token

    async def _login(self) -> _TokenAnswer:
        auth = self._auth
        url = auth.token_url or f"{self._up.base_url}/services/oauth2/token"
        if self._key is not None:
            claims = {
                "iss": auth.client_id,
                "sub": auth.username,
                "aud": auth.audience,
                "exp": int(time.time()) + ASSERTION_SECONDS,
            }
            form = {
                "grant_type": JWT_BEARER_GRANT,
                "assertion": jwt.encode(claims, self._key, algorithm="RS256"),
            }
        else:
            form = {
                "grant_type": "client_credentials",
                "client_id": auth.client_id or "",
                "client_secret": auth.client_secret or "",
            }
        response = await self._up.request(
            "POST", url, operation="oauth.token", retry_safe=True, data=form
        )
        self.logins += 1
        return _answer.decode(response.content)
