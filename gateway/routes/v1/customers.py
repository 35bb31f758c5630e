"""/v1/customers: mastered in the CRM, de-duplicated on create."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import HeaderParameter, JSONBody, QueryParameter

from contracts.v1.customers import (
    TAX_ID_PATTERN,
    Customer,
    CustomerCreate,
    CustomerPage,
    CustomerUpdate,
)
from domains.customer.ports import CustomerQuery
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
    services,
    tagged,
    tenant_of,
)
from policies.idempotency.openapi import IDEMPOTENCY_KEY_HEADER_OPTIONAL


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
        request: Request[Any, Any, Any],
        name: Annotated[
            str | None, QueryParameter(min_length=1, max_length=100, description="Part of the name")
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
        return await services(request).customers.list_page(tenant_of(request), query, cursor, limit)

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
        self, request: Request[Any, Any, Any], customer_id: CustomerIdPath
    ) -> Response[Customer]:
        customer = await services(request).customers.get(tenant_of(request), customer_id)
        return tagged(customer)

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
        request: Request[Any, Any, Any],
        data: JSONBody[CustomerCreate],
        idempotency_key: Annotated[str | None, IDEMPOTENCY_KEY_HEADER_OPTIONAL] = None,
    ) -> Response[Customer]:
        customer = await services(request).customers.create(tenant_of(request), data)
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
        request: Request[Any, Any, Any],
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
        idempotency_key: Annotated[str | None, IDEMPOTENCY_KEY_HEADER_OPTIONAL] = None,
    ) -> Response[Customer]:
        customer = await services(request).customers.update(
            tenant_of(request), customer_id, data, parse_if_match(if_match)
        )
        return tagged(customer)
