"""In-process crosswalk and record-owner backends, for unit tests.

Each tenant has its own crosswalk namespace; identity claims and record owners
are global because the systems of record are shared. The gateway itself keeps
these in its database (gateway/stores/sql) behind a read-through cache
(gateway/stores/cache.py); these dicts implement the same ports with nothing to
set up, and run the same contract suite.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

import msgspec

from domains.crosswalk import CrosswalkConflict
from domains.ids import Kind, kind_of, new_id
from domains.submission import Claim, Submission


class MemoryCrosswalk:
    def __init__(self) -> None:
        self._forward: dict[str, dict[str, str]] = {}
        self._reverse: dict[tuple[str, str, str], str] = {}
        self._notes: dict[str, dict[str, str]] = {}
        self._identity: dict[str, str] = {}

    async def ensure(self, kind: Kind, system: str, system_id: str) -> str:
        key = (kind, system, system_id)
        canonical = self._reverse.get(key)
        if canonical is None:
            canonical = self._reverse[key] = new_id(kind)
        self._forward.setdefault(canonical, {})[system] = system_id
        return canonical

    async def canonical_id(self, kind: Kind, system: str, system_id: str) -> str | None:
        return self._reverse.get((kind, system, system_id))

    async def link(
        self,
        canonical_id: str,
        system: str,
        system_id: str,
        facts: dict[str, str] | None = None,
    ) -> None:
        key = (_kind(canonical_id), system, system_id)
        existing = self._reverse.setdefault(key, canonical_id)
        if existing != canonical_id:
            raise CrosswalkConflict(existing)
        self._forward.setdefault(canonical_id, {}).setdefault(system, system_id)
        if facts:
            await self.annotate(canonical_id, facts)

    async def system_ids(self, canonical_id: str) -> dict[str, str]:
        return dict(self._forward.get(canonical_id, {}))

    async def annotate(self, canonical_id: str, values: dict[str, str]) -> None:
        self._notes.setdefault(canonical_id, {}).update(values)

    async def annotations(self, canonical_id: str) -> dict[str, str]:
        return dict(self._notes.get(canonical_id, {}))

    async def claim_identity(self, keys: list[str], canonical_id: str) -> str | None:
        for key in keys:
            holder = self._identity.get(key)
            if holder is not None and holder != canonical_id:
                return holder
        for key in keys:
            self._identity[key] = canonical_id
        return None

    async def release_identity(self, keys: list[str], canonical_id: str) -> None:
        for key in keys:
            if self._identity.get(key) == canonical_id:
                del self._identity[key]


def _kind(canonical_id: str) -> Kind:
    kind = kind_of(canonical_id)
    if kind is None:
        raise ValueError(f"not a canonical id: {canonical_id!r}")
    return kind


class MemoryCrosswalks:
    """One in-memory crosswalk per tenant (the embedded, single-process default)."""

    def __init__(self) -> None:
        self._by_tenant: dict[str, MemoryCrosswalk] = {}

    def __call__(self, tenant: str) -> MemoryCrosswalk:
        crosswalk = self._by_tenant.get(tenant)
        if crosswalk is None:
            crosswalk = self._by_tenant[tenant] = MemoryCrosswalk()
        return crosswalk


class MemoryRecordOwners:
    def __init__(self) -> None:
        self._owners: dict[tuple[str, str, str], str] = {}

    async def claim(self, kind: Kind, system: str, system_id: str, tenant: str) -> str:
        return self._owners.setdefault((kind, system, system_id), tenant)

    async def owners(self, kind: Kind, system: str, system_ids: list[str]) -> dict[str, str]:
        found = {i: self._owners.get((kind, system, i)) for i in system_ids}
        return {i: owner for i, owner in found.items() if owner is not None}




class MemorySubmissionLedger:
    """The ledger in a dict; every method runs without awaiting, so each is atomic."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._entries: dict[tuple[str, str], Submission] = {}

    async def claim(
        self,
        tenant: str,
        canonical_id: str,
        *,
        kind: Kind,
        system: str,
        subject: str | None,
        owner: str,
        lease_seconds: float,
        commit_window_seconds: float,
    ) -> Claim:
        now = self._clock()
        if subject is not None:
            for entry in self._entries.values():
                if (
                    entry.tenant == tenant
                    and entry.subject == subject
                    and entry.canonical_id != canonical_id
                ):
                    return Claim("taken", entry)
        current = self._entries.get((tenant, canonical_id))
        if current is None:
            entry = Submission(
                tenant=tenant,
                canonical_id=canonical_id,
                kind=kind,
                system=system,
                state="in_flight",
                attempt=1,
                lease_owner=owner,
                lease_expires_at=now + lease_seconds,
                subject=subject,
            )
            self._entries[(tenant, canonical_id)] = entry
            return Claim("claimed", entry)
        lapsed = current.state == "in_flight" and current.lease_expires_at <= now
        if current.state == "done":
            return Claim("done", current)
        if current.state == "in_flight" and not lapsed:
            return Claim("held", current)
        entry = msgspec.structs.replace(
            current,
            state="in_flight",
            previous_state=current.state,
            attempt=current.attempt + 1,
            subject=subject,
            lease_owner=owner,
            lease_expires_at=now + lease_seconds,
            resolve_after=(
                current.lease_expires_at + commit_window_seconds
                if lapsed
                else current.resolve_after
            ),
        )
        self._entries[(tenant, canonical_id)] = entry
        return Claim("claimed", entry)

    async def settle(
        self,
        tenant: str,
        canonical_id: str,
        *,
        owner: str,
        state: Literal["unknown", "done", "failed"],
        system_id: str | None = None,
        error: str = "",
        resolve_after: float | None = None,
    ) -> bool:
        current = self._entries.get((tenant, canonical_id))
        if current is None or current.lease_owner != owner or current.state != "in_flight":
            return False
        self._entries[(tenant, canonical_id)] = msgspec.structs.replace(
            current,
            state=state,
            system_id=system_id if system_id is not None else current.system_id,
            last_error=error,
            resolve_after=resolve_after if resolve_after is not None else current.resolve_after,
            subject=None if state == "failed" else current.subject,
        )
        return True

    async def get(self, tenant: str, canonical_id: str) -> Submission | None:
        return self._entries.get((tenant, canonical_id))
