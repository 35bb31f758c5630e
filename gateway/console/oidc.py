"""The console as an OpenID Connect relying party: where the provider's endpoints are,
redeeming a code, verifying the ID token, and the claims as a ConsoleUser.

``HttpProvider`` speaks to any provider over HTTP: discovery from
``{issuer}/.well-known/openid-configuration`` (cached), the token endpoint, the
JWKS (policies/auth/jwks.py). ``LocalProvider`` is the gateway's own built-in
issuer, reached in-process: the same code the token endpoint runs, without a
round trip to the gateway's own public URL (which behind a load balancer or in a
container it may not reach). The browser's part of the flow is HTTP either way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import msgspec

from gateway.console.auth import ConsoleUser
from gateway.console.config import ConsoleConfig
from policies.auth.config import is_loopback
from policies.auth.id_tokens import IdTokenInvalid, IdTokenVerifier
from policies.auth.idp import OpenIdProvider, TokenRequestRejected
from policies.auth.jwks import JwksKeySource
from policies.auth.keys import VerificationKey
from policies.auth.scopes import TENANT

MAX_DOCUMENT_BYTES = 256 * 1024


class SignInFailed(Exception):
    """The provider's answer does not sign anybody in; the message is safe to show."""


class ProviderUnavailable(Exception):
    """The provider cannot be reached or answers nonsense (503 for the user)."""


class ProviderMetadata(msgspec.Struct, frozen=True, kw_only=True):
    """What the console uses of the provider's discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    code_challenge_methods_supported: list[str] = []


class Provider(Protocol):
    issuer: str  # whose users these are: a session from another issuer is no session here

    async def metadata(self) -> ProviderMetadata: ...

    async def redeem(self, code: str, redirect_uri: str, verifier: str) -> str:
        """The ID token for an authorization code (SignInFailed when refused)."""
        ...

    async def verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        """Its claims, verified (SignInFailed otherwise)."""
        ...


class LocalProvider:
    """The built-in issuer of this gateway, as the console's provider."""

    def __init__(self, provider: OpenIdProvider, config: ConsoleConfig, *,
                 clock: Callable[[], float] = time.time) -> None:
        self._provider = provider
        self.issuer = provider.issuer_url
        self._client_id = config.client_id
        self._meta = msgspec.convert(provider.metadata(), ProviderMetadata)
        self._key: VerificationKey | None = None
        self._verifier = IdTokenVerifier(
            issuer=provider.issuer_url, client_id=config.client_id,
            algorithms=config.id_token_algorithms, keys=self._lookup, clock=clock,
        )

    async def _lookup(self, kid: str | None) -> VerificationKey | None:
        issuer = self._provider.issuer
        if self._key is None:
            if not issuer.loaded:
                await asyncio.to_thread(issuer.load)
            self._key = issuer.verification_key([issuer.algorithm],
                                                issuer=self._provider.issuer_url)
        return self._key if kid == self._key.kid else None

    async def metadata(self) -> ProviderMetadata:
        return self._meta

    async def redeem(self, code: str, redirect_uri: str, verifier: str) -> str:
        form = {"code": code, "redirect_uri": redirect_uri, "code_verifier": verifier}
        try:
            body = await self._provider.redeem(form, self._client_id, None)
        except TokenRequestRejected as rejected:
            raise SignInFailed(f"the sign-in could not be completed ({rejected.error}: "
                               f"{rejected.description})") from None
        return str(msgspec.json.decode(body)["id_token"])

    async def verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        try:
            return await self._verifier.verify(id_token, nonce=nonce)
        except IdTokenInvalid as invalid:
            raise SignInFailed(str(invalid)) from None


def _usable(url: str, allow_http: bool) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    return parts.scheme == "http" and bool(parts.hostname) and (
        allow_http or is_loopback(parts.hostname or ""))


