"""Verifying an OpenID Connect ID token, as a relying party (OpenID Connect Core 1.0
section 3.1.3.7).

The same rules as the API's access tokens (verifier.py): the key picked by ``kid``
from the provider's JWKS (jwks.py) or a known key, the algorithm pinned to the
configured list and to the key's own family (never ``none``, no HS/RS confusion),
``iss`` and ``aud`` exact, ``exp`` and ``iat`` on the verifier's clock with
leeway; and for ID tokens the ``nonce`` of the sign-in that asked for it, and
``azp`` when the audience names several clients.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import jwt

from policies.auth.keys import ASYMMETRIC_ALGORITHMS, VerificationKey

KeyLookup = Callable[[str | None], Awaitable[VerificationKey | None]]
_OPTIONS: Any = {
    "verify_signature": True,
    "verify_aud": True,
    "verify_iss": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "require": ["exp", "iat", "sub", "aud", "iss"],
}
MAX_ID_TOKEN_BYTES = 16_384


class IdTokenInvalid(Exception):
    """Why an ID token was refused (safe to log; never contains the token)."""


class IdTokenVerifier:
    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        algorithms: Iterable[str],
        keys: KeyLookup,
        leeway_seconds: float = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        chosen = frozenset(algorithms)
        if not chosen or not chosen <= ASYMMETRIC_ALGORITHMS:
            raise ValueError("ID tokens are verified with asymmetric algorithms only")
        self.issuer = issuer
        self.client_id = client_id
        self._algorithms = chosen
        self._keys = keys
        self._leeway = leeway_seconds
        self._clock = clock
        self._jwt = jwt.PyJWT()

    async def verify(self, token: str, *, nonce: str) -> dict[str, Any]:
        """The token's claims; IdTokenInvalid when anything is off."""
        if len(token) > MAX_ID_TOKEN_BYTES:
            raise IdTokenInvalid("the ID token is too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise IdTokenInvalid("the ID token is not a JWS") from None
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in self._algorithms:
            raise IdTokenInvalid("the ID token's algorithm is not allowed")
        if "crit" in header:
            raise IdTokenInvalid("the ID token uses critical header parameters")
        kid = header.get("kid")
        key = await self._keys(kid if isinstance(kid, str) else None)
        if key is None or algorithm not in key.verifiers:
            raise IdTokenInvalid("the ID token's signing key is unknown")
        try:
            claims: dict[str, Any] = self._jwt.decode(
                token, key.key, algorithms=[algorithm], audience=self.client_id,
                issuer=self.issuer, options=_OPTIONS,
            )
        except jwt.InvalidSignatureError:
            raise IdTokenInvalid("the ID token's signature is invalid") from None
        except jwt.InvalidIssuerError:
            raise IdTokenInvalid("the ID token is from another issuer") from None
        except jwt.InvalidAudienceError:
            raise IdTokenInvalid("the ID token is for another client") from None
        except jwt.PyJWTError as exc:
            raise IdTokenInvalid(f"the ID token is malformed ({type(exc).__name__})") from None
        self._check(claims, nonce)
        return claims

    def _check(self, claims: dict[str, Any], nonce: str) -> None:
        now = self._clock()
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, int | float) or not isinstance(iat, int | float):
            raise IdTokenInvalid("the ID token's exp or iat is not a number")
        if exp <= now - self._leeway:
            raise IdTokenInvalid("the ID token has expired")
        if iat > now + self._leeway:
            raise IdTokenInvalid("the ID token was issued in the future")
        audience = claims.get("aud")
        if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != self.client_id:
            raise IdTokenInvalid("the ID token names several audiences but not this client "
                                 "as its authorized party")
        sent = claims.get("nonce")
        if not isinstance(sent, str) or not hmac.compare_digest(sent, nonce):
            raise IdTokenInvalid("the ID token's nonce is not the one this sign-in sent")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise IdTokenInvalid("the ID token has no subject")
