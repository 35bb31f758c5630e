"""The crosswalk, record owners and identity claims in the gateway's database.

Each method is one statement in autocommit where one suffices (an insert that
loses a race reads the winner with a second one). ``link`` with annotations is one
statement on PostgreSQL (a data-modifying CTE) and one transaction on SQLite;
``claim_identity`` is one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Table,
    Text,
    and_,
    bindparam,
    column,
    delete,
    literal,
    or_,
    select,
    true,
    values,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable

from domains.crosswalk import CrosswalkConflict
from domains.ids import Kind, kind_of, new_id
from gateway.stores.sql.engine import Database, Dialect, Insert, Prepared, insert, now_ms
from gateway.stores.sql.schema import (
    crosswalk_links,
    identity_claims,
    record_annotations,
    record_owners,
)

IDENTITY_CLAIM_SECONDS = 600


class _Taken(Exception):
    def __init__(self, holder: str) -> None:
        super().__init__(holder)
        self.holder = holder


def _insert_new(table: Table, columns: tuple[str, ...], returning: Any) -> Prepared:
    """INSERT one row unless its key exists, returning ``returning`` when it was new;
    compiled once (see Prepared): the order path runs these on every request."""

    def build(dialect: Dialect) -> Any:
        return (
            insert(dialect, table)
            .values({name: bindparam(name) for name in columns})
            .on_conflict_do_nothing()
            .returning(returning)
        )

    return Prepared(build)


# A system id linked to one canonical id, unless it is linked already.
_LINK = _insert_new(
    crosswalk_links,
    ("tenant", "kind", "system", "system_id", "canonical_id", "linked_at"),
    crosswalk_links.c.canonical_id,
)
# The first tenant to claim a record owns it.
_OWN = _insert_new(
    record_owners,
    ("kind", "system", "system_id", "tenant", "claimed_at"),
    record_owners.c.tenant,
)


class SqlCrosswalk:
    """One tenant's crosswalk (tenant "" holds the global identity claims)."""

    def __init__(self, database: Database, tenant: str) -> None:
        self._db = database
        self._tenant = tenant

    async def ensure(self, kind: Kind, system: str, system_id: str) -> str:
        minted = new_id(kind)
        async with self._db.reading() as connection:
            won = (
                await _LINK.execute(
                    connection,
                    tenant=self._tenant,
                    kind=kind,
                    system=system,
                    system_id=system_id,
                    canonical_id=minted,
                    linked_at=now_ms(),
                )
            ).scalar_one_or_none()
            if won is not None:
                return str(won)
            existing = await self._reverse(connection, kind, system, system_id)
        assert existing is not None, "a conflicting row exists and links are never deleted"
        return existing

    async def canonical_id(self, kind: Kind, system: str, system_id: str) -> str | None:
        async with self._db.reading() as connection:
            return await self._reverse(connection, kind, system, system_id)

    async def _reverse(
        self, connection: AsyncConnection, kind: str, system: str, system_id: str
    ) -> str | None:
        query = select(crosswalk_links.c.canonical_id).where(
            crosswalk_links.c.tenant == self._tenant,
            crosswalk_links.c.kind == kind,
            crosswalk_links.c.system == system,
            crosswalk_links.c.system_id == system_id,
        )
        found = (await connection.execute(query)).scalar_one_or_none()
        return None if found is None else str(found)

    async def link(
        self,
        canonical_id: str,
        system: str,
        system_id: str,
        facts: dict[str, str] | None = None,
    ) -> None:
        kind = _kind(canonical_id)
        row = {
            "tenant": self._tenant,
            "kind": kind,
            "system": system,
            "system_id": system_id,
            "canonical_id": canonical_id,
            "linked_at": now_ms(),
        }
        if facts and self._db.dialect == "postgresql":
            # One round trip: the link, and the facts only if the link was made here.
            claim = (
                insert(self._db, crosswalk_links)
                .values(**row)
                .on_conflict_do_nothing()
                .returning(crosswalk_links.c.canonical_id)
            )
            async with self._db.reading() as connection:
                made = (await connection.execute(self._link_with_facts(claim, facts))).all()
                if made:
                    return
                await self._check_link(connection, row)
                await connection.execute(self._annotate(canonical_id, facts))
            return
        if facts:
            async with self._db.writing() as connection:
                await self._check_link(connection, row)
                await connection.execute(self._annotate(canonical_id, facts))
            return
        async with self._db.reading() as connection:
            await self._check_link(connection, row)

    def _link_with_facts(self, claim: Any, facts: dict[str, str]) -> Executable:
        """``WITH link AS (INSERT .. RETURNING) INSERT INTO annotations SELECT .. FROM
        link``: PostgreSQL runs both or, when the link exists already, neither."""
        link = claim.cte("link")
        given = values(
            column("name", Text), column("value", Text), name="given"
        ).data(list(facts.items()))
        notes = record_annotations.c
        statement = insert(self._db, record_annotations).from_select(
            ["tenant", "canonical_id", "name", "value"],
            select(
                literal(self._tenant), link.c.canonical_id, given.c.name, given.c.value
            ).select_from(link.join(given, true())),  # each fact, once per link made
        )
        return statement.on_conflict_do_update(
            index_elements=["tenant", "canonical_id", "name"],
            set_={"value": statement.excluded.value},
        ).returning(notes.name)

    async def _check_link(self, connection: AsyncConnection, row: dict[str, Any]) -> None:
        """Link ``row``; a system id linked already must be linked to the same id."""
        won = (await _LINK.execute(connection, **row)).scalar_one_or_none()
        if won is not None:
            return
        existing = await self._reverse(connection, row["kind"], row["system"], row["system_id"])
        if existing != row["canonical_id"]:
            raise CrosswalkConflict(str(existing))

    async def system_ids(self, canonical_id: str) -> dict[str, str]:
        query = (
            select(crosswalk_links.c.system, crosswalk_links.c.system_id)
            .where(
                crosswalk_links.c.tenant == self._tenant,
                crosswalk_links.c.canonical_id == canonical_id,
            )
            # Should a canonical id ever be linked twice in one system, the first wins.
            .order_by(crosswalk_links.c.linked_at.desc(), crosswalk_links.c.system_id.desc())
        )
        async with self._db.reading() as connection:
            rows = (await connection.execute(query)).all()
        return {str(system): str(system_id) for system, system_id in rows}

    def _annotate(self, canonical_id: str, values: dict[str, str]) -> Insert:
        statement = insert(self._db, record_annotations).values(
            [
                {"tenant": self._tenant, "canonical_id": canonical_id, "name": k, "value": v}
                for k, v in values.items()
            ]
        )
        return statement.on_conflict_do_update(
            index_elements=["tenant", "canonical_id", "name"],
            set_={"value": statement.excluded.value},
        )

    async def annotate(self, canonical_id: str, values: dict[str, str]) -> None:
        if not values:
            return
        async with self._db.reading() as connection:
            await connection.execute(self._annotate(canonical_id, values))

    async def annotations(self, canonical_id: str) -> dict[str, str]:
        notes = record_annotations.c
        query = select(notes.name, notes.value).where(
            notes.tenant == self._tenant, notes.canonical_id == canonical_id
        )
        async with self._db.reading() as connection:
            rows = (await connection.execute(query)).all()
        return {str(name): str(value) for name, value in rows}

    async def claim_identity(self, keys: list[str], canonical_id: str) -> str | None:
        if not keys:
            return None
        now = now_ms()
        statement = insert(self._db, identity_claims).values(
            [
                {
                    "tenant": self._tenant,
                    "identity_key": key,
                    "canonical_id": canonical_id,
                    "expires_at": now + IDENTITY_CLAIM_SECONDS * 1000,
                }
                # One order for every caller, so two overlapping claims cannot deadlock.
                for key in sorted(set(keys))
            ]
        )
        # Take a key that is free, lapsed, or ours already; leave anyone else's.
        statement = statement.on_conflict_do_update(
            index_elements=["tenant", "identity_key"],
            set_={
                "canonical_id": statement.excluded.canonical_id,
                "expires_at": statement.excluded.expires_at,
            },
            where=or_(
                identity_claims.c.expires_at <= now,
                identity_claims.c.canonical_id == statement.excluded.canonical_id,
            ),
        )
        holders = select(identity_claims.c.canonical_id).where(
            identity_claims.c.tenant == self._tenant,
            identity_claims.c.identity_key.in_(keys),
            identity_claims.c.canonical_id != canonical_id,
        )
        try:
            async with self._db.writing() as connection:
                await connection.execute(statement)
                holder = (await connection.execute(holders.limit(1))).scalar_one_or_none()
                if holder is not None:
                    raise _Taken(str(holder))  # all or nothing: roll back what was taken
        except _Taken as taken:
            return taken.holder
        return None

    async def release_identity(self, keys: list[str], canonical_id: str) -> None:
        if not keys:
            return
        statement = delete(identity_claims).where(
            identity_claims.c.tenant == self._tenant,
            identity_claims.c.identity_key.in_(keys),
            identity_claims.c.canonical_id == canonical_id,
        )
        async with self._db.reading() as connection:
            await connection.execute(statement)


