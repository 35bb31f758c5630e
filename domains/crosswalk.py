"""The crosswalk: canonical ids <-> the ids each system of record uses.

One canonical record may live in several systems (a customer is an Account in
the CRM and a Business Partner in the ERP). Reverse look-ups are namespaced by
kind because system ids are only unique per object type (SAP numbers business
partners and sales orders from separate ranges that can overlap).
"""

from __future__ import annotations

from typing import Protocol

from domains.errors import Conflict
from domains.ids import Kind


class CrosswalkConflict(Conflict):
    """The system id is already linked to another canonical id.

    Services catch it where a conflict has a meaning (a customer the master already
    carried); anywhere else it reaches the client as 409 with the holder's id, never as
    a 500: a system of record that reused an id (a restored ERP, a reset sandbox) is a
    data problem to show, not a crash."""

    code = "CROSSWALK_CONFLICT"

    def __init__(self, existing: str) -> None:
        super().__init__(
            f"The system-of-record record is already known as {existing}.",
            existing_id=existing,
        )
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
