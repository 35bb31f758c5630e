"""OAuth 2.0 access tokens for NetSuite REST web services.

Real integrations use the client credentials (machine-to-machine) flow: the integration
record's client ID and a certificate mapped to it in NetSuite (its certificate ID) sign a
JWT client assertion (header ``alg`` PS256/384/512 or ES256/384/512, ``kid`` = certificate
ID; claims ``iss`` = client ID, ``scope`` = ``rest_webservices``, ``aud`` = the token
endpoint's URL, ``iat``, ``exp`` at most 60 minutes later), posted as
``grant_type=client_credentials`` with
``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`` to
``/services/rest/auth/oauth2/v1/token``. The access token lives 60 minutes.

:class:`MachineTokens` caches the token, renews it a margin before it expires and once
after NetSuite answers 401 with it; concurrent callers wait for one renewal instead of
each fetching a token. :class:`FixedToken` keeps the older fixed-token configuration.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from collections.abc import Callable
from typing import Annotated, Literal, Protocol

import jwt
import msgspec
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import (
    load_der_private_key,
    load_pem_private_key,
)

from domains.errors import DependencyUnavailable
from systems.netsuite.errors import SYSTEM
from systems.upstream import Upstream

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"  # noqa: S105 - a path, not a secret
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

Algorithm = Literal["PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
Scope = Literal["restlets", "rest_webservices", "suite_analytics"]
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_EC_ALGORITHMS: dict[str, Algorithm] = {
    "secp256r1": "ES256",
    "secp384r1": "ES384",
    "secp521r1": "ES512",
}


class ClientCredentials(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the client credentials flow needs; ``private_key`` is the certificate's key
    as PEM, or as base64 DER (one line, for environment variables)."""

    client_id: str
    certificate_id: str
    private_key: str = msgspec.field(default="")  # a secret: kept out of repr below
    scopes: tuple[Scope, ...] = ("rest_webservices",)
    # None: PS256 for an RSA key, ES256/ES384/ES512 for an EC key on P-256/384/521.
    algorithm: Algorithm | None = None
    assertion_seconds: Annotated[int, msgspec.Meta(ge=60, le=3600)] = 300
    # Renew this long before the token expires (at most half its lifetime).
    refresh_margin_seconds: Annotated[float, msgspec.Meta(ge=0)] = 300.0

    def __post_init__(self) -> None:
        for name in ("client_id", "certificate_id", "private_key"):
            if not getattr(self, name).strip():
                raise ValueError(f"netsuite client credentials need a non-empty {name}")
        if "rest_webservices" not in self.scopes:
            raise ValueError("netsuite client credentials need the rest_webservices scope")

    def __repr__(self) -> str:
        return f"ClientCredentials(client_id={self.client_id!r}, certificate_id=...)"


def load_private_key(text: str) -> PrivateKey:
    """An RSA or EC private key from PEM or base64 DER; ValueError says what is wrong."""
    data = text.strip().encode()
    try:
        if data.startswith(b"-----BEGIN"):
            key = load_pem_private_key(data, password=None)
        else:
            key = load_der_private_key(base64.b64decode(data, validate=True), password=None)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ValueError(f"not an unencrypted PEM or base64 DER private key ({exc})") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError("NetSuite certificates take RSA or EC keys")
    return key


def algorithm_for(key: PrivateKey, wanted: Algorithm | None) -> Algorithm:
    if isinstance(key, rsa.RSAPrivateKey):
        algorithm: Algorithm = wanted or "PS256"
        if not algorithm.startswith("PS"):
            raise ValueError(f"an RSA key signs PS256/PS384/PS512, not {algorithm}")
        return algorithm
    curve = _EC_ALGORITHMS.get(key.curve.name)
    if curve is None:
        raise ValueError(f"NetSuite takes EC keys on P-256, P-384 or P-521, not {key.curve.name}")
    if wanted is not None and wanted != curve:
        raise ValueError(f"an EC key on {key.curve.name} signs {curve}, not {wanted}")
    return curve