class SqlCrosswalks:
    """The crosswalk factory: one view per tenant over the same tables."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._by_tenant: dict[str, SqlCrosswalk] = {}

    def __call__(self, tenant: str) -> SqlCrosswalk:
        crosswalk = self._by_tenant.get(tenant)
        if crosswalk is None:
            crosswalk = self._by_tenant[tenant] = SqlCrosswalk(self._db, tenant)
        return crosswalk


class SqlRecordOwners:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def claim(self, kind: Kind, system: str, system_id: str, tenant: str) -> str:
        async with self._db.reading() as connection:
            claimed = await _OWN.execute(
                connection,
                kind=kind,
                system=system,
                system_id=system_id,
                tenant=tenant,
                claimed_at=now_ms(),
            )
            if claimed.scalar_one_or_none() is not None:
                return tenant
            owner = (
                await connection.execute(
                    select(record_owners.c.tenant).where(
                        record_owners.c.kind == kind,
                        record_owners.c.system == system,
                        record_owners.c.system_id == system_id,
                    )
                )
            ).scalar_one_or_none()
        return str(owner) if owner is not None else tenant

    async def owners(self, kind: Kind, system: str, system_ids: Sequence[str]) -> dict[str, str]:
        if not system_ids:
            return {}
        query = select(record_owners.c.system_id, record_owners.c.tenant).where(
            and_(
                record_owners.c.kind == kind,
                record_owners.c.system == system,
                record_owners.c.system_id.in_(list(system_ids)),
            )
        )
        async with self._db.reading() as connection:
            rows = (await connection.execute(query)).all()
        return {str(system_id): str(tenant) for system_id, tenant in rows}


def _kind(canonical_id: str) -> Kind:
    kind = kind_of(canonical_id)
    if kind is None:
        raise ValueError(f"not a canonical id: {canonical_id!r}")
    return kind
