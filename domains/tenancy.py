"""Tenant isolation.

Canonical ids live in a per-tenant crosswalk namespace, so one tenant's ids
mean nothing to another (get -> 404). Systems of record are shared, so records
a tenant creates through the gateway are also registered with their owner, and
lists drop records owned by someone else. Records that predate the gateway
(the SoR's own master data) have no owner and are visible to every tenant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol, TypeVar

from domains.crosswalk import Crosswalk
from domains.ids import Kind

T = TypeVar("T")

CrosswalkFactory = Callable[[str], Crosswalk]


class RecordOwners(Protocol):
    async def claim(self, kind: Kind, system: str, system_id: str, tenant: str) -> str:
        """Register ``tenant`` as the owner unless another already is; returns the owner."""
        ...

    async def owners(self, kind: Kind, system: str, system_ids: list[str]) -> dict[str, str]:
        """Owners of those records that have one."""
        ...


async def visible(
    owners: RecordOwners,
    tenant: str,
    kind: Kind,
    system: str,
    items: Iterable[T],
    system_id: Callable[[T], str],
) -> list[T]:
    """The items this tenant may see: unowned, or owned by the tenant."""
    listed = list(items)
    if not listed:
        return listed
    owned = await owners.owners(kind, system, [system_id(item) for item in listed])
    return [item for item in listed if owned.get(system_id(item), tenant) == tenant]
