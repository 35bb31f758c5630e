"""The scope vocabulary: ``<domain>:read|write`` per canonical API plus ``ops``."""

from __future__ import annotations

import re

_DOMAINS = {
    "customers": "customer masters",
    "products": "products",
    "prices": "price-book entries",
    "quotes": "quotes",
    "orders": "sales orders",
    "invoices": "invoices",
    "payments": "payments",
    "ops": "operations (dead letters, replays, exception queue)",
}

# Operations data across every tenant (metrics, the governance report); ops:read
# alone shows the caller's own tenant.
OPS_ADMIN = "ops:admin"

SCOPE_DESCRIPTIONS: dict[str, str] = {
    **{
        f"{domain}:{access}": f"{'Read' if access == 'read' else 'Create and change'} {what}"
        for domain, what in _DOMAINS.items()
        for access in ("read", "write")
    },
    OPS_ADMIN: "Read operations data of every tenant (metrics, governance report)",
}

# Every scope the gateway knows; the sandbox client is granted all of them.
ALL_SCOPES: tuple[str, ...] = tuple(SCOPE_DESCRIPTIONS)

# RFC 6749 section 3.3 scope-token: printable ASCII except space, '"' and '\'.
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]{1,100}")
# Tenants and client ids end up in store keys (``tenant/client_id``, Redis hash
# tags), so they stay free of '/', '{', '}' and whitespace.
TENANT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
CLIENT_ID_PATTERN = r"^[A-Za-z0-9._:@|+=-]{1,200}$"
PLAN_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
TENANT = re.compile(TENANT_PATTERN)
CLIENT_ID = re.compile(CLIENT_ID_PATTERN)
PLAN = re.compile(PLAN_PATTERN)


def parse_scopes(text: str) -> tuple[str, ...]:
    """Space-delimited scope string -> distinct scopes in order; ValueError on a bad token."""
    result: dict[str, None] = {}
    for token in text.split(" "):
        if not token:
            continue
        if not SCOPE_TOKEN.fullmatch(token):
            raise ValueError(f"invalid scope token {token[:40]!r}")
        result[token] = None
    return tuple(result)
