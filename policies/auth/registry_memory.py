"""Registered clients in process memory: the embedded default's registry (one process)."""

from __future__ import annotations

import time

import msgspec

from policies.auth.registry import RegisteredClient, RegistrationRefused


class MemoryClientRegistry:
    def __init__(self, max_clients: int = 10_000) -> None:
        # Revoked clients stay (the token endpoint must keep refusing them); the cap
        # bounds what a registration flood can hold in memory.
        self._max_clients = max_clients
        self._clients: dict[str, RegisteredClient] = {}

    async def register(self, client: RegisteredClient, *, max_per_owner: int) -> None:
        if client.client_id in self._clients:
            raise RegistrationRefused(f"client id {client.client_id} is taken")
        if len(self._clients) >= self._max_clients:
            raise RegistrationRefused("the client registry is full")
        if len(await self.list_by_owner(client.owner)) >= max_per_owner:
            raise RegistrationRefused(
                f"at most {max_per_owner} active applications per developer; revoke one first"
            )
        self._clients[client.client_id] = client

    async def get(self, client_id: str) -> RegisteredClient | None:
        return self._clients.get(client_id)

    async def revoke(self, client_id: str, owner: str) -> bool:
        client = self._clients.get(client_id)
        if client is None or client.owner != owner or not client.active:
            return False
        self._clients[client_id] = msgspec.structs.replace(client, revoked_at=time.time())
        return True

    async def list_by_owner(self, owner: str) -> list[RegisteredClient]:
        mine = [c for c in self._clients.values() if c.owner == owner and c.active]
        return sorted(mine, key=lambda c: c.created_at)
