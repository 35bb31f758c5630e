"""Customer use cases: list, read, create without duplicates, update safely."""

from __future__ import annotations

from collections.abc import Mapping

from contracts.v1.common import ExternalReference
from contracts.v1.customers import Customer, CustomerCreate, CustomerPage, CustomerUpdate
from domains.crosswalk import Crosswalk, CrosswalkConflict
from domains.customer.identity import (
    Candidate,
    identity_keys,
    match_reason,
    name_prefix,
    tax_id_variants,
    web_domain,
)
from domains.customer.ports import CustomerMaster, CustomerQuery, CustomerRecord, IdentityProbe
from domains.errors import Conflict, NotFound
from domains.ids import new_id
from domains.ownership import OwnershipStore
from domains.paging import next_cursor, page_request
from domains.versioning import check_precondition, version_tag


class CustomerService:
    def __init__(
        self,
        *,
        crosswalk: Crosswalk,
        ownership: OwnershipStore,
        masters: Mapping[str, CustomerMaster],
    ) -> None:
        self._crosswalk = crosswalk
        self._ownership = ownership
        self._masters = masters

    async def _master(self) -> CustomerMaster:
        return self._masters[(await self._ownership.load()).owner("customers")]

    async def list_page(self, query: CustomerQuery, cursor: str | None, limit: int) -> CustomerPage:
        master = await self._master()
        request = page_request(cursor, limit, "customers", query)
        page = await master.list_customers(query, request.offset, request.limit)
        data = [await self._canonical(master.system, record) for record in page.items]
        return CustomerPage(data=data, next_cursor=next_cursor(request, page))

    async def get(self, customer_id: str) -> Customer:
        master = await self._master()
        record = await self.record(customer_id, master)
        return await self._represent(customer_id, master.system, record)

    async def record(
        self, customer_id: str, master: CustomerMaster | None = None
    ) -> CustomerRecord:
        """The master record behind a canonical id, or NotFound."""
        master = master or await self._master()
        system_id = (await self._crosswalk.system_ids(customer_id)).get(master.system)
        record = await master.get_customer(system_id) if system_id else None
        if record is None:
            raise NotFound(f"Customer {customer_id} does not exist.", code="CUSTOMER_NOT_FOUND")
        return record

    async def create(self, data: CustomerCreate) -> Customer:
        master = await self._master()
        candidate = Candidate(data.name, data.country, data.tax_id, data.website)
        probe = IdentityProbe(
            tax_ids=tax_id_variants(data.tax_id, data.country) if data.tax_id else [],
            name_prefix=name_prefix(data.name),
            country=data.country,
            domain=web_domain(data.website),
        )
        for existing in await master.find_candidates(probe):
            reason = match_reason(candidate, existing)
            if reason is not None:
                known = await self._canonical(master.system, existing)
                raise _duplicate(known.id, reason)
        canonical_id = new_id("customer")
        keys = identity_keys(candidate)
        holder = await self._crosswalk.claim_identity(keys, canonical_id)
        if holder is not None:
            raise _duplicate(holder, "concurrent_create")
        try:
            record = await master.create_customer(canonical_id, data)
        except BaseException:
            await self._crosswalk.release_identity(keys, canonical_id)
            raise
        await self._crosswalk.link(canonical_id, master.system, record.system_id)
        return await self._represent(canonical_id, master.system, record)

    async def update(
        self, customer_id: str, changes: CustomerUpdate, if_match: list[str] | None
    ) -> Customer:
        master = await self._master()
        record = await self.record(customer_id, master)
        current = await self._represent(customer_id, master.system, record)
        check_precondition(version_tag(current), if_match)
        updated = await master.update_customer(record.system_id, changes)
        return await self._represent(customer_id, master.system, updated)

    async def _canonical(self, system: str, record: CustomerRecord) -> Customer:
        canonical_id = record.canonical_id
        if canonical_id:
            # The master carries our id in its external-id field; honour it
            # unless the crosswalk already settled on another one.
            try:
                await self._crosswalk.link(canonical_id, system, record.system_id)
            except CrosswalkConflict as conflict:
                canonical_id = conflict.existing
        else:
            canonical_id = await self._crosswalk.ensure("customer", system, record.system_id)
        return await self._represent(canonical_id, system, record)

    async def _represent(self, canonical_id: str, system: str, record: CustomerRecord) -> Customer:
        references = await self._crosswalk.system_ids(canonical_id)
        references[system] = record.system_id
        return to_customer(canonical_id, references, record)


def to_customer(canonical_id: str, references: dict[str, str], record: CustomerRecord) -> Customer:
    return Customer(
        id=canonical_id,
        name=record.name,
        country=record.country,
        tax_id=record.tax_id,
        website=record.website,
        industry=record.industry,
        phone=record.phone,
        address=record.address,
        legal_entity=record.legal_entity,
        created_at=record.created_at,
        updated_at=record.updated_at,
        external_references=[
            ExternalReference(system=system, id=system_id)
            for system, system_id in sorted(references.items())
        ],
    )


def _duplicate(existing_id: str, reason: str) -> Conflict:
    return Conflict(
        f"This customer already exists as {existing_id} (matched on {reason.replace('_', ' ')}); "
        "use that id instead of creating a second master record.",
        code="DUPLICATE_CUSTOMER",
        existing_id=existing_id,
    )
