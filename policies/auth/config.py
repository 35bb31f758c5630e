"""Auth configuration, validated at start-up: key sources, accepted algorithms, issuer clients."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import msgspec

from policies.auth.client_secrets import parse_secret_hash
from policies.auth.keys import (
    ASYMMETRIC_ALGORITHMS,
    HMAC_ALGORITHMS,
    SUPPORTED_ALGORITHMS,
    VerificationKey,
    jwk_thumbprint,
    key_from_jwk,
    key_from_pem,
    public_jwk,
)
from policies.auth.passwords import check_password_hash
from policies.auth.scopes import (
    ALL_SCOPES,
    CLIENT_ID_PATTERN,
    PLAN,
    PLAN_PATTERN,
    SCOPE_TOKEN,
    TENANT,
    TENANT_PATTERN,
)

TenantId = Annotated[str, msgspec.Meta(pattern=TENANT_PATTERN)]
ClientId = Annotated[str, msgspec.Meta(pattern=CLIENT_ID_PATTERN)]
PlanName = Annotated[str, msgspec.Meta(pattern=PLAN_PATTERN)]
ScopeName = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
SANDBOX_CLIENT_ID = "sandbox-client"
SANDBOX_CLIENT_SECRET = "sandbox-secret"  # noqa: S105 - the documented sandbox credential
SANDBOX_TENANT = "sandbox"
# hash_secret("sandbox-secret"), fixed so the embedded default needs no start-up hashing.
SANDBOX_SECRET_HASH = "scrypt$16384$8$1$EmGQUboYJaT+eBvZ/cpSow$SN0Sw2/ATI6ZW3JxgomTsCnh2qKJqRQE7a7KOM+g9Fk"  # noqa: E501, S105


class IssuerClient(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A client of the built-in token endpoint (RFC 6749 client credentials)."""

    client_id: ClientId
    # Output of ``policies.auth.hash_secret``; never the secret itself.
    secret_hash: Annotated[str, msgspec.Meta(max_length=500)]
    # Scopes the client may request; a token request without ``scope`` gets all of them.
    scopes: tuple[ScopeName, ...] = ()
    tenant: TenantId
    # Rate-limit plan written into the token; None leaves it to auth.plans_by_client.
    plan: PlanName | None = None

    def __post_init__(self) -> None:
        try:
            parse_secret_hash(self.secret_hash)
        except ValueError as exc:
            raise ValueError(f"auth.builtin_issuer.clients[{self.client_id}].secret_hash: "
                             f"{exc}") from None
        for scope in self.scopes:
            if not SCOPE_TOKEN.fullmatch(scope):
                raise ValueError(f"auth.builtin_issuer.clients[{self.client_id}].scopes: "
                                 f"{scope!r} is not a valid scope token")


UserName = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9._@-]{0,63}$")]
TeamName = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
RoleName = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]


class IssuerUser(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A person who signs in at the built-in issuer's authorization endpoint (OpenID
    Connect); what they may do is up to the relying party, from the claims below."""

    username: UserName
    # argon2id PHC string (``q2c auth hash-password``); never the password itself.
    password_hash: Annotated[str, msgspec.Meta(max_length=500)]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    tenant: TenantId
    # Claims ``teams`` and ``role`` of the ID token.
    teams: tuple[TeamName, ...] = ()
    role: RoleName

    def __post_init__(self) -> None:
        try:
            check_password_hash(self.password_hash)
        except ValueError as exc:
            raise ValueError(f"auth.builtin_issuer.users[{self.username}].password_hash: "
                             f"{exc}") from None


class RelyingParty(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An OpenID Connect client of the built-in issuer (authorization code with PKCE)."""

    client_id: ClientId
    # Where the authorization endpoint may send the browser back to, compared exactly.
    redirect_uris: Annotated[tuple[str, ...], msgspec.Meta(min_length=1, max_length=20)]
    # ``hash_secret`` output for a confidential client; None: a public client (PKCE only).
    secret_hash: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    # What the sign-in form says the person signs in to; None: the client id.
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None

    def __post_init__(self) -> None:
        where = f"auth.builtin_issuer.relying_parties[{self.client_id}]"
        for uri in self.redirect_uris:
            problem = redirect_uri_problem(uri)
            if problem:
                raise ValueError(f"{where}.redirect_uris: {uri[:100]!r} {problem}")
        if self.secret_hash is not None:
            try:
                parse_secret_hash(self.secret_hash)
            except ValueError as exc:
                raise ValueError(f"{where}.secret_hash: {exc}") from None


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def redirect_uri_problem(uri: str) -> str:
    """Why ``uri`` cannot be a redirect URI (RFC 6749 3.1.2, OAuth 2.0 security BCP), or ""."""
    parts = urlsplit(uri)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "is not an absolute http(s) URL"
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return "must use https (http only on a loopback address)"
    if parts.fragment or "#" in uri:
        return "must not contain a fragment"
    return ""


