"""Lists at any depth: SOQL keyset paging on Id.

SOQL refuses ``OFFSET`` past 2,000 rows (``NUMBER_OUTSIDE_VALID_RANGE``), and the
query locators behind ``nextRecordsUrl`` expire (15 minutes idle, a handful open per
user) and only move forward in server-sized batches. Ordering by ``Id`` and
filtering ``Id > :last`` needs neither: Ids compare in their base-62 order (the
basis of Salesforce's own PK chunking), the position is just the last Id read, it
survives restarts and fits in a signed cursor, and every page is one selective query
on the primary key however deep it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from domains.errors import BadRequest, FieldIssue
from systems.salesforce.client import JSON, SalesforceClient, soql_literal

MAX_OFFSET = 2000  # SOQL's cap on OFFSET
_ID = re.compile(r"[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?")


@dataclass(frozen=True, slots=True)
class Slice:
    """Up to ``limit`` records in Id order, and whether more follow them."""

    records: list[JSON]
    has_more: bool

    @property
    def positions(self) -> tuple[str, ...]:
        return tuple(str(record["Id"]) for record in self.records)


_EMPTY = Slice([], False)


def _bad_position(detail: str) -> BadRequest:
    return BadRequest(
        detail, code="INVALID_CURSOR", errors=(FieldIssue(field="cursor", message=detail),)
    )


def check_position(position: str, key_prefix: str) -> str:
    """The record id a position names; a position of another list is refused."""
    if not _ID.fullmatch(position) or not position.startswith(key_prefix):
        raise _bad_position("The cursor does not belong to this list.")
    return position


class KeysetReader:
    """Reads one sObject's filtered list in Id order, from any position."""

    def __init__(self, client: SalesforceClient, sobject: str, key_prefix: str) -> None:
        self._sf = client
        self._sobject = sobject
        self._key_prefix = key_prefix

    async def read(
        self,
        fields: tuple[str, ...],
        where: list[str],
        *,
        after: str | None,
        offset: int,
        limit: int,
    ) -> Slice:
        last = check_position(after, self._key_prefix) if after else None
        if offset:
            # Offsets are what callers sent before positions existed; walk to the
            # record they name without ever asking SOQL for OFFSET > 2,000.
            last = await self._skip(where, last, offset)
            if last is None:
                return _EMPTY
        soql = (
            f"SELECT {', '.join(fields)} FROM {self._sobject}"
            f"{self._where(where, last)} ORDER BY Id LIMIT {limit + 1}"
        )
        result = await self._sf.query(soql, operation=f"{self._sobject}.list")
        records = result.records
        return Slice(records[:limit], len(records) > limit)

    async def _skip(self, where: list[str], last: str | None, count: int) -> str | None:
        """The Id of the ``count``-th record after ``last``; None past the end."""
        while count > 0:
            step = min(count, MAX_OFFSET)
            soql = (
                f"SELECT Id FROM {self._sobject}{self._where(where, last)} "
                f"ORDER BY Id LIMIT 1 OFFSET {step - 1}"
            )
            found = await self._sf.query(soql, operation=f"{self._sobject}.list")
            if not found.records:
                return None
            last = str(found.records[0]["Id"])
            count -= step
        return last

    @staticmethod
    def _where(where: list[str], last: str | None) -> str:
        clauses = [*where, f"Id > {soql_literal(last)}"] if last else where
        return " WHERE " + " AND ".join(clauses) if clauses else ""
