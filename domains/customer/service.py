"""Customer use cases: list, read, create without duplicates, update safely."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from contracts.v1.common import ExternalReference
from contracts.v1.customers import CustomerCreate, CustomerUpdate
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
from domains.customer.records import Customer
from domains.errors import Conflict, NotFound
from domains.ids import new_id
from domains.ownership import OwnershipMap
from domains.paging import Listing, Page, Pager
from domains.tenancy import CrosswalkFactory, RecordOwners, visible

# The caller's lost-update guard, checked against the customer as it stands
# before anything is written; it raises PreconditionFailed / PreconditionRequired.
Precondition = Callable[[Customer], None]


class CustomerService:
    def __init__(
        self,
        *,
        crosswalks: CrosswalkFactory,
        owners: RecordOwners,
        ownership: OwnershipMap,
        masters: Mapping[str, CustomerMaster],
        pager: Pager,
    ) -> None:
        self._crosswalks = crosswalks
        self._pager = pager
        self._owners = owners
        self._ownership = ownership
        self._masters = masters

    def _master(self) -> CustomerMaster:
        return self._masters[self._ownership.owner("customers")]

    async def list_page(
        self, tenant: str, query: CustomerQuery, cursor: str | None, limit: int
    ) -> Listing[Customer]:
        master = self._master()
        xw = self._crosswalks(tenant)
        request = self._pager.request(tenant, cursor, limit, "customers", master.system, query)

        async def fetch(offset: int, count: int) -> Page[CustomerRecord]:
            return await master.list_customers(query, offset, count)

        async def keep(records: list[CustomerRecord]) -> list[CustomerRecord]:
            return await visible(
                self._owners, tenant, "customer", master.system, records, lambda r: r.system_id
            )

        records, next_offset = await self._pager.collect(request, fetch, keep)
        data = [await self._canonical(xw, master.system, record) for record in records]
        return Listing(data, self._pager.cursor(request, next_offset))

    async def get(self, tenant: str, customer_id: str) -> Customer:
        master = self._master()
        record = await self.record(tenant, customer_id, master)
        return await self._represent(self._crosswalks(tenant), customer_id, master.system, record)

    async def record(
        self, tenant: str, customer_id: str, master: CustomerMaster | None = None
    ) -> CustomerRecord:
        """The master record behind a canonical id, or NotFound (also for other tenants')."""
        master = master or self._master()
        system_id = (await self._crosswalks(tenant).system_ids(customer_id)).get(master.system)
        record = await master.get_customer(system_id) if system_id else None
        if record is None or not await visible(
            self._owners, tenant, "customer", master.system, [record], lambda r: r.system_id
        ):
            raise NotFound(f"Customer {customer_id} does not exist.", code="CUSTOMER_NOT_FOUND")
        return record

    async def master_record(self, system: str, system_id: str) -> CustomerRecord | None:
        """The customer as the given master holds it (for reads keyed by that system)."""
        master = self._masters.get(system)
        return await master.get_customer(system_id) if master is not None else None

    async def create(self, tenant: str, data: CustomerCreate) -> Customer:
        master = self._master()
        xw = self._crosswalks(tenant)
        candidate = Candidate(data.name, data.country, data.tax_id, data.website)
        probe = IdentityProbe(
            tax_ids=tax_id_variants(data.tax_id, data.country) if data.tax_id else [],
            name_prefix=name_prefix(data.name),
            country=data.country,
            domain=web_domain(data.website),
        )
        for existing in await master.find_candidates(probe):
            reason = match_reason(candidate, existing)
            if reason is None:
                continue
            if not await visible(
                self._owners, tenant, "customer", master.system, [existing], lambda r: r.system_id
            ):
                raise _identity_taken()
            known = await self._canonical(xw, master.system, existing)
            raise _duplicate(known.id, reason)
        canonical_id = new_id("customer")
        keys = identity_keys(candidate)
        # Identity claims are global: two tenants creating one company race too.
        holder = await self._crosswalks("").claim_identity(keys, canonical_id)
        if holder is not None:
            # A create of this identity is under way, this tenant's or another's: its id
            # may never exist, and naming it would tell one tenant about another's.
            raise _identity_taken()
        try:
            record = await master.create_customer(canonical_id, data)
        except BaseException:
            await self._crosswalks("").release_identity(keys, canonical_id)
            raise
        await self._owners.claim("customer", master.system, record.system_id, tenant)
        await xw.link(canonical_id, master.system, record.system_id)
        return await self._represent(xw, canonical_id, master.system, record)

    async def update(
        self, tenant: str, customer_id: str, changes: CustomerUpdate, precondition: Precondition
    ) -> Customer:
        master = self._master()
        xw = self._crosswalks(tenant)
        record = await self.record(tenant, customer_id, master)
        precondition(await self._represent(xw, customer_id, master.system, record))
        updated = await master.update_customer(record.system_id, changes)
        return await self._represent(xw, customer_id, master.system, updated)

    async def _canonical(self, xw: Crosswalk, system: str, record: CustomerRecord) -> Customer:
        canonical_id = await xw.canonical_id("customer", system, record.system_id)
        if canonical_id is None and record.canonical_id:
            # The master carries our id in its external-id field (set when this
            # tenant created it); honour it unless the crosswalk settled on another.
            try:
                await xw.link(record.canonical_id, system, record.system_id)
                canonical_id = record.canonical_id
            except CrosswalkConflict as conflict:
                canonical_id = conflict.existing
        if canonical_id is None:
            canonical_id = await xw.ensure("customer", system, record.system_id)
        return await self._represent(xw, canonical_id, system, record)

    async def _represent(
        self, xw: Crosswalk, canonical_id: str, system: str, record: CustomerRecord
    ) -> Customer:
        references = await xw.system_ids(canonical_id)
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


def _identity_taken() -> Conflict:
    """The one answer for an identity this caller may not master and may not see: held
    by another tenant's customer, or by a create still under way. Both look the same,
    so the answer tells no tenant that another holds a tax id, name or domain."""
    return Conflict(
        "A customer with this identity (tax id, name and country, or web domain) exists "
        "or is being created, and cannot be mastered again. Look it up with "
        "GET /v1/customers, or ask your administrator.",
        code="CUSTOMER_IDENTITY_TAKEN",
    )


def _duplicate(existing_id: str, reason: str) -> Conflict:
    return Conflict(
        f"This customer already exists as {existing_id} (matched on {reason.replace('_', ' ')}); "
        "use that id instead of creating a second master record.",
        code="DUPLICATE_CUSTOMER",
        existing_id=existing_id,
    )