class TokenSource(Protocol):
    async def token(self) -> str:
        """A bearer token to send now."""
        ...

    async def refresh(self, rejected: str) -> str | None:
        """A new token after NetSuite answered 401 to ``rejected``; None if there is none."""
        ...


class FixedToken:
    """One configured access token (it cannot be renewed when NetSuite stops taking it)."""

    def __init__(self, access_token: str) -> None:
        if not access_token.strip():
            raise ValueError("netsuite auth needs a non-empty access_token")
        self._token = access_token

    async def token(self) -> str:
        return self._token

    async def refresh(self, rejected: str) -> str | None:
        del rejected
        return None


class _Token(msgspec.Struct, frozen=True):
    access_token: str
    expires_in: int | str
    token_type: str = "bearer"  # noqa: S105 - the token kind, not a secret


class _Refusal(msgspec.Struct, frozen=True):
    error: str = "unknown_error"
    error_description: str = ""


_token = msgspec.json.Decoder(_Token)
_refusal = msgspec.json.Decoder(_Refusal)


class MachineTokens:
    """Access tokens from the client credentials flow, cached and renewed in time."""

    def __init__(
        self,
        upstream: Upstream,
        credentials: ClientCredentials,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._up = upstream
        self._credentials = credentials
        self._key = load_private_key(credentials.private_key)
        self._algorithm = algorithm_for(self._key, credentials.algorithm)
        self._clock = clock
        self._lock = asyncio.Lock()
        self._current: tuple[str, float] | None = None  # (token, renew after)
        self.exchanges = 0  # token requests made, for tests and diagnostics

    async def token(self) -> str:
        current = self._current
        if current is not None and self._clock() < current[1]:
            return current[0]
        return await self._renew(current[0] if current else None)

    async def refresh(self, rejected: str) -> str | None:
        return await self._renew(rejected)

    async def _renew(self, stale: str | None) -> str:
        async with self._lock:
            current = self._current
            if current is not None and current[0] != stale and self._clock() < current[1]:
                return current[0]  # another caller renewed it while this one waited
            token, lifetime = await self._exchange()
            margin = min(self._credentials.refresh_margin_seconds, lifetime / 2)
            self._current = (token, self._clock() + lifetime - margin)
            return token

    def assertion(self) -> str:
        """A fresh client assertion, signed with the certificate's key."""
        now = int(self._clock())
        claims = {
            "iss": self._credentials.client_id,
            "scope": ",".join(self._credentials.scopes),
            "aud": self._up.base_url + TOKEN_PATH,
            "iat": now,
            "exp": now + self._credentials.assertion_seconds,
        }
        headers = {"kid": self._credentials.certificate_id, "typ": "JWT"}
        return jwt.encode(claims, self._key, algorithm=self._algorithm, headers=headers)

    async def _exchange(self) -> tuple[str, float]:
        self.exchanges += 1
        response = await self._up.request(
            "POST",
            TOKEN_PATH,
            operation="oauth2.token",
            retry_safe=True,  # asking for a token twice is harmless
            accept_statuses=frozenset({400, 401}),
            headers={"Accept": "application/json"},
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": self.assertion(),
            },
        )
        if response.status_code in (400, 401):
            try:
                refusal = _refusal.decode(response.content)
            except msgspec.DecodeError:
                refusal = _Refusal(error=f"HTTP_{response.status_code}")
            raise DependencyUnavailable(
                "NetSuite refused the integration's client credentials "
                f"({refusal.error}: {refusal.error_description or 'no description'}); check "
                "the client ID, the certificate ID, its key and the integration's role.",
                system=SYSTEM,
            )
        try:
            answer = _token.decode(response.content)
            lifetime = float(answer.expires_in)
        except (msgspec.DecodeError, ValueError):
            raise DependencyUnavailable(
                "NetSuite's token endpoint answered something other than a token.",
                system=SYSTEM,
            ) from None
        if answer.token_type.casefold() != "bearer" or lifetime <= 0:
            raise DependencyUnavailable(
                f"NetSuite issued a {answer.token_type} token for {lifetime:g}s; "
                "a bearer token was expected.",
                system=SYSTEM,
            )
        return answer.access_token, lifetime
