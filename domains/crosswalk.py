"""The crosswalk: canonical ids <-> the ids each system of record uses.

One canonical record may live in several systems (a customer is an Account in
the CRM and a Business Partner in the ERP). Reverse look-ups are namespaced by
kind because system ids are only unique per object type (SAP numbers business
partners and sales orders from separate ranges that can overlap).
"""

from __future__ import annotations

from typing import Protocol

from domains.ids import Kind


class CrosswalkConflict(Exception):
    """The system id is already linked to another canonical id."""

    def __init__(self, existing: str) -> None:
        super().__init__(existing)
        self.existing = existing


class Crosswalk(Protocol):
    async def ensure(self, kind: Kind, system: str, system_id: str) -> str:
        """The canonical id for a system record, minted atomically on first sight."""
        ...

    async def canonical_id(self, kind: Kind, system: str, system_id: str) -> str | None: ...

    async def link(
        self,
        canonical_id: str,
        system: str,
        system_id: str,
        facts: dict[str, str] | None = None,
    ) -> None:
        """Record that ``canonical_id`` lives in ``system`` as ``system_id``, and attach
        ``facts`` (as ``annotate`` would) in the same write.

        Raises CrosswalkConflict when ``system_id`` already belongs to another
        canonical id (and attaches nothing); linking the same pair twice is a no-op.
        """
        ...

    async def system_ids(self, canonical_id: str) -> dict[str, str]: ...

    async def annotate(self, canonical_id: str, values: dict[str, str]) -> None:
        """Attach facts that no system of record keeps (e.g. the source quote)."""
        ...

    async def annotations(self, canonical_id: str) -> dict[str, str]: ...

    async def claim_identity(self, keys: list[str], canonical_id: str) -> str | None:
        """Claim identity keys for a new master record, all or nothing.

        Returns None when every key was free and is now held by
        ``canonical_id``, otherwise the canonical id that already holds one.
        """
        ...

    async def release_identity(self, keys: list[str], canonical_id: str) -> None: ...
