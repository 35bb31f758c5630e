"""People's passwords for the built-in issuer's sign-in form: argon2id PHC strings.

Client secrets are scrypt (client_secrets.py): machines present long random secrets.
People choose short ones, so theirs get argon2id with RFC 9106's memory-hard
parameters (argon2-cffi's defaults). Configuration holds only the PHC string
(``$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>``), made by ``q2c auth hash-password``.
"""

from __future__ import annotations

from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import Type

_HASHER = PasswordHasher()
MAX_PASSWORD_BYTES = 1024  # hashing cost grows with the input; nobody types more
# Checked for unknown usernames, so a made-up name costs as much as a wrong password
# and the answer time does not tell which names exist ("decoy-password").
DECOY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$0MfExQqXt4Qie6Nw6yJPyw$"
    "9ndkN6abB9lprb5owEYJv4g766U37foWhihcjdZE8SI"
)


def hash_password(password: str) -> str:
    """A PHC string for ``password`` with a fresh salt."""
    if not password or len(password.encode()) > MAX_PASSWORD_BYTES:
        raise ValueError(f"a password has 1 to {MAX_PASSWORD_BYTES} bytes")
    return _HASHER.hash(password)


def check_password_hash(phc: str) -> None:
    """ValueError naming what is wrong unless ``phc`` is an argon2id PHC string."""
    try:
        parameters = extract_parameters(phc)
    except (InvalidHashError, ValueError):
        raise ValueError("not an argon2 PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash); "
                         "make one with `q2c auth hash-password`") from None
    if parameters.type is not Type.ID:
        raise ValueError("use argon2id (argon2i and argon2d resist only one kind of attack)")
    if parameters.memory_cost < 19_456 or parameters.time_cost < 2:
        raise ValueError("argon2 parameters below OWASP's minimum (m=19456, t=2)")


def verify_password(phc: str, password: str) -> bool:
    """Whether ``password`` matches; blocking for tens of milliseconds (run it off the loop)."""
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        password = ""  # still costs one verification, and never matches
    try:
        return _HASHER.verify(phc, password)
    except (VerificationError, InvalidHashError):
        return False
