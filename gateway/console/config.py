"""The operations console's configuration (``[console]``), validated at start-up."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

import msgspec

from policies.auth.config import ClientId, RelyingParty, is_loopback

Role = Literal["viewer", "operator", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "operator", "admin")
ClaimName = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_.:/-]{0,99}$")]
SystemName = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{1,31}$")]
CALLBACK_PATH = "/console/callback"


class ConsoleConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Who may sign in to /console, through which OpenID provider, and for how long."""

    enabled: bool = True
    # The OpenID provider's issuer URL (discovery at {issuer}/.well-known/openid-
    # configuration). None: this gateway's built-in issuer, resolved in-process.
    issuer: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    client_id: ClientId = "q2c-console"
    # Environment variable with the client secret of a confidential client; None: a
    # public client (PKCE alone), which is what the built-in issuer registers.
    client_secret_env: str | None = None
    # Allow an http issuer that is not on a loopback address (a trusted network only).
    issuer_allow_http: bool = False
    scopes: tuple[Annotated[str, msgspec.Meta(pattern=r"^[\x21\x23-\x5b\x5d-\x7e]{1,100}$")],
                  ...] = ("openid", "profile")
    # ID token signature algorithms accepted (never none or HS*).
    id_token_algorithms: tuple[Literal["RS256", "PS256", "ES256", "EdDSA"], ...] = (
        "RS256", "ES256", "EdDSA",
    )
    # Where the user's tenant, teams and role are in the ID token.
    tenant_claim: ClaimName = "tenant"
    teams_claim: ClaimName = "teams"
    role_claim: ClaimName = "role"
    name_claim: ClaimName = "name"
    # Role claim value -> console role; empty: the values viewer, operator and admin
    # as they are. A user with no mapped role cannot sign in.
    role_map: dict[Annotated[str, msgspec.Meta(min_length=1, max_length=200)], Role] = {}
    # A session ends after this long without a request, and after the absolute
    # timeout whatever happens.
    idle_timeout_seconds: Annotated[int, msgspec.Meta(ge=60, le=86_400)] = 1800
    absolute_timeout_seconds: Annotated[int, msgspec.Meta(ge=300, le=7 * 86_400)] = 43_200
    # Environment variable holding the key session cookies are signed with (32+
    # characters, the same in every process). None: derived from the built-in issuer's
    # key file, else generated once into the gateway's home folder.
    session_secret_env: str | None = None
    # System name -> URL of a record in that system's own UI, ``{id}`` standing for its id.
    record_urls: dict[SystemName, Annotated[str, msgspec.Meta(max_length=1000)]] = {}
    # How often the pages poll the queue counts.
    refresh_seconds: Annotated[int, msgspec.Meta(ge=1, le=3600)] = 10
    # The provider's discovery document is fetched again after this long.
    discovery_cache_seconds: Annotated[float, msgspec.Meta(ge=1, le=86_400)] = 3600
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 5.0

    def __post_init__(self) -> None:
        if self.issuer is not None:
            parts = urlsplit(self.issuer)
            if parts.scheme not in ("https", "http") or not parts.hostname or parts.query:
                raise ValueError("console.issuer must be an absolute https URL")
            if parts.scheme == "http" and not (self.issuer_allow_http
                                               or is_loopback(parts.hostname)):
                raise ValueError("console.issuer must use https (set console.issuer_allow_http "
                                 "for a trusted internal network)")
        if "openid" not in self.scopes:
            raise ValueError("console.scopes must include openid")
        if not self.id_token_algorithms:
            raise ValueError("console.id_token_algorithms must not be empty")
        if self.absolute_timeout_seconds < self.idle_timeout_seconds:
            raise ValueError("console.absolute_timeout_seconds must be at least "
                             "console.idle_timeout_seconds")
        for system, pattern in self.record_urls.items():
            where = f"console.record_urls.{system}"
            if pattern.count("{id}") != 1:
                raise ValueError(f"{where} must contain {{id}} exactly once")
            if urlsplit(pattern).scheme not in ("https", "http"):
                raise ValueError(f"{where} must be an http(s) URL")

    def role_for(self, value: str) -> Role | None:
        if self.role_map:
            return self.role_map.get(value)
        return next((role for role in ROLES if role == value), None)


def callback_urls(origin: str) -> tuple[str, ...]:
    """The console's redirect URIs for a gateway reached at ``origin``; on a loopback
    address both names of it, so a browser on localhost and one on 127.0.0.1 each
    come back to the host their cookies belong to."""
    parts = urlsplit(origin)
    host = parts.hostname or ""
    origins = [origin.rstrip("/")]
    if is_loopback(host) or host in ("0.0.0.0", "::"):  # noqa: S104 - names, not binds
        port = f":{parts.port}" if parts.port else ""
        origins = [f"{parts.scheme}://{name}{port}" for name in ("127.0.0.1", "localhost")]
    return tuple(f"{o}{CALLBACK_PATH}" for o in origins)


def console_relying_party(config: ConsoleConfig, origin: str) -> RelyingParty | None:
    """The console as a client of the built-in issuer, when it signs in there."""
    if not config.enabled or config.issuer is not None:
        return None
    return RelyingParty(client_id=config.client_id, redirect_uris=callback_urls(origin),
                        name="the Q2C operations console")
