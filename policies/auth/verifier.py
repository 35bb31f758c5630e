"""Bearer token verification: signature, issuer, audience, lifetime, tenant -> ``Consumer``.

PyJWT's public API does the JWS and JWT work: ``jwt.get_unverified_header`` for
the ``kid`` and ``alg`` that pick the key, then ``PyJWT.decode`` with that key,
the one algorithm allowed for it (never ``none``, no HS/RS confusion: each key is
bound to its own family), the audience, the key's issuer and ``exp`` required.
The lifetime (``exp``, ``nbf``, ``iat`` with leeway) is checked here, on the
verifier's clock, which tests and the token cache share. Successful results are
cached per raw token, so a consumer's requests pay for this once per token
(bench/README.md has the numbers).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import msgspec

from policies.auth.config import AuthConfig
from policies.auth.issuer import Issuer
from policies.auth.jwks import JwksKeySource
from policies.auth.keys import VerificationKey
from policies.auth.scopes import CLIENT_ID, PLAN, TENANT
from policies.consumer import Consumer

_COMPACT = re.compile(rb"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class AuthFailure(Exception):
    """Why a token was not accepted; ``description`` is safe to show (never the token)."""

    def __init__(self, code: str, description: str, *, status: int = 401) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.status = status


def _invalid(description: str) -> AuthFailure:
    return AuthFailure("TOKEN_INVALID", description)


class _Claims(msgspec.Struct):
    iss: str | None = None
    aud: str | list[str] | None = None
    exp: int | float | None = None
    nbf: int | float | None = None
    iat: int | float | None = None
    sub: str | None = None
    client_id: str | None = None
    azp: str | None = None
    tenant: str | None = None
    plan: str | None = None
    scope: str | None = None
    scp: list[str] | str | None = None


# The lifetime is checked on the verifier's clock (see the module docstring);
# PyJWT checks the signature, iss, aud and that exp is there.
_DECODE_OPTIONS: Any = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": True,
    "verify_iss": True,
    "require": ["exp"],
}
_UNSUPPORTED = "token uses unsupported critical header parameters"
_MISSING = {
    "exp": "token has no exp claim",
    "aud": "token audience does not include this API",
    "iss": "token issuer is not accepted",
}


class TokenVerifier:
    """Verifies bearer tokens against static, built-in issuer and JWKS keys."""

    def __init__(
        self,
        config: AuthConfig,
        *,
        static_keys: list[VerificationKey] | None = None,
        issuer: Issuer | None = None,
        jwks: JwksKeySource | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.jwks = jwks
        self._issuer = issuer
        self._issuer_key: VerificationKey | None = None
        self._algorithms = frozenset(config.algorithms)
        self._local: dict[str | None, VerificationKey] = {
            key.kid: key for key in (static_keys or [])
        }
        self._audience = config.audience
        self._leeway = config.leeway_seconds
        self._default_tenant = config.default_tenant
        self._plans = dict(config.plans_by_client)
        self._max_bytes = config.max_token_bytes
        self._clock = clock
        self._cache: OrderedDict[bytes, tuple[float, Consumer]] = OrderedDict()
        self._cache_size = config.cache_size
        self._cache_ttl = config.cache_ttl_seconds
        self._jwt = jwt.PyJWT()

    async def warm_up(self) -> None:
        """Load the built-in issuer's key and fetch the JWKS now, off the request path.

        Optional (both happen lazily otherwise); call it from the app's start-up. A JWKS
        failure is logged, not raised, so the gateway starts while the provider is down.
        """
        if self._issuer is not None and self._issuer_key is None:
            issuer = self._issuer
            self._issuer_key = await asyncio.to_thread(issuer.verification_key,
                                                       self._algorithms)
        if self.jwks is not None and not self.jwks.loaded:
            await self.jwks.refresh()

    def cached(self, token: bytes) -> Consumer | None:
        """The consumer of a token verified recently and still within its lifetime."""
        entry = self._cache.get(token)
        if entry is None:
            return None
        if self._clock() >= entry[0]:
            self._cache.pop(token, None)
            return None
        # No await since the lookup, so on one event loop the entry is still there.
        self._cache.move_to_end(token)
        return entry[1]

    async def verify(self, token: bytes) -> Consumer:
        """Full verification; raises ``AuthFailure``. Caches the result on success."""
        if len(token) > self._max_bytes:
            raise _invalid("token is too long")
        if not _COMPACT.fullmatch(token):
            raise _invalid("token is not a compact JWS")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise _invalid("token header is malformed") from None
        except jwt.InvalidTokenError as exc:  # PyJWS refuses a crit it does not know
            critical = "crit" in str(exc).lower()
            raise _invalid(_UNSUPPORTED if critical else "token header is malformed") from None
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in self._algorithms:
            raise _invalid("token algorithm is not allowed")
        if "crit" in header or "b64" in header:  # RFC 7797 unencoded payloads included
            raise _invalid(_UNSUPPORTED)
        key = await self._key(header.get("kid"))
        if algorithm not in key.verifiers:  # another key family: HS/RS confusion
            raise _invalid("token signature is invalid")
        claims = self._decode(token, key, algorithm)
        now = self._clock()
        deadline = self._check_lifetime(claims, now)
        consumer = self._consumer(claims)
        if self._cache_size:
            self._cache[token] = (min(deadline, now + self._cache_ttl), consumer)
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return consumer

    def _decode(self, token: bytes, key: VerificationKey, algorithm: str) -> _Claims:
        try:
            payload = self._jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=self._audience,
                issuer=key.issuer,
                options=_DECODE_OPTIONS,
            )
            return msgspec.convert(payload, _Claims)
        except jwt.InvalidSignatureError:
            raise _invalid("token signature is invalid") from None
        except jwt.InvalidIssuerError:
            raise _invalid("token issuer is not accepted") from None
        except jwt.InvalidAudienceError:
            raise _invalid("token audience does not include this API") from None
        except jwt.MissingRequiredClaimError as missing:
            raise _invalid(_MISSING.get(missing.claim, "token claims are malformed")) from None
        except (jwt.PyJWTError, msgspec.ValidationError):
            raise _invalid("token claims are malformed") from None

    async def _key(self, kid: str | None) -> VerificationKey:
        key = self._local.get(kid)
        if key is not None:
            return key
        if self._issuer is not None:
            issuer_key = self._issuer_key
            if issuer_key is None:
                issuer_key = self._issuer_key = self._issuer.verification_key(self._algorithms)
            if kid == issuer_key.kid:
                return issuer_key
        if self.jwks is not None:
            key = self.jwks.cached(kid) or await self.jwks.get(kid)
            if key is not None:
                return key
            if not self.jwks.loaded:
                raise AuthFailure(
                    "DEPENDENCY_UNAVAILABLE",
                    "the identity provider's signing keys cannot be fetched",
                    status=503,
                )
        raise _invalid("token signing key is unknown")

    def _check_lifetime(self, claims: _Claims, now: float) -> float:
        """exp, nbf and iat against the verifier's clock; the time the token expires."""
        if claims.exp is None:
            raise _invalid("token has no exp claim")
        if claims.exp <= now - self._leeway:
            raise AuthFailure("TOKEN_EXPIRED", "token has expired")
        if claims.nbf is not None and claims.nbf > now + self._leeway:
            raise _invalid("token is not valid yet")
        if claims.iat is not None and claims.iat > now + self._leeway:
            raise _invalid("token was issued in the future")
        return float(claims.exp + self._leeway)

    def _consumer(self, claims: _Claims) -> Consumer:
        client_id = claims.client_id or claims.azp or claims.sub
        if client_id is None:
            raise _invalid("token has no client_id, azp or sub claim")
        if not CLIENT_ID.fullmatch(client_id):
            raise _invalid("token client id is not valid")
        tenant = claims.tenant
        if tenant is None:
            tenant = self._default_tenant
            if tenant is None:
                raise _invalid("token has no tenant claim")
        elif not TENANT.fullmatch(tenant):
            raise _invalid("token tenant claim is not a valid tenant id")
        plan = claims.plan or self._plans.get(client_id, "default")
        if not PLAN.fullmatch(plan):
            raise _invalid("token plan claim is not a valid plan name")
        if claims.scope is not None:
            scopes = frozenset(claims.scope.split())
        elif isinstance(claims.scp, str):
            scopes = frozenset(claims.scp.split())
        else:
            scopes = frozenset(claims.scp or ())
        return Consumer(client_id=client_id, tenant=tenant, plan=plan, scopes=scopes)


