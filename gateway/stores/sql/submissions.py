"""The submission ledger in the gateway's database (see domains/submission.py).

A claim is one ``INSERT .. ON CONFLICT DO UPDATE .. WHERE <claimable>`` that returns
the row when this caller got it: the database decides between racing gateways.
Only when the caller did not get it is the current row read, in a second statement.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import bindparam, case, exc, or_, select, update
from sqlalchemy.engine import Row

from domains.ids import Kind
from domains.submission import Claim, Submission, SubmissionState
from gateway.stores.sql.engine import Database, Dialect, Prepared, insert, now_ms
from gateway.stores.sql.schema import submissions

_COLUMNS = (
    submissions.c.tenant,
    submissions.c.canonical_id,
    submissions.c.kind,
    submissions.c.system,
    submissions.c.state,
    submissions.c.attempt,
    submissions.c.lease_owner,
    submissions.c.lease_expires_at,
    submissions.c.resolve_after,
    submissions.c.previous_state,
    submissions.c.subject,
    submissions.c.system_id,
    submissions.c.last_error,
)


def _claim_statement(dialect: Dialect) -> Any:
    """Take the id unless another attempt holds it: a new row, or a row whose last
    attempt failed, ended unknown, or whose lease lapsed (its holder died)."""
    statement = insert(dialect, submissions).values(
        tenant=bindparam("tenant"),
        canonical_id=bindparam("canonical_id"),
        kind=bindparam("kind"),
        system=bindparam("system"),
        subject=bindparam("subject"),
        state="in_flight",
        previous_state=None,
        attempt=1,
        lease_owner=bindparam("owner"),
        lease_expires_at=bindparam("lease"),
        started_at=bindparam("now"),
        resolve_after=0,
        last_error="",
    )
    current = submissions.c
    lapsed = (current.state == "in_flight") & (current.lease_expires_at <= bindparam("now"))
    return statement.on_conflict_do_update(
        index_elements=["tenant", "canonical_id"],
        set_={
            "state": "in_flight",
            "previous_state": current.state,
            "attempt": current.attempt + 1,
            "subject": statement.excluded.subject,
            "lease_owner": bindparam("owner"),
            "lease_expires_at": bindparam("lease"),
            "started_at": bindparam("now"),
            "ended_at": None,
            # Whatever a dead holder sent may arrive until its lease ended.
            "resolve_after": case(
                (lapsed, current.lease_expires_at + bindparam("window")),
                else_=current.resolve_after,
            ),
        },
        where=or_(current.state == "unknown", current.state == "failed", lapsed),
    ).returning(*_COLUMNS)


_CLAIM = Prepared(_claim_statement)


class SqlSubmissionLedger:
    def __init__(self, database: Database) -> None:
        self._db = database

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
        now = now_ms()
        try:
            async with self._db.reading() as connection:
                row = (
                    await _CLAIM.execute(
                        connection,
                        tenant=tenant,
                        canonical_id=canonical_id,
                        kind=kind,
                        system=system,
                        subject=subject,
                        owner=owner,
                        lease=now + round(lease_seconds * 1000),
                        now=now,
                        window=round(commit_window_seconds * 1000),
                    )
                ).one_or_none()
                if row is not None:
                    return Claim("claimed", _submission(row))
                row = (await connection.execute(self._select(tenant, canonical_id))).one()
        except exc.IntegrityError:
            # Another canonical id holds the subject (the unique constraint decided).
            return Claim("taken", await self._holder(tenant, subject))
        entry = _submission(row)
        return Claim("done" if entry.state == "done" else "held", entry)

    async def _holder(self, tenant: str, subject: str | None) -> Submission:
        query = select(*_COLUMNS).where(
            submissions.c.tenant == tenant, submissions.c.subject == subject
        )
        async with self._db.reading() as connection:
            return _submission((await connection.execute(query)).one())

    def _select(self, tenant: str, canonical_id: str) -> Any:
        return select(*_COLUMNS).where(
            submissions.c.tenant == tenant, submissions.c.canonical_id == canonical_id
        )

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
        values: dict[str, Any] = {"state": state, "ended_at": now_ms(), "last_error": error}
        if system_id is not None:
            values["system_id"] = system_id
        if resolve_after is not None:
            values["resolve_after"] = round(resolve_after * 1000)
        if state == "failed":
            values["subject"] = None  # the business thing may be tried again, under any id
        statement = (
            update(submissions)
            .where(
                submissions.c.tenant == tenant,
                submissions.c.canonical_id == canonical_id,
                submissions.c.lease_owner == owner,
                submissions.c.state == "in_flight",
            )
            .values(**values)
        )
        async with self._db.reading() as connection:
            result = await connection.execute(statement)
        return bool(result.rowcount)

    async def get(self, tenant: str, canonical_id: str) -> Submission | None:
        async with self._db.reading() as connection:
            row = (await connection.execute(self._select(tenant, canonical_id))).one_or_none()
        return None if row is None else _submission(row)


def _submission(row: Row[Any]) -> Submission:
    state: SubmissionState = row.state
    return Submission(
        tenant=row.tenant,
        canonical_id=row.canonical_id,
        kind=row.kind,
        system=row.system,
        state=state,
        attempt=row.attempt,
        lease_owner=row.lease_owner,
        lease_expires_at=row.lease_expires_at / 1000,
        resolve_after=row.resolve_after / 1000,
        previous_state=row.previous_state,
        subject=row.subject,
        system_id=row.system_id,
        last_error=row.last_error,
    )
