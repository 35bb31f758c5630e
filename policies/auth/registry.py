"""Clients registered at run time (the developer portal's self-service sandbox apps).

Configured clients live in ``auth.builtin_issuer.clients``; registered ones live
behind this small port, so the token endpoint can ask one more place before it
says ``invalid_client``. Backends: memory (tests) and the gateway's database
(gateway/stores/sql/clients.py): a registered client is a credential, kept durably.
"""

from __future__ import annotations

import time
from typing import Annotated, Protocol

import msgspec

from policies.auth.config import IssuerClient
from policies.auth.scopes import CLIENT_ID_PATTERN, PLAN_PATTERN, TENANT_PATTERN

OWNER_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"


class RegisteredClient(msgspec.Struct, frozen=True, kw_only=True):
    """One registered application and its hashed secret; the secret itself is never kept."""

    client_id: Annotated[str, msgspec.Meta(pattern=CLIENT_ID_PATTERN)]
    secret_hash: Annotated[str, msgspec.Meta(max_length=500)]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
    # Who may list and revoke it (for the portal: its browser session).
    owner: Annotated[str, msgspec.Meta(pattern=OWNER_PATTERN)]
    scopes: tuple[str, ...]
    tenant: Annotated[str, msgspec.Meta(pattern=TENANT_PATTERN)]
    plan: Annotated[str, msgspec.Meta(pattern=PLAN_PATTERN)] | None = None
    created_at: float = msgspec.field(default_factory=time.time)
    revoked_at: float | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def issuer_client(self) -> IssuerClient:
        """The client as the token endpoint sees configured ones."""
        return IssuerClient(
            client_id=self.client_id,
            secret_hash=self.secret_hash,
            scopes=self.scopes,
            tenant=self.tenant,
            plan=self.plan,
        )


class RegistrationRefused(Exception):
    """The registry will not take this client (duplicate id, or the owner's limit)."""


class ClientRegistryUnavailable(Exception):
    """The registry could not answer (e.g. its database unreachable); backends raise only this
    and ``RegistrationRefused``."""


class ClientRegistry(Protocol):
    async def register(self, client: RegisteredClient, *, max_per_owner: int) -> None:
        """Store ``client`` unless its id exists or its owner already has
        ``max_per_owner`` active clients (then ``RegistrationRefused``)."""
        ...

    async def get(self, client_id: str) -> RegisteredClient | None:
        """The client, revoked or not; None when it was never registered."""
        ...

    async def revoke(self, client_id: str, owner: str) -> bool:
        """Revoke the owner's active client; False when there is none of that id."""
        ...

    async def list_by_owner(self, owner: str) -> list[RegisteredClient]:
        """The owner's active clients, oldest first."""
        ...


encoder = msgspec.json.Encoder()
decoder = msgspec.json.Decoder(RegisteredClient)
