"""/v1/customers: mastered in the CRM, de-duplicated on create."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, patch, post
from litestar.params import HeaderParameter, JSONBody, QueryParameter

from contracts.v1.common import SINGLE_LINE_PATTERN
from contracts.v1.customers import (
    TAX_ID_PATTERN,
    Customer,
    CustomerCreate,
    CustomerPage,
    CustomerUpdate,
)
from domains.customer import records
from domains.customer.ports import CustomerQuery
from domains.customer.service import CustomerService, Precondition
from domains.versioning import check_precondition, version_tag
from gateway.routes.common import (
    DEFAULT_PAGE,
    ETAG_HEADER,
    LOCATION_HEADER,
    READ,
    CountryQuery,
    CursorParam,
    CustomerIdPath,
    Limit,
    created,
    governed_route,
    parse_if_match,
    tagged,
)
from gateway.routes.dependencies import Caller, Injected
from gateway.routes.v1 import representation as v1


def if_match_guard(header: str | None) -> Precondition:
    """The lost-update guard for a PATCH: the ETag the client saw is the v1
    representation's, so the current record is compared in that form."""
    expected = parse_if_match(header)

    def check(current: records.Customer) -> None:
        check_precondition(version_tag(v1.customer(current)), expected)

    return check


class CustomerController(Controller):
    path = "/customers"
    tags = ["customers"]

    @get(
        operation_id="listCustomers",
        summary="List customers",
        description="Customers of the caller's tenant, filtered by part of the name, country "
        "or exact tax id, in cursor pages.",
        **governed_route("customers:read"),
    )
    async def list_customers(
        self,
        customers: Injected[CustomerService],
        caller: Injected[Caller],
        name: Annotated[
            str | None,
            QueryParameter(
                min_length=1,
                max_length=100,
                pattern=SINGLE_LINE_PATTERN,
                description="Part of the name",
            ),
        ] = None,
        country: CountryQuery = None,
        tax_id: Annotated[
            str | None,
            QueryParameter(
                min_length=4,
                max_length=32,
                pattern=TAX_ID_PATTERN,
                description="Tax registration number, exact",
            ),
        ] = None,
        limit: Limit = DEFAULT_PAGE,
        cursor: CursorParam = None,
    ) -> CustomerPage:
        query = CustomerQuery(name=name, country=country, tax_id=tax_id)
        return v1.customer_page(await customers.list_page(caller.tenant, query, cursor, limit))

    @get(
        "/{customer_id:str}",
        operation_id="getCustomer",
        summary="Get a customer",
        description="The customer master with its system-of-record references; the ETag is "
        "what an update sends in If-Match.",
        **governed_route(
            "customers:read",
            errors=(*READ, 404),
            headers=(ETAG_HEADER,),
        ),
    )
    async def get_customer(
        self,
        customer_id: CustomerIdPath,
        customers: Injected[CustomerService],
        caller: Injected[Caller],
    ) -> Response[Customer]:
        return tagged(v1.customer(await customers.get(caller.tenant, customer_id)))

    @post(
        operation_id="createCustomer",
        summary="Create a customer (never a second master)",
        description="Matches on tax id, normalised name + country and web domain before "
        "creating; a match answers 409 with `existing_id`.",
        **governed_route(
            "customers:write",
            errors=(*READ, 409, 422),
            idempotency="optional",
            headers=(ETAG_HEADER, LOCATION_HEADER),
        ),
    )
    async def create_customer(
        self,
        data: JSONBody[CustomerCreate],
        customers: Injected[CustomerService],
        caller: Injected[Caller],
    ) -> Response[Customer]:
        customer = v1.customer(await customers.create(caller.tenant, data))
        return created(customer, f"/v1/customers/{customer.id}")

    @patch(
        "/{customer_id:str}",
        operation_id="updateCustomer",
        summary="Update a customer",
        description="Send the ETag of a recent GET in If-Match; members left out stay as "
        "they are, `null` clears one.",
        **governed_route(
            "customers:write",
            errors=(*READ, 404, 412, 422, 428),
            idempotency="optional",
            headers=(ETAG_HEADER,),
        ),
    )
    async def update_customer(
        self,
        customer_id: CustomerIdPath,
        data: JSONBody[CustomerUpdate],
        if_match: Annotated[
            str | None,
            HeaderParameter(
                name="If-Match",
                # Documented as required; a call without it still reaches the service,
                # which answers 428 IF_MATCH_REQUIRED (RFC 6585) rather than a bare 400.
                required=True,
                max_length=1024,
                description="ETag from a GET of this customer (428 without it, 412 when stale)",
            ),
        ] = None,
        *,
        customers: Injected[CustomerService],
        caller: Injected[Caller],
    ) -> Response[Customer]:
        updated = await customers.update(caller.tenant, customer_id, data, if_match_guard(if_match))
        return tagged(v1.customer(updated))