def build_verifier(
    config: AuthConfig,
    *,
    http_client: httpx.AsyncClient | None = None,
    issuer: Issuer | None = None,
    clock: Callable[[], float] = time.time,
    monotonic: Callable[[], float] = time.monotonic,
) -> TokenVerifier:
    """The verifier for ``config``; build it once per process and share it across routes.

    ``http_client`` is needed when ``config.jwks_url`` is set; ``issuer`` defaults to
    ``Issuer.from_config(config)`` when the built-in issuer is enabled (pass the one
    the token routes use, so the key is loaded once).
    """
    jwks = None
    if config.jwks_url is not None:
        if http_client is None:
            raise ValueError("auth.jwks_url is set but no HTTP client was given")
        jwks = JwksKeySource(
            config.jwks_url,
            http_client,
            issuer=config.issuer,
            algorithms=config.algorithms,
            refetch_interval=config.jwks_refetch_interval_seconds,
            cache_seconds=config.jwks_cache_seconds,
            timeout=config.jwks_timeout_seconds,
            monotonic=monotonic,
        )
    if config.builtin_issuer.enabled:
        issuer = issuer or Issuer.from_config(config, clock=clock)
    else:
        issuer = None
    return TokenVerifier(config, static_keys=config.parsed_static_keys(), issuer=issuer,
                         jwks=jwks, clock=clock)