SANDBOX_CLIENT = IssuerClient(
    client_id=SANDBOX_CLIENT_ID,
    secret_hash=SANDBOX_SECRET_HASH,
    scopes=ALL_SCOPES,
    tenant=SANDBOX_TENANT,
)


class BuiltinIssuerConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The gateway's own token issuer, for the sandbox and small deployments."""

    enabled: bool = True
    # ``iss`` of the tokens it mints; None means auth.issuer. Its key only verifies tokens
    # that carry this issuer.
    issuer: Annotated[str, msgspec.Meta(min_length=1, max_length=500)] | None = None
    algorithm: Literal["RS256", "ES256", "EdDSA"] = "RS256"
    # PEM private key shared by every gateway process and the ``q2c token`` CLI; created
    # (mode 0600) on first use when missing. Relative paths start at the working directory.
    # None: ``issuer-key.pem`` in the gateway's home folder ($Q2C_HOME, else ./.q2c).
    key_file: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)] | None = None
    token_ttl_seconds: Annotated[int, msgspec.Meta(ge=60, le=86_400)] = 3600
    clients: tuple[IssuerClient, ...] = ()
    # Also accept sandbox-client / sandbox-secret (tenant "sandbox", every scope).
    # Only for the embedded default and local development.
    sandbox_client: bool = False
    # People who sign in through the OpenID Connect authorization code flow, and the
    # applications they sign in to (the operations console registers itself).
    users: tuple[IssuerUser, ...] = ()
    relying_parties: tuple[RelyingParty, ...] = ()
    # An authorization code is redeemable once, within this many seconds.
    code_ttl_seconds: Annotated[int, msgspec.Meta(ge=5, le=60)] = 60
    id_token_ttl_seconds: Annotated[int, msgspec.Meta(ge=60, le=3600)] = 300

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for client in self.all_clients():
            if client.client_id in seen:
                raise ValueError(f"auth.builtin_issuer.clients: client_id {client.client_id!r} "
                                 "appears more than once")
            seen.add(client.client_id)
        for party in self.relying_parties:
            if party.client_id in seen:
                raise ValueError(f"auth.builtin_issuer.relying_parties: client_id "
                                 f"{party.client_id!r} appears more than once")
            seen.add(party.client_id)
        names: set[str] = set()
        for user in self.users:
            if user.username in names:
                raise ValueError(f"auth.builtin_issuer.users: username {user.username!r} "
                                 "appears more than once")
            names.add(user.username)

    def all_clients(self) -> tuple[IssuerClient, ...]:
        return (*self.clients, SANDBOX_CLIENT) if self.sandbox_client else self.clients

    def key_path(self) -> Path:
        """The key file: as configured, or in the gateway's home folder."""
        if self.key_file is not None:
            return Path(self.key_file)
        # The variable gateway/home.py reads too: tests and several gateways on one
        # machine keep their keys apart without configuring a path.
        return Path(os.environ.get("Q2C_HOME") or ".q2c") / "issuer-key.pem"


class AuthConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Bearer JWT authentication: where keys come from and what a valid token looks like."""

    enabled: bool = True
    # Expected ``iss`` of tokens verified with JWKS or static keys.
    issuer: str = "urn:q2c:gateway"
    # Must appear in the token's ``aud`` (string or list).
    audience: str = "urn:q2c:api"
    # Allow-list for the JWS ``alg`` header. "none" is never accepted; HS* only with static
    # symmetric keys and then alone (no HS/RS key confusion).
    algorithms: tuple[str, ...] = ("RS256", "ES256", "EdDSA")
    # Clock skew tolerated on exp, nbf and iat.
    leeway_seconds: Annotated[int, msgspec.Meta(ge=0, le=300)] = 30
    # The identity provider's JWKS (https; http only for loopback or with jwks_allow_http).
    jwks_url: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    jwks_allow_http: bool = False
    # An unknown kid triggers at most one JWKS fetch per interval, so rotation works
    # without a restart while a flood of made-up kids cannot hammer the issuer.
    jwks_refetch_interval_seconds: Annotated[float, msgspec.Meta(ge=1, le=86_400)] = 60
    # Known keys are refreshed after this long (removed keys stop verifying).
    jwks_cache_seconds: Annotated[float, msgspec.Meta(ge=1, le=604_800)] = 300
    jwks_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 5.0
    # JWK objects or PEM strings (public keys or certificates). A key without kid
    # verifies tokens without kid; PEM keys also answer to their RFC 7638 thumbprint.
    static_keys: tuple[dict[str, Any] | str, ...] = ()
    builtin_issuer: BuiltinIssuerConfig = BuiltinIssuerConfig()
    # Tenant for tokens without a ``tenant`` claim; None rejects such tokens.
    default_tenant: TenantId | None = None
    # client id -> plan, for tokens without a ``plan`` claim (else plan "default").
    plans_by_client: dict[str, PlanName] = {}
    realm: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9 ._:/-]{1,64}$")] = "q2c"
    max_token_bytes: Annotated[int, msgspec.Meta(ge=512, le=65_536)] = 8192
    # Successful verifications are remembered per raw token until min(exp, now + ttl).
    cache_size: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] = 10_000
    cache_ttl_seconds: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 60

    def __post_init__(self) -> None:
        if not self.issuer.strip():
            raise ValueError("auth.issuer must not be empty")
        if not self.audience.strip():
            raise ValueError("auth.audience must not be empty")
        self._check_algorithms()
        if self.default_tenant is not None and not TENANT.fullmatch(self.default_tenant):
            raise ValueError("auth.default_tenant is not a valid tenant id")
        for client, plan in self.plans_by_client.items():
            if not PLAN.fullmatch(plan):
                raise ValueError(f"auth.plans_by_client[{client}] is not a valid plan name")
        if self.jwks_url is not None:
            self._check_jwks_url(self.jwks_url)
        symmetric = [key for key in self.parsed_static_keys() if isinstance(key.key, bytes)]
        uses_hmac = bool(HMAC_ALGORITHMS.intersection(self.algorithms))
        if uses_hmac and not symmetric:
            raise ValueError("auth.algorithms: HS* needs a symmetric (kty oct) key in "
                             "auth.static_keys")
        if not self.enabled:
            return
        builtin = self.builtin_issuer
        if not (self.jwks_url or self.static_keys or builtin.enabled):
            raise ValueError("auth: configure at least one key source (jwks_url, static_keys "
                             "or builtin_issuer.enabled)")
        if builtin.enabled and builtin.algorithm not in self.algorithms:
            raise ValueError(f"auth.builtin_issuer.algorithm {builtin.algorithm} must be listed "
                             "in auth.algorithms")

    def _check_algorithms(self) -> None:
        if not self.algorithms:
            raise ValueError("auth.algorithms must not be empty")
        for name in self.algorithms:
            if name.lower() == "none":
                raise ValueError("auth.algorithms: 'none' (unsigned tokens) is never allowed")
            if name not in SUPPORTED_ALGORITHMS:
                raise ValueError(f"auth.algorithms: unsupported algorithm {name!r}; use "
                                 f"{', '.join(sorted(SUPPORTED_ALGORITHMS))}")
        chosen = set(self.algorithms)
        if chosen & HMAC_ALGORITHMS and chosen & ASYMMETRIC_ALGORITHMS:
            raise ValueError("auth.algorithms: HS* cannot be combined with asymmetric "
                             "algorithms (HS/RS key confusion)")
        if chosen <= HMAC_ALGORITHMS and self.jwks_url is not None:
            raise ValueError("auth.jwks_url: JWKS keys are asymmetric but auth.algorithms "
                             "allows only HS*")

    def _check_jwks_url(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("auth.jwks_url must be an absolute https URL")
        if parts.scheme == "http" and not self.jwks_allow_http:
            try:
                loopback = ipaddress.ip_address(parts.hostname).is_loopback
            except ValueError:
                loopback = parts.hostname == "localhost"
            if not loopback:
                raise ValueError("auth.jwks_url must use https (set auth.jwks_allow_http for a "
                                 "trusted internal network)")

    def parsed_static_keys(self) -> list[VerificationKey]:
        """Static keys as verification keys (PEM keys twice: without kid and by thumbprint)."""
        result: list[VerificationKey] = []
        keyless = 0
        for index, entry in enumerate(self.static_keys):
            try:
                if isinstance(entry, str):
                    key = key_from_pem(entry, issuer=self.issuer, allowed=self.algorithms)
                    thumbprint = jwk_thumbprint(public_jwk(key.key))
                    result.extend([key, key_from_pem(entry, issuer=self.issuer,
                                                     allowed=self.algorithms, kid=thumbprint)])
                else:
                    key = key_from_jwk(entry, issuer=self.issuer, allowed=self.algorithms)
                    result.append(key)
            except ValueError as exc:
                raise ValueError(f"auth.static_keys[{index}]: {exc}") from None
            if key.kid is None:
                keyless += 1
        if keyless > 1:
            raise ValueError("auth.static_keys: at most one key may omit kid (tokens without "
                             "kid need one unambiguous key)")
        return result


def _demo_user(username: str, name: str, teams: tuple[str, ...], role: str,
               password_hash: str) -> IssuerUser:
    return IssuerUser(username=username, password_hash=password_hash, name=name,
                      tenant=SANDBOX_TENANT, teams=teams, role=role)


# The embedded default's people, for the operations console (README "The operations
# console"); the passwords are the documented pricing-demo, credit-demo, viewer-demo
# and admin-demo, hashed once here so start-up does no hashing.
DEMO_USERS = (
    _demo_user("priya", "Priya Nair", ("pricing-ops",), "operator",
               "$argon2id$v=19$m=65536,t=3,p=4$4GaiyQ+vOyaEz8B0XwdE3w$"
               "koY31VIT/kCC2yPMjEQrrFNbUrQ35SPqAcFd0RGGWsY"),
    _demo_user("carl", "Carl Jensen", ("credit-control",), "operator",
               "$argon2id$v=19$m=65536,t=3,p=4$YgA0W/Vl/xfTpN7FVkdG4g$"
               "Yg2BQGW177GZytJtbETnx3eIhfWdUumT2gRIZ+iiD2U"),
    _demo_user("vera", "Vera Okafor", ("pricing-ops", "credit-control"), "viewer",
               "$argon2id$v=19$m=65536,t=3,p=4$DKvlgucvVQxvy7oJrbMjkQ$"
               "NmjK2F4fVrYtxe/fqdx5ySbqv9Trpqyy6KfOJIvsyUA"),
    _demo_user("ada", "Ada Lindqvist", (), "admin",
               "$argon2id$v=19$m=65536,t=3,p=4$aBx5gR2c4hcsoJ/pKykv9w$"
               "A0wUglXWXJQiHCJgqrIse7xplv8fScQAt0wm55aARpU"),
)


def sandbox_auth_config(key_file: str | None = None) -> AuthConfig:
    """The embedded default: the built-in issuer with the sandbox client and the demo
    console users; the key in the gateway's home folder unless ``key_file`` says."""
    return AuthConfig(builtin_issuer=BuiltinIssuerConfig(
        sandbox_client=True, key_file=key_file, users=DEMO_USERS,
    ))
