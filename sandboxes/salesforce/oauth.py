"""The sandbox org's connected app: ``POST /services/oauth2/token`` and the sessions it issues.

Grants, as Salesforce answers them:

* ``client_credentials`` (client id and secret in the form or HTTP Basic): a session
  for the app's run-as user; ``{access_token, signature, scope, instance_url, id,
  token_type, issued_at}``.
* ``urn:ietf:params:oauth:grant-type:jwt-bearer`` with an ``assertion``: a JWT signed
  RS256 by a key whose certificate was uploaded to the app, ``iss`` = consumer key,
  ``sub`` = a pre-authorized username, ``aud`` = ``https://login.salesforce.com`` or
  ``https://test.salesforce.com``, ``exp`` not more than the 3-minute clock skew in
  the past; ``{access_token, scope, instance_url, id, token_type}``, no refresh token.
* ``password`` (deprecated by Salesforce, kept for older SDK set-ups).

Failures are 400 ``{"error", "error_description"}`` with Salesforce's wording.
Sessions can be expired on demand (:meth:`ConnectedApp.expire_sessions`), which is
how tests reach the ``INVALID_SESSION_ID`` a long-running integration meets.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, unquote

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from sandboxes.salesforce.schema import ORG_ID, STATIC_TOKEN, USER_ID

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
AUDIENCES = frozenset({"https://login.salesforce.com", "https://test.salesforce.com"})
CLOCK_SKEW_SECONDS = 180
INTEGRATION_USER = "integration@q2c.sandbox"

Reply = tuple[int, dict[str, Any]]


def _failure(error: str, description: str) -> Reply:
    return 400, {"error": error, "error_description": description}


def _seconds(value: Any) -> float:
    """``exp`` as epoch seconds; Salesforce's own example claims send it as a string."""
    if isinstance(value, bool):
        return float("-inf")
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("-inf")


def load_public_key(pem: bytes) -> RSAPublicKey:
    """An RSA public key from a PEM certificate (what Salesforce takes) or public key."""
    key = (
        x509.load_pem_x509_certificate(pem).public_key()
        if b"BEGIN CERTIFICATE" in pem
        else load_pem_public_key(pem)
    )
    if not isinstance(key, RSAPublicKey):
        raise ValueError("the connected app takes RSA keys (JWTs are signed RS256)")
    return key


class ConnectedApp:
    """One connected app with its consumer key/secret, uploaded certificates, the users
    allowed to use it, and the sessions it has issued."""

    def __init__(self, client_id: str, client_secret: str, run_as: str = INTEGRATION_USER):
        self.client_id = client_id
        self.client_secret = client_secret
        self.run_as = run_as
        self.preauthorized_users = {run_as}
        self._keys: list[RSAPublicKey] = []
        self._sessions: set[str] = set()

    # ------------------------------------------------------------------ set-up
    def trust_certificate(self, pem: bytes) -> None:
        """Upload a certificate (or bare public key) that JWT assertions may be signed for."""
        self._keys.append(load_public_key(pem))

    def expire_sessions(self) -> int:
        """End every session this app issued (as a session timeout would); the count."""
        ended = len(self._sessions)
        self._sessions.clear()
        return ended

    def is_session(self, token: str) -> bool:
        return token == STATIC_TOKEN or token in self._sessions

    # ------------------------------------------------------------------ grants
    def token(
        self, query_string: str, headers: Mapping[str, str], body: bytes, base_url: str
    ) -> Reply:
        form = {k: v[-1] for k, v in parse_qs(query_string).items()}
        form.update({k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()})
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(credentials).decode().partition(":")
            except ValueError:
                user = password = ""
            form.setdefault("client_id", unquote(user))
            form.setdefault("client_secret", unquote(password))
        grant = form.get("grant_type", "")
        if grant == JWT_BEARER:
            return self._jwt_bearer(form.get("assertion", ""), base_url)
        if grant not in ("client_credentials", "password"):
            return _failure("unsupported_grant_type", "grant type not supported")
        if form.get("client_id") != self.client_id:
            return _failure("invalid_client_id", "client identifier invalid")
        if not hmac.compare_digest(form.get("client_secret", ""), self.client_secret):
            return _failure("invalid_client", "invalid client credentials")
        if grant == "password" and not (form.get("username") and form.get("password")):
            return _failure("invalid_grant", "authentication failure")
        return self._session(base_url, signed=True)

    def _jwt_bearer(self, assertion: str, base_url: str) -> Reply:
        try:
            header = jwt.get_unverified_header(assertion)
            claims: dict[str, Any] = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            return _failure("invalid_grant", "invalid assertion")
        if header.get("alg") != "RS256" or not self._signed_by_a_trusted_key(assertion):
            return _failure("invalid_grant", "invalid assertion")
        if claims.get("iss") != self.client_id:
            return _failure("invalid_client_id", "client identifier invalid")
        if claims.get("aud") not in AUDIENCES:
            return _failure("invalid_grant", "audience is invalid")
        if _seconds(claims.get("exp")) < time.time() - CLOCK_SKEW_SECONDS:
            return _failure("invalid_grant", "expired authorization code")
        if claims.get("sub") not in self.preauthorized_users:
            return _failure("invalid_grant", "user hasn't approved this consumer")
        return self._session(base_url, signed=False)

    def _signed_by_a_trusted_key(self, assertion: str) -> bool:
        for key in self._keys:
            try:
                jwt.decode(
                    assertion, key, algorithms=["RS256"],
                    options={"verify_aud": False, "verify_exp": False, "verify_iat": False,
                             "verify_nbf": False},
                )  # fmt: skip
            except jwt.InvalidSignatureError:
                continue
            except jwt.InvalidTokenError:
                return False
            return True
        return False

    def _session(self, base_url: str, *, signed: bool) -> Reply:
        token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(48)}"
        self._sessions.add(token)
        identity = f"{base_url}/id/{ORG_ID}/{USER_ID}"
        body: dict[str, Any] = {
            "access_token": token,
            "scope": "api",
            "instance_url": base_url,
            "id": identity,
            "token_type": "Bearer",
        }
        if signed:  # the client-credentials and password answers carry these two
            issued_at = str(int(time.time() * 1000))
            digest = hmac.new(
                self.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256
            ).digest()
            body |= {"signature": base64.b64encode(digest).decode(), "issued_at": issued_at}
        return 200, body
