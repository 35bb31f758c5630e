"""The built-in issuer as an OpenID Connect provider: people from configuration sign in
with a password and relying parties (the operations console) receive ID tokens.

Authorization code flow with PKCE (RFC 6749 section 4.1, RFC 7636 S256 only, OpenID
Connect Core 1.0 section 3.1), codes single-use across processes (codes.py), ID
tokens signed with the issuer's key and published in its JWKS. The ID tokens' ``iss``
is the gateway's URL (discovery needs an https-style issuer); the API's access
tokens keep ``auth.issuer``, so an ID token is never accepted as an API token.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import msgspec

from policies.auth.client_secrets import parse_secret_hash, verify_secret
from policies.auth.codes import AuthorizationCodeStore, AuthorizationGrant, code_hash
from policies.auth.config import BuiltinIssuerConfig, IssuerUser, RelyingParty
from policies.auth.issuer import Issuer
from policies.auth.passwords import DECOY_HASH, verify_password

AUTHORIZE_URL = "/oauth/authorize"
DISCOVERY_URL = "/.well-known/openid-configuration"
SCOPES = ("openid", "profile")
CLAIMS = ("sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "azp", "name",
          "preferred_username", "tenant", "teams", "role")
MAX_CONCURRENT_HASHES = 2  # argon2id takes 64 MiB and ~50 ms per check
# RFC 7636 section 4.1 and 4.2: 43-128 unreserved characters; S256 challenges are 43.
_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")
_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
_PRINTABLE = re.compile(r"[\x20-\x7e]{1,500}")
_encoder = msgspec.json.Encoder()


class TokenRequestRejected(Exception):
    """An RFC 6749 section 5.2 error for the token endpoint."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


class UnknownClient(Exception):
    """client_id or redirect_uri is wrong: the browser must not be sent anywhere
    (RFC 6749 section 4.1.2.1), the user sees an error page."""


class AuthorizationRefused(Exception):
    """An invalid authorization request from a known client: reported to its
    redirect URI as ``error`` (RFC 6749 section 4.1.2.1)."""

    def __init__(self, location: str, error: str) -> None:
        super().__init__(error)
        self.location = location
        self.error = error


class AuthorizationRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A checked authorization request; the sign-in form carries it as hidden fields."""

    client_id: str
    redirect_uri: str
    scope: str
    state: str
    nonce: str
    code_challenge: str
    response_type: str = "code"
    code_challenge_method: str = "S256"

    def fields(self) -> dict[str, str]:
        return msgspec.structs.asdict(self)


@dataclass(frozen=True, slots=True)
class SignInEvent:
    """One password sign-in attempt, for the audit trail."""

    username: str  # as typed (cut and cleaned), also when no such user exists
    user: IssuerUser | None  # None: the attempt failed
    client_id: str
    trace_id: str


SignInHook = Callable[[SignInEvent], Awaitable[None]]


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def with_query(uri: str, params: Mapping[str, str]) -> str:
    return uri + ("&" if urlsplit(uri).query else "?") + urlencode(params)


def clean_username(value: str) -> str:
    return "".join(ch for ch in value.strip().lower()[:64] if ch.isprintable())


class OpenIdProvider:
    """Checks authorization requests and passwords, issues and redeems codes."""

    def __init__(
        self,
        issuer: Issuer,
        config: BuiltinIssuerConfig,
        *,
        issuer_url: str,
        relying_parties: Sequence[RelyingParty],
        codes: AuthorizationCodeStore,
        clock: Callable[[], float] = time.time,
        on_sign_in: SignInHook | None = None,
    ) -> None:
        self.issuer = issuer
        self.issuer_url = issuer_url.rstrip("/")
        self._config = config
        self._parties = {party.client_id: party for party in relying_parties}
        self._users = {user.username: user for user in config.users}
        self._codes = codes
        self._clock = clock
        self._on_sign_in = on_sign_in
        self._hashing = asyncio.Semaphore(MAX_CONCURRENT_HASHES)

    @property
    def relying_parties(self) -> Mapping[str, RelyingParty]:
        return self._parties

    def metadata(self) -> dict[str, Any]:
        """OpenID Connect Discovery 1.0 provider metadata."""
        base = self.issuer_url
        return {
            "issuer": base,
            "authorization_endpoint": base + AUTHORIZE_URL,
            "token_endpoint": base + "/oauth/token",
            "jwks_uri": base + "/.well-known/jwks.json",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "client_credentials"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [self.issuer.algorithm],
            "scopes_supported": list(SCOPES),
            "claims_supported": list(CLAIMS),
            "token_endpoint_auth_methods_supported": [
                "none", "client_secret_basic", "client_secret_post",
            ],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
        }

    def authorization_request(self, params: Mapping[str, str]) -> AuthorizationRequest:
        """The request, checked; UnknownClient or AuthorizationRefused otherwise."""
        party = self._parties.get(params.get("client_id", ""))
        if party is None:
            raise UnknownClient("The application asking you to sign in is not registered "
                                "with this gateway.")
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in party.redirect_uris:
            raise UnknownClient("The application asked to send you to an address it has not "
                                "registered, so sign-in stops here.")
        state = params.get("state", "")

        def refuse(error: str, description: str) -> AuthorizationRefused:
            reply = {"error": error, "error_description": description, "iss": self.issuer_url}
            if state and _PRINTABLE.fullmatch(state):
                reply["state"] = state
            return AuthorizationRefused(with_query(redirect_uri, reply), error)

        if params.get("response_type") != "code":
            raise refuse("unsupported_response_type", "only response_type=code is supported")
        scopes = params.get("scope", "").split()
        if "openid" not in scopes:
            raise refuse("invalid_scope", "scope must include openid")
        if not _PRINTABLE.fullmatch(state):
            raise refuse("invalid_request", "state is required (1-500 printable characters)")
        nonce = params.get("nonce", "")
        if not _PRINTABLE.fullmatch(nonce):
            raise refuse("invalid_request", "nonce is required (1-500 printable characters)")
        if params.get("code_challenge_method") != "S256":
            raise refuse("invalid_request", "code_challenge_method must be S256")
        challenge = params.get("code_challenge", "")
        if not _CHALLENGE.fullmatch(challenge):
            raise refuse("invalid_request", "code_challenge must be a base64url SHA-256")
        if params.get("prompt") == "none":
            raise refuse("login_required", "the user must sign in")
        granted = [scope for scope in SCOPES if scope in scopes]
        return AuthorizationRequest(client_id=party.client_id, redirect_uri=redirect_uri,
                                    scope=" ".join(granted), state=state, nonce=nonce,
                                    code_challenge=challenge)

    async def sign_in(self, username: str, password: str, *, client_id: str,
                      trace_id: str = "") -> IssuerUser | None:
        """The user when the password is theirs. Unknown names cost one verification
        against a decoy too, so timing tells nothing about which names exist."""
        name = clean_username(username)
        user = self._users.get(name)
        async with self._hashing:
            matches = await asyncio.to_thread(
                verify_password, user.password_hash if user else DECOY_HASH, password
            )
        signed_in = user if user is not None and matches else None
        if self._on_sign_in is not None:
            await self._on_sign_in(SignInEvent(username=name, user=signed_in,
                                               client_id=client_id, trace_id=trace_id))
        return signed_in

    async def issue_code(self, request: AuthorizationRequest, user: IssuerUser) -> str:
        """Where to send the browser: the redirect URI with a fresh code and the state."""
        code = secrets.token_urlsafe(32)
        now = self._clock()
        grant = AuthorizationGrant(
            client_id=request.client_id,
            redirect_uri=request.redirect_uri,
            code_challenge=request.code_challenge,
            nonce=request.nonce,
            scope=request.scope,
            username=user.username,
            name=user.name,
            tenant=user.tenant,
            teams=user.teams,
            role=user.role,
            auth_time=int(now),
            expires_at=now + self._config.code_ttl_seconds,
        )
        await self._codes.put(code_hash(code), grant)
        return with_query(request.redirect_uri,
                          {"code": code, "state": request.state, "iss": self.issuer_url})

    async def redeem(self, form: Mapping[str, str], client_id: str | None,
                     secret: str | None) -> bytes:
        """The token response (JSON) for an authorization_code grant; raises
        TokenRequestRejected. The code is spent by the first attempt, right or wrong,
        so a stolen code cannot be tried with several verifiers."""
        code, redirect_uri = form.get("code"), form.get("redirect_uri")
        verifier = form.get("code_verifier")
        if client_id is None:
            raise TokenRequestRejected(401, "invalid_client", "client_id is required")
        if not code or not redirect_uri or not verifier:
            raise TokenRequestRejected(400, "invalid_request",
                                       "code, redirect_uri and code_verifier are required")
        party = self._parties.get(client_id)
        await self._authenticate(party, secret)
        assert party is not None
        grant = await self._codes.take(code_hash(code), self._clock())
        if grant is None:
            raise TokenRequestRejected(400, "invalid_grant",
                                       "the authorization code is invalid, expired or used")
        if grant.client_id != party.client_id:
            raise TokenRequestRejected(400, "invalid_grant",
                                       "the authorization code was issued to another client")
        if grant.redirect_uri != redirect_uri:
            raise TokenRequestRejected(400, "invalid_grant",
                                       "redirect_uri differs from the authorization request")
        if not _VERIFIER.fullmatch(verifier) or not hmac.compare_digest(
            s256(verifier), grant.code_challenge
        ):
            raise TokenRequestRejected(400, "invalid_grant",
                                       "code_verifier does not match the code_challenge")
        if not self.issuer.loaded:
            await asyncio.to_thread(self.issuer.load)
        ttl = self.issuer.token_ttl_seconds
        access = self.issuer.mint(party.client_id, grant.scope.split(), grant.tenant, ttl,
                                  subject=grant.username)
        return _encoder.encode({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ttl,
            "scope": grant.scope,
            "id_token": self.id_token(grant),
        })

    def id_token(self, grant: AuthorizationGrant) -> str:
        now = int(self._clock())
        return self.issuer.sign({
            "iss": self.issuer_url,
            "sub": grant.username,
            "aud": grant.client_id,
            "azp": grant.client_id,
            "exp": now + self._config.id_token_ttl_seconds,
            "iat": now,
            "auth_time": grant.auth_time,
            "nonce": grant.nonce,
            "name": grant.name,
            "preferred_username": grant.username,
            "tenant": grant.tenant,
            "teams": list(grant.teams),
            "role": grant.role,
        })

    async def _authenticate(self, party: RelyingParty | None, secret: str | None) -> None:
        if party is None:
            raise TokenRequestRejected(401, "invalid_client", "unknown client")
        if party.secret_hash is None:
            if secret is not None:
                raise TokenRequestRejected(401, "invalid_client",
                                           "a public client authenticates with PKCE only")
            return
        if secret is None:
            raise TokenRequestRejected(401, "invalid_client", "client authentication is required")
        spec = parse_secret_hash(party.secret_hash)
        if not await asyncio.to_thread(verify_secret, secret, spec):
            raise TokenRequestRejected(401, "invalid_client", "unknown client or wrong secret")
