"""NetSuite's OAuth 2.0 client credentials (machine-to-machine) token endpoint, simulated.

An integration record with the client credentials grant, and a certificate mapped to it
(Setup > Integration > OAuth 2.0 Client Credentials (M2M) Setup: the public part is
uploaded, NetSuite answers a certificate ID). The application posts to
``/services/rest/auth/oauth2/v1/token`` a form with ``grant_type=client_credentials``,
``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`` and
``client_assertion``: a JWT signed with the certificate's private key, header ``alg``
PS256/384/512 or ES256/384/512 and ``kid`` = the certificate ID, claims ``iss`` = the
client ID, ``scope`` (``restlets``, ``rest_webservices``, ``suite_analytics``), ``aud`` =
the token endpoint's URL, ``iat``, and ``exp`` less than 60 minutes after ``iat``.
The answer is ``{"access_token", "expires_in": "3600", "token_type": "bearer"}``; the
token is valid for 60 minutes (here: ``lifetime_seconds``, so tests can expire it fast).

Checked exactly: the form fields, the JWT header, the signature against the uploaded
public key (or certificate), ``iss``, ``aud``, ``scope``, ``iat``/``exp``. Not from
NetSuite's documentation but RFC 6749 section 5.2: the error bodies (``{"error": ...}``).
The issued token is opaque here (NetSuite's is a JWT it signs itself; clients must not
read it either way).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

TOKEN_PATH: Final = "/services/rest/auth/oauth2/v1/token"
ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS: Final = ("PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
SCOPES: Final = frozenset({"restlets", "rest_webservices", "suite_analytics"})
MAX_ASSERTION_SECONDS: Final = 3600
TOKEN_SECONDS: Final = 3600
_CLOCK_SKEW_SECONDS: Final = 60
_MAX_TOKENS: Final = 10_000

# The demo integration: a client ID as NetSuite shows it (64 hex digits), a certificate ID,
# and the key pair of the certificate mapped to it. The private key is a credential the
# sandbox hands out (base64 of PKCS#8 DER: one line, so a banner can print it).
DEMO_CLIENT_ID: Final = "5f8d2c1e9b7a4630a1c2d3e4f5061728394a5b6c7d8e9f00112233445566778a"
DEMO_CERTIFICATE_ID: Final = "Q2C-SANDBOX-M2M-CERT-1"
DEMO_PRIVATE_KEY: Final = (
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg5cWw4/jTmsb+znlmjkhENlCjSuwWjD+2FKSLIs7K"
    "tAOhRANCAAQ+5PMTt+0ZLrEkqbUMUqC27Ul5rb8HqQZZl9OBeQGQpurXQcCLffKHiZSaTqCXuLztUETko05Xgn"
    "SdwrXNLaYd"
)
DEMO_PUBLIC_KEY: Final = """-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEPuTzE7ftGS6xJKm1DFKgtu1Jea2/
B6kGWZfTgXkBkKbq10HAi33yh4mUmk6gl7i87VBE5KNOV4J0ncK1zS2mHQ==
-----END PUBLIC KEY-----
"""


@dataclass(frozen=True, slots=True)
class Integration:
    """An integration record with a certificate mapped for the client credentials grant.
    ``public_key`` is what was uploaded: a PEM public key or X.509 certificate."""

    client_id: str = DEMO_CLIENT_ID
    certificate_id: str = DEMO_CERTIFICATE_ID
    public_key: str = DEMO_PUBLIC_KEY


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.body = {"error": error, "error_description": description}


def _verification_key(uploaded: str) -> RSAPublicKey | EllipticCurvePublicKey:
    data = uploaded.encode()
    key = (
        x509.load_pem_x509_certificate(data).public_key()
        if b"BEGIN CERTIFICATE" in data
        else load_pem_public_key(data)
    )
    if not isinstance(key, RSAPublicKey | EllipticCurvePublicKey):
        raise ValueError("the certificate must hold an RSA or EC public key")
    return key


@dataclass
class TokenIssuer:
    """Issues access tokens for assertions signed by the integration's certificate, and
    knows which tokens are still valid. ``clock`` answers seconds since the epoch."""

    integration: Integration
    clock: Callable[[], float]
    lifetime_seconds: float = TOKEN_SECONDS
    _key: RSAPublicKey | EllipticCurvePublicKey = field(init=False)
    _tokens: dict[str, float] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        if self.lifetime_seconds <= 0:
            raise ValueError("lifetime_seconds must be positive")
        self._key = _verification_key(self.integration.public_key)

    def valid(self, token: str) -> bool:
        expires = self._tokens.get(token)
        return expires is not None and self.clock() < expires

    def exchange(self, form: Mapping[str, str], token_url: str) -> dict[str, Any]:
        """The token response for a client credentials request, or :class:`OAuthError`."""
        if form.get("grant_type") != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type",
                             "grant_type must be client_credentials")  # fmt: skip
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise OAuthError(
                400, "invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}"
            )
        self._check_assertion(form.get("client_assertion", ""), token_url)
        now = self.clock()
        if len(self._tokens) >= _MAX_TOKENS:
            self._tokens = {t: e for t, e in self._tokens.items() if e > now}
        token = secrets.token_urlsafe(48)
        self._tokens[token] = now + self.lifetime_seconds
        return {
            "access_token": token,
            "expires_in": str(int(self.lifetime_seconds)),
            "token_type": "bearer",
        }

    def _check_assertion(self, assertion: str, token_url: str) -> None:
        if not assertion:
            raise OAuthError(400, "invalid_request", "client_assertion is missing")
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.InvalidTokenError as exc:
            raise OAuthError(
                400, "invalid_request", f"client_assertion is not a JWT: {exc}"
            ) from None
        if header.get("alg") not in ALGORITHMS:
            raise OAuthError(400, "invalid_request",
                             f"alg must be one of {', '.join(ALGORITHMS)}")  # fmt: skip
        if header.get("kid") != self.integration.certificate_id:
            raise OAuthError(400, "invalid_grant", "kid names no certificate mapped to this client")
        try:
            claims = jwt.decode(
                assertion,
                self._key,
                algorithms=[header["alg"]],
                audience=token_url,
                issuer=self.integration.client_id,
                # Times are checked below against the account's clock, not the host's.
                options={
                    "require": ["iss", "aud", "iat", "exp", "scope"],
                    "verify_iat": False, "verify_exp": False, "verify_nbf": False,
                },
            )  # fmt: skip
        except jwt.InvalidTokenError as exc:
            raise OAuthError(400, "invalid_grant", f"client_assertion rejected: {exc}") from None
        iat, exp = claims["iat"], claims["exp"]
        if not all(isinstance(v, int | float) for v in (iat, exp)) or not 0 < exp - iat <= (
            MAX_ASSERTION_SECONDS
        ):
            raise OAuthError(400, "invalid_grant", "exp must be at most 60 minutes after iat")
        now = self.clock()
        if iat > now + _CLOCK_SKEW_SECONDS:
            raise OAuthError(400, "invalid_grant", "iat is in the future")
        if exp < now - _CLOCK_SKEW_SECONDS:
            raise OAuthError(400, "invalid_grant", "client_assertion has expired")
        scope = claims["scope"]
        scopes = (
            set(scope)
            if isinstance(scope, list)
            else {part.strip() for part in str(scope).split(",")}
        )
        if not scopes or not scopes <= SCOPES or "rest_webservices" not in scopes:
            raise OAuthError(400, "invalid_scope",
                             "scope must include rest_webservices (restlets, rest_webservices,"
                             " suite_analytics)")  # fmt: skip
