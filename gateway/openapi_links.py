"""OpenAPI links: which response feeds which next request.

The quote-to-cash walk (customer -> order -> invoice -> payment) written down
where client generators and schemathesis's stateful phase can follow it. Each
entry: source operationId, status, link name, target operationId, parameters
and request-body members as runtime expressions.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from litestar.openapi.spec import Link, OpenAPI, OpenAPIResponse, Operation

_ID = "$response.body#/id"
_ETAG = "$response.header.ETag"


class LinkSpec(NamedTuple):
    source: str
    status: str
    name: str
    target: str
    parameters: dict[str, str] | None = None
    body: dict[str, str] | None = None
    description: str = ""


LINKS: tuple[LinkSpec, ...] = (
    LinkSpec("listCustomers", "200", "GetFirstCustomer", "getCustomer",
             {"path.customer_id": "$response.body#/data/0/id"}),
    LinkSpec("createCustomer", "201", "GetCustomer", "getCustomer", {"path.customer_id": _ID}),
    LinkSpec("createCustomer", "201", "UpdateCustomer", "updateCustomer",
             {"path.customer_id": _ID, "header.If-Match": _ETAG},
             description="Update the new customer with the ETag it was created with"),
    LinkSpec("getCustomer", "200", "UpdateCustomer", "updateCustomer",
             {"path.customer_id": _ID, "header.If-Match": _ETAG}),
    LinkSpec("getCustomer", "200", "OrderForCustomer", "createOrder", body={"customer_id": _ID}),
    LinkSpec("getCustomer", "200", "ListCustomerOrders", "listOrders",
             {"query.customer_id": _ID}),
    LinkSpec("getCustomer", "200", "ListCustomerInvoices", "listInvoices",
             {"query.customer_id": _ID}),
    LinkSpec("listQuotes", "200", "GetFirstQuote", "getQuote",
             {"path.quote_id": "$response.body#/data/0/id"}),
    LinkSpec("getQuote", "200", "OrderFromQuote", "createOrder",
             body={"customer_id": "$response.body#/customer_id", "quote_id": _ID},
             description="Order an accepted quote"),
    LinkSpec("createOrder", "201", "GetOrder", "getOrder", {"path.order_id": _ID}),
    LinkSpec("createOrder", "201", "InvoiceOrder", "createInvoice", body={"order_id": _ID}),
    LinkSpec("getOrder", "200", "InvoiceOrder", "createInvoice", body={"order_id": _ID}),
    LinkSpec("createOrderV2", "201", "GetOrder", "getOrderV2", {"path.order_id": _ID}),
    LinkSpec("createInvoice", "201", "GetInvoice", "getInvoice", {"path.invoice_id": _ID}),
    LinkSpec("createInvoice", "201", "PayInvoice", "createPayment", body={"invoice_id": _ID}),
    LinkSpec("getInvoice", "200", "PayInvoice", "createPayment", body={"invoice_id": _ID}),
    LinkSpec("createPayment", "201", "GetPayment", "getPayment", {"path.payment_id": _ID}),
    LinkSpec("createPayment", "201", "RefundPayment", "refundPayment",
             {"path.payment_id": _ID}),
    LinkSpec("listProducts", "200", "GetFirstProduct", "getProduct",
             {"path.product_id": "$response.body#/data/0/id"}),
)


def document_links(document: OpenAPI) -> None:
    """Attach LINKS to the responses of ``document`` whose target operation it has."""
    by_id: dict[str, Operation] = {}
    for item in (document.paths or {}).values():
        for method in ("get", "put", "post", "patch", "delete"):
            operation = getattr(item, method, None)
            if isinstance(operation, Operation) and operation.operation_id:
                by_id[operation.operation_id] = operation
    for spec in LINKS:
        source = by_id.get(spec.source)
        if source is None or spec.target not in by_id:
            continue
        response = (source.responses or {}).get(spec.status)
        if not isinstance(response, OpenAPIResponse):
            raise ValueError(f"link {spec.name}: {spec.source} has no {spec.status} response")
        links = dict(response.links or {})
        links[spec.name] = Link(
            operation_id=spec.target,
            parameters=dict(spec.parameters) if spec.parameters else None,
            request_body=dict(spec.body) if spec.body else None,
            description=spec.description or None,
        )
        response.links = links


def prune_links(document: dict[str, Any]) -> None:
    """Drop links to operations a per-version document does not contain."""
    present = {
        op.get("operationId")
        for item in document.get("paths", {}).values()
        for op in item.values()
        if isinstance(op, dict)
    }
    for item in document.get("paths", {}).values():
        for op in item.values():
            if not isinstance(op, dict):
                continue
            for response in op.get("responses", {}).values():
                links = response.get("links")
                if not links:
                    continue
                kept = {n: link for n, link in links.items() if link.get("operationId") in present}
                if kept:
                    response["links"] = kept
                else:
                    del response["links"]
