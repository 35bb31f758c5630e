"""Bearer JWT authentication, per-operation scopes, tenants, and the built-in token issuer.

Wiring (composition root): build one ``Issuer`` and one ``TokenVerifier`` per process,
mount ``issuer_routes(issuer, config)`` when the built-in issuer is enabled, and add
``AuthMiddleware(app, verifier=verifier)`` after tracing and metrics.
"""

from policies.auth.client_secrets import hash_secret, verify_secret
from policies.auth.config import (
    AuthConfig,
    BuiltinIssuerConfig,
    IssuerClient,
    sandbox_auth_config,
)
from policies.auth.issuer import Issuer, mint_local_token
from policies.auth.middleware import AuthMiddleware
from policies.auth.registry import (
    ClientRegistry,
    ClientRegistryUnavailable,
    RegisteredClient,
    RegistrationRefused,
)
from policies.auth.registry_memory import MemoryClientRegistry
from policies.auth.scopes import ALL_SCOPES
from policies.auth.verifier import AuthFailure, TokenVerifier, build_verifier

__all__ = [
    "ALL_SCOPES",
    "AuthConfig",
    "AuthFailure",
    "AuthMiddleware",
    "BuiltinIssuerConfig",
    "ClientRegistry",
    "ClientRegistryUnavailable",
    "Issuer",
    "IssuerClient",
    "MemoryClientRegistry",
    "RegisteredClient",
    "RegistrationRefused",
    "TokenVerifier",
    "build_verifier",
    "hash_secret",
    "mint_local_token",
    "sandbox_auth_config",
    "verify_secret",
]