class HttpProvider:
    """Any OpenID provider, over HTTP."""

    def __init__(self, config: ConsoleConfig, http: httpx.AsyncClient, *,
                 client_secret: str | None = None, clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        assert config.issuer is not None
        self._config = config
        self._issuer = self.issuer = config.issuer.rstrip("/")
        self._http = http
        self._secret = client_secret
        self._clock = clock
        self._monotonic = monotonic
        self._meta: ProviderMetadata | None = None
        self._fetched_at = 0.0
        self._jwks: JwksKeySource | None = None

    async def metadata(self) -> ProviderMetadata:
        fresh = self._monotonic() - self._fetched_at < self._config.discovery_cache_seconds
        if self._meta is not None and fresh:
            return self._meta
        try:
            meta = await self._discover()
        except ProviderUnavailable:
            if self._meta is not None:
                return self._meta  # a stale document beats no sign-in at all
            raise
        if self._meta is None or meta.jwks_uri != self._meta.jwks_uri:
            self._jwks = JwksKeySource(meta.jwks_uri, self._http, issuer=self._issuer,
                                       algorithms=self._config.id_token_algorithms,
                                       timeout=self._config.timeout_seconds)
        self._meta, self._fetched_at = meta, self._monotonic()
        return meta

    async def _discover(self) -> ProviderMetadata:
        url = self._issuer + "/.well-known/openid-configuration"
        document = await self._json("GET", url)
        try:
            meta = msgspec.convert(document, ProviderMetadata)
        except msgspec.ValidationError as exc:
            raise ProviderUnavailable(f"{url}: not a discovery document ({exc})") from None
        # OpenID Connect Discovery 1.0 section 4.3: the document must name the issuer
        # it was fetched for, or another provider could pose as this one.
        if meta.issuer.rstrip("/") != self._issuer:
            raise ProviderUnavailable(f"{url} names issuer {meta.issuer[:100]!r}")
        allow = self._config.issuer_allow_http
        for endpoint in (meta.authorization_endpoint, meta.token_endpoint, meta.jwks_uri):
            if not _usable(endpoint, allow):
                raise ProviderUnavailable(f"{url}: endpoint {endpoint[:100]!r} is not https")
        methods = meta.code_challenge_methods_supported
        if methods and "S256" not in methods:
            raise ProviderUnavailable(f"{url}: the provider does not support PKCE S256")
        return meta

    async def _json(self, method: str, url: str, **kwargs: Any) -> Any:
        try:
            response = await self._http.request(
                method, url, timeout=self._config.timeout_seconds,
                headers={"accept": "application/json"}, **kwargs,
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"{url}: {type(exc).__name__}") from None
        if len(response.content) > MAX_DOCUMENT_BYTES:
            raise ProviderUnavailable(f"{url}: the answer is too large")
        try:
            body = msgspec.json.decode(response.content)
        except msgspec.DecodeError:
            raise ProviderUnavailable(f"{url}: HTTP {response.status_code}, not JSON") from None
        if response.status_code >= 500 or (response.status_code != 200 and not (
                isinstance(body, dict) and "error" in body)):
            raise ProviderUnavailable(f"{url}: HTTP {response.status_code}")
        return body

    async def redeem(self, code: str, redirect_uri: str, verifier: str) -> str:
        meta = await self.metadata()
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": redirect_uri, "code_verifier": verifier,
                "client_id": self._config.client_id}
        auth = None
        if self._secret is not None:
            auth = httpx.BasicAuth(self._config.client_id, self._secret)
            del form["client_id"]
        body = await self._json("POST", meta.token_endpoint, data=form, auth=auth)
        if not isinstance(body, dict):
            raise ProviderUnavailable("the token endpoint answered no JSON object")
        if "error" in body:
            error = str(body.get("error"))[:60]
            raise SignInFailed(f"the sign-in could not be completed ({error}: "
                               f"{str(body.get('error_description', ''))[:200]})")
        token = body.get("id_token")
        if not isinstance(token, str):
            raise SignInFailed("the provider returned no ID token (is openid in the scope?)")
        return token

    async def verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        meta = await self.metadata()
        jwks = self._jwks
        assert jwks is not None

        async def lookup(kid: str | None) -> VerificationKey | None:
            return jwks.cached(kid) or await jwks.get(kid)

        verifier = IdTokenVerifier(issuer=meta.issuer, client_id=self._config.client_id,
                                   algorithms=self._config.id_token_algorithms,
                                   keys=lookup, clock=self._clock)
        try:
            return await verifier.verify(id_token, nonce=nonce)
        except IdTokenInvalid as invalid:
            raise SignInFailed(str(invalid)) from None


def _teams(value: Any) -> tuple[str, ...]:
    items = value.replace(",", " ").split() if isinstance(value, str) else value
    if items is None:
        return ()
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise SignInFailed("the teams claim is not a list of names")
    return tuple(dict.fromkeys(item[:100] for item in items[:100]))


def user_from_claims(claims: Mapping[str, Any], config: ConsoleConfig) -> ConsoleUser:
    """The console user the verified claims describe; SignInFailed naming what is
    missing when they describe nobody the console can serve."""
    tenant = claims.get(config.tenant_claim)
    if not isinstance(tenant, str):
        raise SignInFailed(f"your account has no {config.tenant_claim} claim, so the console "
                           "cannot tell whose data to show")
    if not TENANT.fullmatch(tenant):
        raise SignInFailed(f"the {config.tenant_claim} claim is not a valid tenant")
    raw_role = claims.get(config.role_claim)
    values = raw_role if isinstance(raw_role, list) else [raw_role]
    roles = {config.role_for(value) for value in values if isinstance(value, str)}
    best = next((role for role in ("admin", "operator", "viewer") if role in roles), None)
    if best is None:
        raise SignInFailed(f"your account has no console role (claim {config.role_claim})")
    subject = str(claims["sub"])
    name = claims.get(config.name_claim) or claims.get("preferred_username") or subject
    return ConsoleUser(subject=subject[:200], name=str(name)[:200], tenant=tenant,
                       teams=_teams(claims.get(config.teams_claim)), role=best)
